"""Hostile inputs on the command line end in one ``error:`` line and exit status 2: files that
are not regular files, deeply nested JSON, huge numbers, too many layers, a script-injecting
architecture name; and the strict JSON reader itself."""

from __future__ import annotations

import ast
import json
import os

import pytest

from cnnlab.architecture import codegen, editing, presets, spec, spec_json
from cnnlab.cli import main as cli
from cnnlab.files import reading

EVIL_NAME = 'x" + str(__import__("os").system("echo pwned")) + "'


def one_error(capsys, *argv: str) -> str:
    """Run the CLI; check exit 2, nothing on stdout, exactly one ``error:`` line; return it."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture()
def fifo(tmp_path):
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


def write(path, data) -> str:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def conv_with(**values) -> dict:
    return {"layers": [dict({"type": "conv2d", "filters": 4, "kernel_size": 3}, **values)]}


@pytest.mark.parametrize("command", ["summary", "code"])
def test_an_architecture_path_that_is_a_fifo_or_a_device_is_refused(capsys, fifo, command):
    assert "is a FIFO (named pipe), not a regular file" in one_error(capsys, command, str(fifo))
    assert "/dev/zero is a character device" in one_error(capsys, command, "/dev/zero")


@pytest.mark.parametrize(("text", "expected"), [
    ("[" * 100_000, "nested 100,000 levels deep; at most 32"),
    ('{"layers": [' + "[" * 40 + "]" * 40 + "]}", "nested 42 levels deep"),
    ('{"name": "a", "layers": [], "num_classes": ' + "9" * 5000 + "}",
     "an integer of 5,000 digits is not allowed"),
    ('{"layers": [{"type": "dropout", "rate": NaN}]}', "the number NaN is not allowed"),
    ('{"layers": [{"type": "dropout", "rate": 1e999}]}', "1e999 is too large"),
])
def test_hostile_json_in_an_architecture_file(capsys, tmp_path, text, expected):
    path = write(tmp_path / "a.json", text)
    message = one_error(capsys, "summary", path)
    assert path in message and expected in message


@pytest.mark.parametrize(("layer", "field"), [
    ({"type": "max_pool2d", "pool_size": 10**20}, "pool_size"),
    ({"type": "max_pool2d", "strides": [2, 10**20]}, "strides"),
    (conv_with(strides=10**20)["layers"][0], "strides"),
    (conv_with(kernel_size=10**20)["layers"][0], "kernel_size"),
    (conv_with(dilation_rate=10**20)["layers"][0], "dilation_rate"),
])
@pytest.mark.parametrize("command", ["summary", "code"])
def test_huge_window_numbers_are_refused_by_the_fields_cap(capsys, tmp_path, layer, field,
                                                           command):
    path = write(tmp_path / "a.json", {"layers": [layer]})
    message = one_error(capsys, command, path)
    assert f"layer 1 ({layer['type']}): {field} must be at most 8" in message \
        or f"{field} must be at most 11" in message


def test_more_layers_than_the_limit_are_refused(capsys, tmp_path):
    many = {"layers": [{"type": "dense", "units": 4}] * 500}
    message = one_error(capsys, "summary", write(tmp_path / "a.json", many))
    assert f"500 layers; an architecture may have at most {spec.MAX_LAYERS}" in message
    at_limit = {"layers": [{"type": "dense", "units": 4}] * spec.MAX_LAYERS}
    assert cli.main(["summary", write(tmp_path / "b.json", at_limit)]) == 0
    assert "dense_64" in capsys.readouterr().out
    layers = spec_json.architecture_from_dict(at_limit).layers
    built = spec.Architecture("many", layers + layers[:1])  # made in code, not parsed
    with pytest.raises(spec.SpecError, match="65 layers; CNN Lab allows at most 64"):
        codegen.script(built)


def string_constants(tree: ast.AST) -> list[str]:
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_code_export_keeps_a_hostile_name_inside_string_literals(capsys, tmp_path):
    arch = dict(presets.get("two-conv").to_dict(), name=EVIL_NAME)
    status = cli.main(["code", write(tmp_path / "evil.json", arch)])
    source, err = capsys.readouterr()
    assert status == 0 and err == ""
    tree = ast.parse(source)
    calls = {node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert "__import__" not in calls and "str" not in calls
    assert ast.get_docstring(tree).startswith(EVIL_NAME + ": a CNN exported from CNN Lab")
    assert [s for s in string_constants(tree) if "pwned" in s] == [
        ast.get_docstring(tree), EVIL_NAME]  # the docstring and the model's name only
    assert "python x_str___import___os_.system_echo_pwned.py" in ast.get_docstring(tree)


def test_the_build_section_of_a_hostile_name_runs_without_running_it():
    arch = spec.Architecture(EVIL_NAME + '\n"""\nimport os', presets.get("two-conv").layers)
    section = codegen.build_section(codegen.script(arch))
    seen = []
    namespace = {"keras": _FakeKeras(seen), "layers": _FakeLayers()}
    exec(compile(section, "<export>", "exec"), {"__import__": None}, namespace)
    assert seen == [arch.name]


class _FakeLayers:
    def __getattr__(self, name):
        return lambda *args, **kwargs: (name, args, kwargs)


class _FakeKeras:
    """Records the model's name; builtins (``__import__``, ``str``) are not reachable."""

    def __init__(self, seen: list):
        self._seen = seen

    def Input(self, **kwargs):  # noqa: N802 - Keras's name
        return kwargs

    def Sequential(self, layers, name):  # noqa: N802
        self._seen.append(name)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"a": "[[[[[["}', {"a": "[[[[[["}),
    ('[1, -2.5, "x\\"]"]', [1, -2.5, 'x"]']),
])
def test_strict_json_reads_ordinary_json(text, expected):
    assert reading.loads_json(text) == expected


def test_a_file_over_its_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    with pytest.raises(reading.InputError, match="101 bytes; a file may be at most 100"):
        reading.read_regular_file(path, 100)
    assert reading.read_regular_file(path, 101) == b"x" * 101


def test_adding_a_layer_at_the_limit_is_refused():
    layer = editing.new_layer("dense")
    full = spec.Architecture("full", (layer,) * spec.MAX_LAYERS)
    with pytest.raises(spec.SpecError, match="already has 64 layers, CNN Lab's limit of 64"):
        editing.insert_layer(full, 0, layer)
    assert len(editing.insert_layer(editing.remove_layer(full, 0), 0, layer).layers) == 64
