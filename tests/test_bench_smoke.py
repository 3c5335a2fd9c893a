"""The engine benchmark runs (``--smoke``: tiny sizes) and prints its two result lines."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_engine_bench_smoke():
    result = subprocess.run([sys.executable, "bench/engine_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"^throughput: engine [\d,]+ img/s, plain fit [\d,]+ img/s; ratio \d+\.\d+ ",
                     result.stdout, re.M), result.stdout
    assert re.search(r"^memory: RSS [\d,.]+ MB after a warm-up training, .* growth [+-]\d",
                     result.stdout, re.M), result.stdout


def test_classroom_table_smoke():
    """``bench/run.py --smoke`` measures every row of the README's table (the browser rows
    against a real server and Chromium, or says they were skipped without one)."""
    result = subprocess.run([sys.executable, "bench/run.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["what", "measured", "target", "met?"], result.stdout
    rows = lines[2:15]
    assert len(rows) == 13, result.stdout
    measured = re.compile(r"  (\d[\d.,]*(e[+-]?\d+)?( (ms|s|MB))?|skipped: no /usr/bin/chromium)"
                          r"  +[≥≤] [\d.]+( (ms|s|MB))?  +(yes|NO|—)$")
    for row in rows:
        assert measured.search(row), row
    assert "smoke run (tiny sizes, not a verdict)" in result.stdout


def test_explain_bench_smoke():
    """``bench/explain_bench.py --smoke`` times the "Inside the decision" pieces: the four of
    issue 15 and issue 25's attack, occlusion and feature visualizations."""
    result = subprocess.run([sys.executable, "bench/explain_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("outline", "saliency \\+ Grad-CAM", "transformed re-prediction",
                 "stability strip \\(21 images\\)", "attack \\(eps 0.1, to runner-up\\)",
                 "occlusion map \\(144 squares\\)", "feature vis, one conv_2 unit",
                 "feature vis, conv_2 \\(64 units\\)"):
        assert re.search(rf"^{name} +(\d+\.\d\d +){{3}}(≤ \d+|none)  —$", result.stdout,
                         re.M), result.stdout


def test_workspace_bench_smoke():
    """``bench/workspace_bench.py --smoke`` prints its three rows (hostile uploads refused,
    memory per workspace, reopen time) and a refusal note per hostile zip."""
    result = subprocess.run([sys.executable, "bench/workspace_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = [r"memory growth after 3 hostile run zips, all refused +[+-]\d+\.\d MB +≤ 50 MB",
            r"memory growth per workspace, 3 workspaces × 2 runs +[+-]\d+\.\d\d MB +≤ 1 MB",
            r"reopen a workspace of 4 runs \+ load its model, median +\d+\.\d{3} s +≤ 1 s"]
    for row in rows:
        assert re.search(rf"^{row}  —$", result.stdout, re.M), result.stdout
    assert len(re.findall(r"^note: bomb-.*\.zip: refused: \S", result.stdout, re.M)) == 3, \
        result.stdout
    assert "smoke run (tiny sizes, not a verdict)" in result.stdout


def test_augment_bench_smoke():
    """``bench/augment_bench.py --smoke`` trains once per strength and prints the table."""
    result = subprocess.run([sys.executable, "bench/augment_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for strength in ("off", "light", "strong"):
        assert re.search(rf"^{strength} +[01]\.\d{{4}} +[01]\.\d{{4}} +\d+\.\d  \S",
                         result.stdout, re.M), result.stdout
    assert re.search(r"^goal: test accuracy >= 0.97 with augmentation: best [01]\.\d{4}, met\? "
                     r"(yes|NO)  \(smoke run", result.stdout, re.M), result.stdout


def test_drawn_bench_smoke():
    """``bench/drawn_bench.py --smoke`` trains on drawn classes with and without copies."""
    result = subprocess.run([sys.executable, "bench/drawn_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for copies, images in ((0, 24), (4, 120)):
        assert re.search(rf"^{copies} +{images} +[01]\.\d{{3}} \([01]\.\d{{3}}-[01]\.\d{{3}}\) "
                         r"+\d+\.\d\d +\d+\.\d$", result.stdout, re.M), result.stdout
    assert "smoke run (tiny sizes, not a verdict)" in result.stdout


def test_class_board_bench_smoke():
    """``bench/class_board_bench.py --smoke``: three students join a class and train, and the
    board in Chromium is timed (or the bench says it was skipped without a browser)."""
    result = subprocess.run([sys.executable, "bench/class_board_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    if result.stdout.startswith("skipped: no "):
        return
    for row in (r"board shows a finished run after it is saved, worst of 3",
                r"board rendered on the projector \(1024×768, presentation\), the app's browser, "
                r"median of 5", r"the same in a new browser profile \(nothing cached\), median "
                r"of 5"):
        assert re.search(rf"^\| {row} \| -?\d+\.\d\d s \| ≤ [\d.]+ s \| (yes|NO) \|$",
                         result.stdout, re.M), result.stdout
    assert "3 students, 3 runs saved" in result.stdout and "Smoke run" in result.stdout
def test_precision_bench_smoke():
    """``bench/precision_bench.py --smoke`` prints the matmul peak, the time around a Quick
    start job (cold, kept model, new model), the float32/auto speed rows and the accuracy
    rows, and says what auto means here."""
    result = subprocess.run([sys.executable, "bench/precision_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = result.stdout
    assert re.search(r"; auto means (float32|bfloat16) here \(", out), out
    assert re.search(r"^float32 [\d,.]+ GFLOP/s, bfloat16 [\d,.]+ GFLOP/s", out, re.M), out
    for label in ("first job \\(TensorFlow imported\\)", "warm, a kept compiled model",
                  "warm, a new model \\(traced again\\)"):
        assert re.search(rf"^{label} +(\d+\.\d\d +){{4}} ", out, re.M), out
    for preset in ("tutorial-1conv", "two-conv"):
        assert re.search(rf"^{preset} +\d+\.\d\d +[\d,]+ +[\d,]+ +(float32|bfloat16) +\d+\.\d\d "
                         r"+\d+\.\d\d +[\d,]+ +[\d,]+$", out, re.M), out
        assert re.search(rf"^mnist-5k +{preset} +[01]\.\d{{4}} +[01]\.\d{{4}} +[01]\.\d{{4}} "
                         r"+[01]\.\d{4} +[+-]\d+\.\d\d  (yes|NO)$", out, re.M), out
    assert "smoke run (tiny sizes, not a verdict)" in out


def test_recipe_bench_smoke():
    """``bench/recipe_bench.py --smoke`` prints a row per schedule and learning rate, and per
    Quick start candidate."""
    result = subprocess.run([sys.executable, "bench/recipe_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    seeds = r"[01]\.\d{4} / [01]\.\d{4} / [01]\.\d{4}"
    for schedule in ("constant", "cosine", "step"):
        for rate in ("0.001", "0.003"):
            assert re.search(rf"^{schedule}, {rate} +{seeds}  [01]\.\d{{4}}  [01]\.\d{{4}} +"
                             r"\d+\.\d  \S+  (yes|NO)$", result.stdout, re.M), result.stdout
    assert re.search(rf"^old: 3 ep, constant +{seeds}  ", result.stdout, re.M), result.stdout
def test_hostile_class_bench_smoke():
    """``bench/hostile_class.py --smoke``: one honest student and every hostile action of
    issue 21 at tiny sizes against one server in Chromium; all six rows, and each hostile
    action refused with its message or shown harmless (exit 0 says every one was)."""
    if not os.access("/usr/bin/chromium", os.X_OK):
        if os.environ.get("CNNLAB_REQUIRE_BROWSER") == "1":
            pytest.fail("/usr/bin/chromium is missing and CNNLAB_REQUIRE_BROWSER=1")
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)")
    result = subprocess.run([sys.executable, "bench/hostile_class.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [r"honest runs \(1 student training throughout\): finished, drawn on, listed "
            r"after a reload, saved +(\d+)/\1 +\1/\1",
            r"idle student's Build page while all this runs, median +\d+\.\d\d s +≤ 1\.5 s",
            r"server's peak RSS \(VmHWM\) +[\d,]+ MB +≤ [\d,]+ MB",
            r"most one workspace takes on disk \(st_blocks\) +\d+\.\d MB +≤ 50 MB",
            r"most files and folders in one workspace +[\d,]+ +≤ 300",
            r"hostile actions refused with a message, or harmless \(below\) +17/17 +17/17"]
    for row in rows:
        assert re.search(rf"^{row} ", result.stdout, re.M), result.stdout
    for refusal in (r"400 empty members .*: refused: the data set empty-400\.zip makes 411 "
                    r"files and folders",
                    r"zero-weight run zip #2 .*: refused: zeros-run\.zip: this run needs about",
                    r"3 PNGs of 4096×4096 .*: refused: .*declares 4096×4096 pixels, over the",
                    r"at batch size 512 needs [\d,]+ MB of memory; the server has",
                    r"a run zip named in Markdown and HTML .*: shown as text: ",
                    r"3 fresh visits without \?w= .*: nothing made: workspace folders made: 0",
                    r"\?w= holding Markdown .*: a new workspace, the link not shown: This page's",
                    r"a run zip whose record names cifar-10 .*: not here, nothing loaded: The test "
                    r"images are not here: the data set cifar-10 is not here: .* \| files in the "
                    r"server's KERAS_HOME/datasets: 0$",
                    r"Train pressed in fresh tabs of one computer, up to \d+ .*: refused after "
                    r"\d+ jobs started: this computer \(10\.0\.0\.7\) already has 2 training "
                    r"jobs waiting",
                    r"a saved run's live-feed URL, asked again .*: 404: [1-9]\d* polls answered "
                    r"while it trained; after: HTTP 404: no training job with this id",
                    r"the \d+ messages of the 16 actions above .*: user's file names only: "
                    r"messages showing a server path: 0$"):
        assert re.search(refusal, result.stdout, re.M), result.stdout
    assert "smoke run (tiny sizes, not a verdict)" in result.stdout
