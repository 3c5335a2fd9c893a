"""``cnnlab summary`` and ``cnnlab presets``: output, exit codes, and no TensorFlow import."""

import json
import subprocess
import sys

import pytest

from cnnlab.architecture import presets
from cnnlab.cli import main as cli


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_table(capsys):
    code, out, err = run(capsys, "summary", "two-conv")
    assert code == 0 and err == ""
    assert "conv_1" in out and "(26, 26, 32)" in out and "(28 − 3 + 2·0) / 1 + 1 = 26" in out
    assert "flatten_1" in out and "output" in out
    assert "total: 225,034 parameters" in out


def test_summary_json_exact_keys(capsys):
    code, out, _ = run(capsys, "summary", "lenet-5", "--json")
    data = json.loads(out)
    assert code == 0
    assert set(data) == {"input_shape", "layers", "total_params"}
    assert data["input_shape"] == [28, 28, 1]
    assert all(set(row) == {"name", "type", "output_shape", "params", "macs",
                            "receptive_field", "auto"} for row in data["layers"])
    assert data["layers"][0] == {"name": "conv_1", "type": "conv2d", "output_shape": [28, 28, 6],
                                 "params": 156, "macs": 28 * 28 * 6 * 25,
                                 "receptive_field": [5, 5], "auto": False}
    assert data["layers"][-1]["name"] == "output" and data["layers"][-1]["auto"] is True
    assert data["total_params"] == 61706


def test_summary_marks_the_automatic_flatten(capsys, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"name": "a", "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3}, {"type": "dense", "units": 8}]}))
    code, out, _ = run(capsys, "summary", str(path), "--json")
    rows = json.loads(out)["layers"]
    assert [(r["name"], r["auto"]) for r in rows] == [
        ("conv_1", False), ("flatten_1", True), ("dense_1", False), ("output", True)]
    assert rows[1]["output_shape"] == [26 * 26 * 4]


def test_presets_lists_every_preset(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(presets.PRESET_NAMES)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["summary", "no-such-preset"], 'error: unknown preset "no-such-preset"'),
        (["summary", "missing/file.json"], "error: cannot read missing/file.json"),
        (["summary", "{bad}.json"], "error: cannot read {bad}.json"),
        (["frobnicate"], "error: argument command: invalid choice"),
        ([], "error: the following arguments are required: command"),
    ],
)
def test_bad_input_is_one_error_line(capsys, argv, expected):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith(expected) and err.count("\n") == 1, err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "malformed JSON at line 1 column 2"),
        ('{"layers": [{"type": "conv2d", "filters": 8, "kernel_size": 40}]}',
         "layer 1 (conv2d): kernel_size must be at most 11 (CNN Lab's cap); received 40"),
        ('{"input_shape": [8, 8, 1], "layers": [{"type": "conv2d", "filters": 8, '
         '"kernel_size": 9}]}', "layer 1 (conv2d): kernel_size 9 does not fit its 8x8 input"),
        ('{"layers": [{"type": "dense"}]}', "layer 1 (dense): missing field units"),
        ("[1, 2]", "an architecture must be a JSON object"),
    ],
)
def test_bad_files_are_one_error_line(capsys, tmp_path, content, expected):
    path = tmp_path / "arch.json"
    path.write_text(content)
    code, out, err = run(capsys, "summary", str(path))
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: {expected}") or err.startswith(f"error: {expected}"), err
    assert err.count("\n") == 1


def test_summary_does_not_import_tensorflow_and_is_quick():
    code = ("import sys; from cnnlab.cli import main; main.main(['summary', 'two-conv', '--json'])"
            "; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_params"] == 225034


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "cnnlab", "summary", "nope"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown preset") and "Traceback" not in result.stderr


def test_summary_refuses_a_stride_with_a_dilation(capsys, tmp_path):
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"name": "d", "layers": [
        {"type": "conv2d", "filters": 4, "kernel_size": 3},
        {"type": "conv2d", "filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}]}))
    code, out, err = run(capsys, "summary", str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: layer 2 (conv2d): dilation_rate 2 with strides 2") and (
        err.count("\n") == 1), err
