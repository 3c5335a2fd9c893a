"""Compiled models kept between trainings, so a job reuses TensorFlow's traced training step.

Keras traces a model's training step (and its validation step) the first time that model
trains: in a warm process about 0.3-1 s of a short job, every job, because every job used to
build a model of its own. A traced step belongs to its model object (it reads that model's
variables), so the only safe way to reuse it is to reuse the model: a training takes an idle
compiled model of the same network from here (:func:`take`), puts every variable back to the
state a fresh model of its seed would have (:func:`reset`), trains it, and gives it back
(:func:`give`). The run itself gets a separate float32 model with the trained weights, so a
kept model is never shared with a page or a saved run.

What "the same network" means is :func:`key`: the layers, the input shape, the class count,
the optimizer, the learning-rate schedule's kind, the precision and how many batches one call
of the traced step runs (:func:`batches_per_call`). The learning rate and the training's length
are variables of the schedule (:func:`cnnlab.models.optimizers.make_schedule`) and the batch
size is an input shape TensorFlow keeps a trace per, so none of them is in the key.

Batches per call: a call of the traced step that trains one batch costs about 0.8 ms of Python
and dispatch around the arithmetic here, a fifth of a two-conv batch of 64 in bfloat16; a
call that trains several batches in a loop inside TensorFlow pays it once. The training's
callbacks (its progress, its stop signal) then run after every call, not every batch, so a
call is kept short: about :data:`CALL_FLOP` of arithmetic, at most
:data:`MAX_BATCHES_PER_CALL` batches (``bench/precision_bench.py``). Keras's own
``steps_per_execution`` runs a fixed number of batches per call, and the training's batches
come as one stream over all its epochs (:mod:`cnnlab.training.feeding`), so an epoch whose
batches it does not divide would end inside a call; :class:`Calls` is the compiled model's
training function instead: each call trains ``steps_per_execution`` batches or, at the
epoch's end, the batches left (the same ``train_step`` Keras calls, in a TensorFlow loop).
Keras's ``fit`` uses it as it uses its own (``model.train_function``) and tells it, through
``on_train_batch_begin``, where in the epoch a call begins.

Reset, checked by ``tests/test_recipe.py``: the weights and the dropout layers' seed-generator
states are copied from the fresh seeded model (``model.variables`` holds both), the optimizer's
variables go back to their values as built (zero moments, iteration 0; or the resumed
iteration), the learning-rate schedule is set; ``fit`` resets the metrics and
``stop_training`` itself. A training that raised does not give its model back.

Idle models live in a :class:`cnnlab.memory.budget.ByteCache`, each counted as its variables,
its optimizer's and :data:`TRACE_BYTES` for the traced functions: the server's memory budget
evicts them first when a job or a loaded model needs the room.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from cnnlab.architecture import shapes
from cnnlab.architecture.spec import Architecture
from cnnlab.memory.budget import ByteCache
from cnnlab.runs.records import Hyperparameters

CALL_FLOP = 10e9  # a call's training arithmetic: ~0.03-0.1 s here, ~0.3 s on a busy machine
MAX_BATCHES_PER_CALL = 16
FLOP_PER_MAC = 6  # 2 per multiply-accumulate forward, twice that backward
TRACE_BYTES = 8 * 2**20  # a model's traced train and test functions (measured: ~5 MB)
_IDLE = ByteCache("compiled models")
_LOCK = threading.Lock()
_SERIAL = itertools.count()


class Calls(keras.callbacks.Callback):
    """A compiled model's training function: each call trains the model's
    ``steps_per_execution`` batches, or at the end of an epoch of :attr:`batches_per_epoch`
    the batches left (see the module). Pass it among ``fit``'s callbacks.

    Args:
        model: a compiled model; its ``train_function`` becomes this one's :meth:`train`.
    """

    def __init__(self, model: keras.Model) -> None:
        super().__init__()
        self.per_call = int(model.steps_per_execution)
        self.batches_per_epoch = self.per_call
        self._begin = 0

        def train_steps(iterator: Any, count: tf.Tensor) -> dict[str, tf.Tensor]:
            logs = model.train_step(iterator.get_next())

            def one_more(done: tf.Tensor, _: dict) -> tuple[tf.Tensor, dict]:
                return done + 1, model.train_step(iterator.get_next())

            return tf.while_loop(lambda done, _: done < count, one_more, (1, logs))[1]

        # No AutoGraph: converting Keras's code took ~0.1 s of the first call, for nothing
        self._steps = tf.function(train_steps, reduce_retracing=True, autograph=False,
                                  jit_compile=bool(model.jit_compile))
        model.train_function = self.train

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._begin = batch  # the call's first batch in the epoch, 0-based

    def train(self, iterator: Any) -> dict[str, tf.Tensor]:
        """Train the next call's batches from ``iterator``; their running metrics."""
        count = min(self.per_call, self.batches_per_epoch - self._begin)
        return self._steps(iterator, tf.constant(max(count, 1), dtype=tf.int32))


