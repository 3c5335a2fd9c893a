"""The engine benchmark runs (``--smoke``: tiny sizes) and prints its two result lines."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_engine_bench_smoke():
    result = subprocess.run([sys.executable, "bench/engine_bench.py", "--smoke"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert re.search(r"^throughput: engine [\d,]+ img/s, plain fit [\d,]+ img/s; ratio \d+\.\d+ ",
                     result.stdout, re.M), result.stdout
    assert re.search(r"^memory: RSS [\d,.]+ MB after a warm-up training, .* growth [+-]\d",
                     result.stdout, re.M), result.stdout
