"""The shape of the code: no import cycles inside cnnlab, TensorFlow only where it is needed,
files of at most 450 lines, and a README layout table that matches the tree."""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cnnlab"
# subpackages that never load TensorFlow
TF_FREE = ("architecture", "classes", "data", "learn", "memory", "views", "workspaces")
MAX_LINES = 450  # about 400 lines holding one idea beat two files holding half each
LINE_LIMITED = ("cnnlab/**/*.py", "pages/*.py", "ui/**/*.py", "app.py", "tests/**/*.py")


def module_name(path: Path) -> str:
    """``cnnlab/views/render.py`` -> ``cnnlab.views.render``; a package is its ``__init__``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def cnnlab_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(source: str, here: str, package: str, modules: dict[str, Path]) -> set[str]:
    """The cnnlab modules that module ``here`` (in ``package``) imports anywhere in ``source``:
    at the top, in functions, under ``if TYPE_CHECKING``. ``from a.b import c`` means module
    ``a.b.c`` if there is one, else ``a.b`` (c is a name in it)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.add(child if child in modules else base)
    return {name for name in found if name in modules and name != here}


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = imported_modules(path.read_text(encoding="utf-8"), name, package, modules)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (depth-first, three colours)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_reports_the_modules_of_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_imports_are_read_from_functions_and_type_checking_blocks():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cnnlab.b import X\n"
              "def f():\n    import cnnlab.c\n    from . import d\n    from .e import g\n")
    modules = dict.fromkeys(["cnnlab.p.a", "cnnlab.b", "cnnlab.c", "cnnlab.p.d", "cnnlab.p.e"],
                            PACKAGE)
    assert imported_modules(source, "cnnlab.p.a", "cnnlab.p", modules) == {
        "cnnlab.b", "cnnlab.c", "cnnlab.p.d", "cnnlab.p.e"}


def test_no_import_cycles_inside_cnnlab():
    graph = import_graph(cnnlab_modules())
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def package_of(module: str) -> str:
    """``cnnlab.jobs.start`` -> ``jobs``; a top-level module is its own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph between cnnlab's packages: an edge where any module of one imports a
    module of the other."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        here = package_of(module)
        packages.setdefault(here, set()).update(
            package_of(t) for t in targets if package_of(t) != here)
    for targets in list(packages.values()):
        for target in targets:
            packages.setdefault(target, set())
    return packages


def test_package_graph_joins_modules_by_package():
    graph = {"cnnlab.a.x": {"cnnlab.b.y"}, "cnnlab.b.y": {"cnnlab.a.z"}, "cnnlab.a.z": set()}
    assert package_graph(graph) == {"a": {"b"}, "b": {"a"}}
    assert find_cycle(package_graph(graph)) == ["a", "b", "a"]


def test_no_import_cycles_between_cnnlab_packages():
    packages = package_graph(import_graph(cnnlab_modules()))
    cycle = find_cycle(packages)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle)
    # the job layer sits on top: nothing below imports it, training stays below the rest
    assert "jobs" not in set().union(*(packages[p] for p in packages if p not in ("cli",)))
    assert not {"cluster", "workspaces", "jobs"} & packages["training"]
    assert "jobs" not in packages["cluster"] and "training" not in packages["runs"]


def test_tf_free_packages_and_the_summary_command_do_not_load_tensorflow():
    names = sorted(name for name in cnnlab_modules()
                   if name.split(".")[1:2] and name.split(".")[1] in TF_FREE)
    assert len(names) > 10  # every module of the four packages
    code = (
        "import importlib, sys\n"
        "heavy = lambda: sorted({'tensorflow', 'keras'} & set(sys.modules))\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "    if heavy():\n"
        "        sys.exit(f'importing {name} loads {heavy()}')\n"
        "from cnnlab.cli import main\n"
        "status = main.main(['summary', 'two-conv'])\n"
        "if status or heavy():\n"
        "    sys.exit(f'cnnlab summary: exit status {status}, loads {heavy()}')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "total:" in done.stdout  # the summary really ran


def line_limited_files() -> list[Path]:
    return sorted({path for pattern in LINE_LIMITED for path in ROOT.glob(pattern)})


def test_no_file_over_450_lines():
    files = line_limited_files()
    assert PACKAGE / "cli" / "main.py" in files and ROOT / "app.py" in files
    long = {str(path.relative_to(ROOT)): lines for path in files
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"over {MAX_LINES} lines (split each along its second idea): {long}"


def layout_rows() -> list[tuple[str, str]]:
    """(first column, second column) of each row of the README's "Layout of the code" table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Layout of the code", 1)[1].split("\n## ", 1)[0]
    return [(cells[1], cells[2]) for line in section.splitlines()
            if line.startswith("| `") and len(cells := line.split("|")) >= 4]


def layout_paths() -> list[str]:
    """The paths the table lists: every backticked name of its first column."""
    return [path for first, _ in layout_rows() for path in re.findall(r"`([^`]+)`", first)]


def files_named(rows: list[tuple[str, str]]) -> list[str]:
    """The ``.py`` files a row's description names, relative to the repository: a bare
    ``name.py`` belongs to that row's folder."""
    named = []
    for first, description in rows:
        [folder, *_] = re.findall(r"`([^`]+)`", first)
        for name in re.findall(r"`([\w/]+\.py)`", description):
            named.append(name if "/" in name or not folder.endswith("/") else folder + name)
    return named


def ignored(name: str) -> bool:
    patterns = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    return any(fnmatch.fnmatch(name + "/", p) or fnmatch.fnmatch(name, p.strip("/"))
               for p in patterns if not p.startswith("#"))


def expected_layout() -> set[str]:
    """Every cnnlab package or module, and every top-level part of the repository."""
    parts = {f"cnnlab/{p.name}/" for p in PACKAGE.iterdir()
             if p.is_dir() and (p / "__init__.py").exists()}
    parts |= {f"cnnlab/{p.name}" for p in PACKAGE.glob("*.py")
              if p.name not in ("__init__.py", "__main__.py")}
    parts |= {p.name + ("/" if p.is_dir() else "") for p in ROOT.iterdir()
              if not p.name.startswith(".") and not ignored(p.name)
              and (p.is_dir() or p.suffix == ".py")}
    parts -= {"cnnlab/"}
    parts |= {f"tests/{p.name}/" for p in (ROOT / "tests").iterdir()
              if (p / "__init__.py").exists()}
    return parts


def test_readme_layout_table_matches_the_tree():
    listed = layout_paths()
    missing = sorted(expected_layout() - set(listed))
    assert not missing, f"the README's layout table lacks {missing}"
    absent = [path for path in listed + files_named(layout_rows()) if not (ROOT / path).exists()]
    assert not absent, f"the README's layout table names {absent}, which do not exist"


def test_files_named_in_a_row_belong_to_its_folder():
    rows = [("`cnnlab/views/`", "images (`render.py`), see `tests/test_render.py`"),
            ("`app.py`", "the entry, like `streamlit`")]
    assert files_named(rows) == ["cnnlab/views/render.py", "tests/test_render.py"]
    assert "cnnlab/inspect/preprocess.py" in files_named(layout_rows())


@pytest.mark.parametrize("path", ["cnnlab/views/", "pages/", "tests/e2e/", "app.py"])
def test_layout_expects_the_main_parts(path):
    assert path in expected_layout()