@dataclass
class Compiled:
    """A compiled training model, its training function (:class:`Calls`), its learning-rate
    schedule, and its optimizer's variables as they were built (the state :func:`reset`
    puts back)."""

    model: keras.Model
    calls: Calls
    schedule: Any
    optimizer_start: list[np.ndarray]

    @property
    def nbytes(self) -> int:
        variables = [*self.model.variables, *self.model.optimizer.variables]
        return TRACE_BYTES + sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize
                                 for v in variables)


def training_flop(arch: Architecture) -> int:
    """Floating-point operations to train ``arch`` (its input shape filled in) on one image:
    :data:`FLOP_PER_MAC` per multiply-accumulate of the network."""
    return FLOP_PER_MAC * shapes.summarize(arch).total_macs


def batches_per_call(arch: Architecture, batch_size: int) -> int:
    """How many batches of ``batch_size`` one call of ``arch``'s traced training step trains
    (Keras's ``steps_per_execution``; see the module): 1 to :data:`MAX_BATCHES_PER_CALL`,
    about :data:`CALL_FLOP` of arithmetic. ``arch`` has its input shape filled in."""
    flop = training_flop(arch) * batch_size
    return max(1, min(MAX_BATCHES_PER_CALL, int(CALL_FLOP // max(flop, 1))))


def key(arch: Architecture, hyperparameters: Hyperparameters, precision: str) -> str:
    """What a kept model must share with a training to be reused by it (see the module)."""
    network = {k: v for k, v in arch.to_dict().items() if k != "name"}
    return json.dumps([network, hyperparameters.optimizer, hyperparameters.lr_schedule,
                       precision, batches_per_call(arch, hyperparameters.batch_size)],
                      sort_keys=True)


def take(wanted: str) -> Compiled | None:
    """An idle compiled model of ``wanted`` (a :func:`key`), now the caller's; or None."""
    with _LOCK:
        for held in _IDLE.keys():
            if held[0] == wanted:
                return _IDLE.pop(held)
    return None


def give(wanted: str, compiled: Compiled) -> None:
    """Keep ``compiled`` idle for the next training of ``wanted`` (while the budget has room)."""
    with _LOCK:
        _IDLE.put((wanted, next(_SERIAL)), compiled, compiled.nbytes)


def idle_count() -> int:
    """How many compiled models wait idle."""
    return len(_IDLE)


def clear() -> None:
    """Let go of every idle model."""
    _IDLE.clear()


def remember_start(model: keras.Model, schedule: Any) -> Compiled:
    """A freshly compiled ``model`` (its optimizer's variables built, see
    :func:`cnnlab.training.memory.create_training_variables`) with its training function and
    its start state noted."""
    return Compiled(model, Calls(model), schedule, [v.numpy() for v in model.optimizer.variables])


def reset(compiled: Compiled, fresh: keras.Model, learning_rate: float, total_steps: int,
          batches_per_epoch: int, iteration: int = 0) -> None:
    """Put ``compiled`` in the state a new model would start a training in.

    Args:
        compiled: the kept model.
        fresh: a model of the same network built from the training's seed: its weights and
            seed-generator states are copied.
        learning_rate, total_steps: the schedule's learning rate and length in batches.
        batches_per_epoch: the training's batches per epoch (where its calls end).
        iteration: the optimizer's step count to start from (a resumed training's).
    Raises:
        ValueError: the two models' variables do not line up (a bug, never silent).
    """
    model = compiled.model
    ours, theirs = model.variables, fresh.variables
    if [tuple(v.shape) for v in ours] != [tuple(v.shape) for v in theirs]:
        raise ValueError("a kept model's variables do not match the fresh model's")
    for target, source in zip(ours, theirs, strict=True):
        target.assign(source)
    for variable, start in zip(model.optimizer.variables, compiled.optimizer_start, strict=True):
        variable.assign(start)
    model.optimizer.iterations.assign(iteration)
    compiled.schedule.set(learning_rate, total_steps)
    compiled.calls.batches_per_epoch = batches_per_epoch
