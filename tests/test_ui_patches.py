"""The two patches of Streamlit internals (ui/patches.py) fail loudly when Streamlit moves
what they replace, instead of silently doing nothing."""

from __future__ import annotations

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import script_runner

from ui import patches


def test_every_patched_streamlit_internal_exists():
    assert patches.missing() == []


def test_keep_keras_state_replaces_streamlit_clean_up():
    original = script_runner._clean_problem_modules
    try:
        patches.keep_keras_state()
        assert script_runner._clean_problem_modules is patches._close_matplotlib_figures
    finally:
        script_runner._clean_problem_modules = original


def test_a_missing_internal_is_reported(monkeypatch):
    monkeypatch.delattr(script_runner, "_clean_problem_modules")
    assert patches.missing() == ["streamlit.runtime.scriptrunner.script_runner."
                                 "_clean_problem_modules"]
    with pytest.raises(RuntimeError, match="_clean_problem_modules"):
        patches.keep_keras_state()
    monkeypatch.delattr(PagesManager, "uses_pages_directory")
    with pytest.raises(RuntimeError, match="uses_pages_directory"):
        patches.use_app_navigation()


def test_the_private_session_check_is_on_the_checked_list(monkeypatch):
    """ui/state.py asks Streamlit's private Runtime.is_active_session whether a background
    tab is still connected; Streamlit dropping it fails here, not silently in class."""
    from streamlit.runtime import Runtime

    assert (Runtime, "is_active_session") in patches.INTERNALS
    monkeypatch.delattr(Runtime, "is_active_session")
    assert patches.missing() == ["streamlit.runtime.runtime.Runtime.is_active_session"]
