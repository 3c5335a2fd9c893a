"""``cnnlab class``: two link lines, the challenge, open and close, results as CSV, and exit 2
with one ``error:`` line on bad input."""

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlab.classes import members, store
from cnnlab.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?P<base>.*)/\?class=(?P<code>[A-Za-z0-9_-]{12})"
                  r"(&key=(?P<key>[A-Za-z0-9_-]+))?")


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def new_class(capsys, name="7B biology", *extra):
    """(student link match, teacher link match) of a new class."""
    code, out, err = run(capsys, "class", "new", name, *extra)
    assert code == 0 and err == ""
    student, teacher = out.splitlines()
    assert student.startswith("student link: ") and teacher.startswith("teacher link: ")
    return (LINK.fullmatch(student.removeprefix("student link: ")),
            LINK.fullmatch(teacher.removeprefix("teacher link: ")))


def test_new_prints_exactly_two_links_paths_without_url(capsys):
    student, teacher = new_class(capsys)
    assert student["base"] == "" and student["key"] is None
    assert teacher["base"] == "" and teacher["code"] == student["code"]
    assert len(teacher["key"]) == 32
    assert store.open_board(teacher["code"], teacher["key"]).name == "7B biology"


def test_new_with_url_prints_full_links(capsys):
    student, teacher = new_class(capsys, "7C", "--url", "https://lab.example.org/cnn/")
    assert student["base"] == teacher["base"] == "https://lab.example.org/cnn"
    assert store.open_board(teacher["code"], teacher["key"]).name == "7C"


def one_error(capsys, *argv) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("error: ")
    return line


@pytest.mark.parametrize("argv, message", [
    (("class", "results", "nosuchclass1"), "no class with the code 'nosuchclass1'"),
    (("class", "results", "../../etc/passwd"), "no class with the code '../../etc/passwd'"),
    (("class", "new", "bad\nname"), "a class's name must be 1 to 60 printable characters"),
    (("class", "new", ""), "a class's name must be 1 to 60 printable characters"),
    (("class", "new", "7B", "--url", "ftp://lab"), "the base URL must look like https://"),
    (("class", "new", "7B", "--url", "https://lab/?a=1"), "the base URL must look like"),
    (("class", "close", "Zz" * 6), "no class with the code"),
    (("class", "challenge", "Zz" * 6, "--dataset", "mnist-5k", "--max-params", "9",
      "--max-epochs", "1"), "no class with the code"),
    (("class",), "the following arguments are required: COMMAND"),
])
def test_bad_input_is_one_error_line_and_exit_2(capsys, argv, message):
    before = store.class_codes()
    assert message in one_error(capsys, *argv)
    assert store.class_codes() == before  # nothing was made


def test_challenge_open_close_and_results(capsys):
    student, teacher = new_class(capsys, "8A")
    code = student["code"]
    assert "has 54,410 parameters, over the challenge's 1,000" in one_error(
        capsys, "class", "challenge", code, "--dataset", "mnist-5k", "--max-params", 1000,
        "--max-epochs", 2, "--start", "tutorial-1conv")
    assert "unknown field 'size'" in one_error(
        capsys, "class", "challenge", code, "--dataset", "mnist-5k", "--max-params", 60000,
        "--max-epochs", 2, "--start", "tutorial-1conv", "--editable", "filters,size")
    status, out, _ = run(capsys, "class", "challenge", code, "--dataset", "mnist-5k",
                         "--max-params", 60000, "--max-epochs", 2, "--start", "tutorial-1conv",
                         "--editable", "filters, kernel_size")
    assert status == 0 and out == ("challenge set for 8A: mnist-5k, at most 60,000 parameters "
                                   "and 2 epochs; starting network tutorial-1conv, where only "
                                   "filters and kernel_size can change\n")
    assert store.open_local(code).challenge.editable == ("filters", "kernel_size")
    assert run(capsys, "class", "close", code)[1] == "8A is closed to new students\n"
    with pytest.raises(store.ClassError, match="closed"):
        members.join(code, "Late")
    assert run(capsys, "class", "open", code)[1] == "8A is open to new students\n"
    for name in ("=1+2", "Ada, \"the first\""):
        members.join(code, name)
    status, out, _ = run(capsys, "class", "results", code)
    rows = list(csv.reader(io.StringIO(out)))
    assert status == 0 and rows[0][0] == "name" and len(rows) == 3
    assert sorted(r[0] for r in rows[1:]) == ["'=1+2", "Ada, \"the first\""]
    listed = run(capsys, "class", "list")[1]
    assert f"{code}  " in listed and "2 students  '8A'" in listed


def test_delete_removes_the_class(capsys):
    student, teacher = new_class(capsys, "9Z")
    assert run(capsys, "class", "delete", student["code"])[0] == 0
    with pytest.raises(store.NoSuchClass):
        store.open_board(teacher["code"], teacher["key"])


def test_the_class_commands_do_not_load_tensorflow():
    code = ("import sys\nfrom cnnlab.cli import main\n"
            "status = main.main(['class', 'new', 'quick'])\n"
            "assert status == 0, status\n"
            "assert not {'tensorflow', 'keras'} & set(sys.modules), 'TensorFlow loaded'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("student link: /?class=")
