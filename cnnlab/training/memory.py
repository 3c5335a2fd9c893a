"""What a training leaves behind in memory, and how a training keeps it small.

A new training model's optimizer and metrics variables are created eagerly before ``fit``
(:func:`create_training_variables`). ``keras.backend.clear_session()`` is never called:
it resets every thread's Keras state and TensorFlow's kernel cache, which is unsafe while
another job trains (and measured, it frees nothing here). What remains is Keras's own leak
of each model's traced train step (a plain ``model.fit`` loop shows the same; pure
TensorFlow does not): about 5 MB per two-conv training model, see ``bench/engine_bench.py``.
Training models of the same network are kept and reused (:mod:`cnnlab.training.compiled`),
so a class training one network leaks it once, not per job.

A run's model is a separate float32 model that was never compiled: it holds only its weights.
The job collects its garbage and hands freed memory back to the system
(:func:`return_freed_memory`).

Before a job trains, :func:`training_bytes` estimates what it will hold (weights, gradients,
optimizer slots, a batch of feature maps at the batch size chosen, the per-epoch weight copies
a run keeps); the job reserves that much of the server's memory budget
(:mod:`cnnlab.memory.budget`) while it trains.
"""

from __future__ import annotations

import ctypes
import gc

import keras
import numpy as np

from cnnlab.architecture import resource_guard, shapes
from cnnlab.architecture.spec import Architecture
from cnnlab.models import optimizers
from cnnlab.runs.records import Hyperparameters

EPOCH_WEIGHTS_BUDGET = 100 * 2**20  # bytes of per-epoch weight copies kept per run


def return_freed_memory() -> None:
    """Free the job's garbage and hand the memory back to the system.

    Keras objects hold reference cycles, so what a training leaves (callbacks, data
    adapters, traces) waits for a full collection; the Streamlit app switches off the one
    Streamlit runs after every page script, so a job runs its own, once, at its end. Then
    glibc's ``malloc_trim``: each job runs in a new thread, and the freed memory of its
    allocator arena would otherwise stay in the process's resident size (nothing happens
    where there is no glibc).
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def create_training_variables(model: keras.Model, images: np.ndarray,
                               labels: np.ndarray) -> None:
    """Create the optimizer's and metrics' variables eagerly, before ``fit``.

    Left to ``fit``, Keras creates them inside a traced function, where TensorFlow wraps each
    initial value in a ``cond`` whose functions stay registered in the eager context for the
    life of the process: measured, this halves what a two-conv training leaves behind.
    """
    model.optimizer.build(model.trainable_variables)
    batch = images.astype(np.float32)  # (1, height, width, channels)
    model.compute_metrics(batch, labels, model(batch, training=False), sample_weight=None)
    model.reset_metrics()


def training_bytes(arch: Architecture, hyperparameters: Hyperparameters,
                   batch_size: int | None = None) -> int:
    """What training ``arch`` (its input shape filled in) holds in memory, estimated: the
    resource guard's weights, gradients, optimizer slots and a batch's feature maps
    (:func:`cnnlab.architecture.resource_guard.training_bytes`), plus the per-epoch weight
    copies the run keeps (at most :data:`EPOCH_WEIGHTS_BUDGET`) and the run's own float32
    model beside the training model.

    Args:
        arch: the architecture, with the data set's shape and class count.
        hyperparameters: the batch size, optimizer and epochs come from here.
        batch_size: another batch size to estimate for (default the hyperparameters').
    """
    batch = hyperparameters.batch_size if batch_size is None else batch_size
    rows = list(shapes.summarize(arch, batch_size=1).rows)
    params = sum(row.params for row in rows)
    copies = min((hyperparameters.epochs + 1) * params * resource_guard.FLOAT_BYTES,
                 EPOCH_WEIGHTS_BUDGET)
    run_model = params * resource_guard.FLOAT_BYTES
    return copies + run_model + resource_guard.training_bytes(
        rows, batch, optimizers.SLOTS[hyperparameters.optimizer])


def largest_batch_within(arch: Architecture, hyperparameters: Hyperparameters,
                         nbytes: int) -> int:
    """The largest batch size (a power of two, up to the one chosen) whose training fits in
    ``nbytes``; 0 if not even a batch of one does."""
    batch, fits = 1, 0
    while batch <= hyperparameters.batch_size and training_bytes(arch, hyperparameters,
                                                                 batch) <= nbytes:
        fits, batch = batch, batch * 2
    return fits
