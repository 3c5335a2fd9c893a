"""The precision a training computes in: float32, or bfloat16 where this CPU does it natively
and faster.

A run asks for ``auto``, ``float32`` or ``bfloat16`` (``Hyperparameters.precision``; the
server's ``CNNLAB_PRECISION`` and ``cnnlab train --precision`` set it) and records the one it
trained in (``Metrics.precision``). :func:`resolve` turns ``auto`` into one of the two on the
machine that trains (a Dask worker decides for its own CPU):

1. a preset whose bfloat16 test accuracy missed float32's by more than half a point in
   ``bench/precision_bench.py`` trains in float32 (:data:`FLOAT32_PRESETS`);
2. otherwise :func:`calibrate`, once per process: bfloat16 only if the CPU says it has
   native bfloat16 arithmetic (``avx512_bf16`` or ``amx_bf16`` in ``/proc/cpuinfo``) *and* a
   512×512 bfloat16 matmul is measured at least :data:`SPEEDUP_NEEDED` times faster than a
   float32 one (TensorFlow's oneDNN kernels do the work; with ``TF_ENABLE_ONEDNN_OPTS=0`` or
   on a CPU that only emulates bfloat16 it is slower, and ``auto`` means float32).

Only training computes in bfloat16 (:func:`cnnlab.models.builder.build_model`'s
``precision``): the softmax head, the loss and the metrics stay float32, weights are float32
variables either way, and inference, Feature maps, explanations and the test evaluation use a
float32 model, so a run behaves the same wherever it is loaded.

The names and the per-preset rule need no TensorFlow; :func:`calibrate` imports it.

Example:
    >>> decide(True, float32_s=1.0e-3, bfloat16_s=0.6e-3).choice
    'bfloat16'
    >>> decide(True, float32_s=1.0e-3, bfloat16_s=1.2e-3).choice
    'float32'
    >>> decide(False).choice
    'float32'
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NAMES = ("auto", "float32", "bfloat16")  # what a run may ask for
TRAINED = ("float32", "bfloat16")  # what a run trains in
NATIVE_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bfloat16 arithmetic
SPEEDUP_NEEDED = 1.15  # float32 time ÷ bfloat16 time for auto to pick bfloat16
MATMUL_SIDE = 512  # the calibration's matrices: big enough for oneDNN's kernels, ~1 ms each
MATMUL_ROUNDS = 7  # alternating rounds of 3 matmuls per precision; the fastest round counts
# Presets that train in float32 under auto: their bfloat16 test accuracy missed float32's by
# more than half a point (mean over seeds 0-2) in bench/precision_bench.py, or bfloat16 was
# slower for them. See the README's "Precision" section for the figures. two-conv-dropout:
# bfloat16 0.52 points *above* float32 on Fashion-MNIST (2026-12-05), outside the half point.
FLOAT32_PRESETS: frozenset[str] = frozenset({"two-conv-dropout"})


def check(name: Any) -> str:
    """``name`` if a run may ask for it; otherwise a ``ValueError`` that lists the names."""
    if not isinstance(name, str) or name not in NAMES:
        raise ValueError(f"precision must be one of {', '.join(NAMES)}; received {name!r}")
    return name


def check_trained(name: Any) -> str:
    """``name`` if a run can have trained in it (a run file's record)."""
    if not isinstance(name, str) or name not in TRAINED:
        raise ValueError(f"precision must be one of {', '.join(TRAINED)}; received {name!r}")
    return name


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` found and chose.

    Attributes:
        native: whether the CPU reports native bfloat16 arithmetic.
        float32_s, bfloat16_s: the fastest measured time of one 512×512 matmul in each
            precision (None when not measured: no native bfloat16).
        choice: ``bfloat16`` or ``float32``: what ``auto`` trains in on this machine.
        reason: why, in words.
    """

    native: bool
    float32_s: float | None
    bfloat16_s: float | None
    choice: str
    reason: str

    @property
    def speedup(self) -> float | None:
        """float32 time ÷ bfloat16 time, if measured."""
        if not self.float32_s or not self.bfloat16_s:
            return None
        return self.float32_s / self.bfloat16_s


def decide(native: bool, float32_s: float | None = None,
           bfloat16_s: float | None = None) -> Calibration:
    """The choice for ``auto`` from the CPU's flags and the measured matmul times (pure)."""
    if not native:
        return Calibration(False, float32_s, bfloat16_s, "float32",
                           "the CPU reports no native bfloat16 (avx512_bf16 or amx_bf16)")
    if not float32_s or not bfloat16_s:
        return Calibration(True, float32_s, bfloat16_s, "float32", "the matmuls were not timed")
    speedup = float32_s / bfloat16_s
    if speedup >= SPEEDUP_NEEDED:
        return Calibration(True, float32_s, bfloat16_s, "bfloat16",
                           f"a bfloat16 matmul is {speedup:.2f}× as fast as float32")
    return Calibration(True, float32_s, bfloat16_s, "float32",
                       f"a bfloat16 matmul is only {speedup:.2f}× as fast as float32 (needs "
                       f"{SPEEDUP_NEEDED:g}×)")


def cpu_flags(path: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (the first ``flags`` line of ``/proc/cpuinfo``); empty where
    there is no such file (not Linux)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def native_bfloat16(flags: frozenset[str]) -> bool:
    """Whether ``flags`` include native bfloat16 arithmetic."""
    return any(flag in flags for flag in NATIVE_FLAGS)


def time_matmuls(side: int = MATMUL_SIDE, rounds: int = MATMUL_ROUNDS,
                 clock: Any = time.perf_counter) -> tuple[float, float]:
    """The fastest time of one ``side``×``side`` matmul in float32 and in bfloat16, timed in
    alternating rounds (so a busy moment of a shared machine hits both): about 30 ms here."""
    import tensorflow as tf

    matrices = {dtype: tf.cast(tf.random.stateless_uniform((side, side), seed=(1, 2)), dtype)
                for dtype in (tf.float32, tf.bfloat16)}
    best = {dtype: float("inf") for dtype in matrices}
    for matrix in matrices.values():  # the first call of each sets its kernel up
        tf.matmul(matrix, matrix).numpy()
    for _ in range(rounds):
        for dtype, matrix in matrices.items():
            started = clock()
            for _ in range(3):
                product = tf.matmul(matrix, matrix)
            product.numpy()  # waits for the result
            best[dtype] = min(best[dtype], (clock() - started) / 3)
    return best[tf.float32], best[tf.bfloat16]


_LOCK = threading.Lock()
_CALIBRATION: Calibration | None = None


def calibrate() -> Calibration:
    """What ``auto`` means on this machine, measured once per process (well under a second:
    the flags, then, only with native bfloat16, :func:`time_matmuls`); later calls return
    the same answer."""
    global _CALIBRATION
    with _LOCK:
        if _CALIBRATION is None:
            native = native_bfloat16(cpu_flags())
            times = time_matmuls() if native else (None, None)
            _CALIBRATION = decide(native, *times)
        return _CALIBRATION


def forget_calibration() -> None:
    """Measure again at the next :func:`calibrate` (for tests)."""
    global _CALIBRATION
    with _LOCK:
        _CALIBRATION = None


def preset_of(arch: Any) -> str | None:
    """The name of the preset whose layers ``arch`` has, or None (an edited network)."""
    from cnnlab.architecture import presets

    for name in presets.PRESET_NAMES:
        if presets.get(name).layers == arch.layers:
            return name
    return None


def resolve(requested: str, arch: Any) -> str:
    """What a training asking for ``requested`` trains ``arch`` in: ``float32`` or
    ``bfloat16`` as asked; for ``auto``, float32 for a preset of :data:`FLOAT32_PRESETS`,
    otherwise :func:`calibrate`'s choice."""
    if check(requested) != "auto":
        return requested
    if preset_of(arch) in FLOAT32_PRESETS:
        return "float32"
    return calibrate().choice
