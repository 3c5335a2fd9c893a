"""The README's Quick start and CI agree, and cnnlab stays free of UI code."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "streamlit run serve.py" in commands[0]
    assert "pytest" in commands[1] and "[test]" in commands[1]


def test_quick_start_installs_into_a_virtual_environment_the_second_reuses():
    """A system python3 under PEP 668 refuses ``pip install``: both commands make and use
    .venv, and never call a bare pip, python or streamlit."""
    for command in quick_start_commands():
        steps = command.split(" && ")
        assert steps[0] == "python3 -m venv .venv", command
        for step in steps[1:]:
            assert step.split()[0].startswith(".venv/bin/"), step


def test_venv_is_not_committed():
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".venv/" in ignored


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert quick_start_commands()[1] in ci.splitlines()


def test_ci_runs_ruff_before_the_tests():
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert lines.index(".venv/bin/ruff check .") < lines.index(quick_start_commands()[1])


def test_cnnlab_never_imports_streamlit():
    for path in (ROOT / "cnnlab").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from) streamlit", text, re.M), path
