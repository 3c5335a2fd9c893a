"""Training threads run at a lower CPU priority than the pages (Linux nice values)."""

import os
import sys
import threading

import pytest

from cnnlab import priority


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_a_training_thread_lowers_only_itself():
    seen = {}

    def work():
        changed = priority.lower_training_priority(7)
        seen["tid"] = threading.get_native_id()
        seen["changed"] = changed
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, seen["tid"])

    main_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen["nice"] == max(7, main_nice)
    assert seen["tid"] in seen["changed"]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_nice


def test_zero_switches_it_off():
    assert priority.lower_training_priority(0) == []


def test_the_setting_is_read_and_checked(monkeypatch):
    monkeypatch.delenv("CNNLAB_TRAINING_NICE", raising=False)
    assert priority.training_niceness() == priority.DEFAULT_NICE
    monkeypatch.setenv("CNNLAB_TRAINING_NICE", "3")
    assert priority.training_niceness() == 3
    for bad in ("-1", "20", "high"):
        monkeypatch.setenv("CNNLAB_TRAINING_NICE", bad)
        with pytest.raises(ValueError, match=rf"0 to 19 \(0: off\); received '{bad}'"):
            priority.training_niceness()
