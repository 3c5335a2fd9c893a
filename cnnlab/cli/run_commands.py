"""The training commands of ``cnnlab``: ``train``, ``predict`` and ``datasets``.

TensorFlow is imported inside the commands, never when this module is imported, so
``cnnlab summary`` stays quick. Exit status: 0 done; 1 the training itself failed (e.g. the
loss diverged), or the run could not be saved (a full disk, a file-size limit, a folder that
cannot be written; checked before training where it can be, and nothing is left behind); 2
bad input; each with one ``error:`` line. 130: ``train`` was interrupted with Ctrl-C or
SIGTERM: it stops after the current batch, evaluates, and still writes the run folder; a
second Ctrl-C only says so, a third quits without saving and says the run was not saved (a
folder already being written is finished first: it is written whole or not at all).
Training is a job (:func:`cnnlab.jobs.start.start_job`), here or on a Dask cluster, whose
``save`` writes the ``--out`` folder.

``predict`` reports a blank image (nothing drawn) as ``class_index`` null with a note,
rather than failing the whole command; an unreadable image file is bad input (status 2).
``predict --prepared`` takes images that already are the run's input as they are (exactly its
size and colour; what ``cnnlab attack`` writes), without cropping, scaling or centring.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

from cnnlab.cli import data_options
from cnnlab.models import optimizers, precision
from cnnlab.runs import augmentation
from cnnlab.runs.records import Hyperparameters

BLANK_NOTE = "blank image: nothing drawn"


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``train``, ``predict`` and ``datasets`` to the ``cnnlab`` subcommands."""
    p = sub.add_parser("train", help="train an architecture on a data set, save the run")
    p.add_argument("arch", help="an architecture JSON file or a preset name")
    p.add_argument("--dataset", default="mnist-5k", metavar="NAME_OR_FOLDER",
                   help="a data set name (see `cnnlab datasets`) or folder (default mnist-5k)")
    p.add_argument("--out", required=True, metavar="DIR", help="the run folder to write")
    p.add_argument("--epochs", type=int, default=5, help="default 5")
    p.add_argument("--batch-size", type=int, default=64, help="default 64")
    p.add_argument("--optimizer", default="adam", metavar="|".join(optimizers.NAMES),
                   help="default adam")
    p.add_argument("--learning-rate", type=float, default=Hyperparameters.learning_rate,
                   help=f"default {Hyperparameters.learning_rate:g}")
    p.add_argument("--lr-schedule", default=optimizers.DEFAULT_SCHEDULE,
                   metavar="|".join(optimizers.SCHEDULES),
                   help="the learning rate over the training: constant; cosine (from the "
                        "learning rate down to 0); step (a tenth from half-way, a hundredth "
                        f"from three quarters); default {optimizers.DEFAULT_SCHEDULE}")
    p.add_argument("--validation-split", type=float, default=0.1, metavar="F",
                   help="share of the training images held out for validation (default 0.1)")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--augment", default="off", metavar="|".join(augmentation.NAMES),
                   help="random shifts, rotations and zoom of the training images while "
                        "training (light: up to 10%%, 10 degrees, 10%%; strong: up to 20%%, "
                        "20 degrees, 25%%); default off")
    p.add_argument("--precision", default=None, metavar="|".join(precision.NAMES),
                   help="what training computes in: auto (bfloat16 where this CPU does it "
                        "natively and faster, else float32), float32 or bfloat16; the run "
                        "is float32 either way (default CNNLAB_PRECISION, else auto)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="train on the Dask cluster of this scheduler, tcp://HOST:PORT "
                        "(default CNNLAB_SCHEDULER; unset: train in this process)")
    data_options.add_arguments(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("predict", help="classify image files with a trained run")
    p.add_argument("run", metavar="DIR", help="a run folder written by `cnnlab train`")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG files")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--prepared", action="store_true",
                   help="the images already are the run's input (its size and colour, e.g. "
                        "written by `cnnlab attack`): use them as they are")
    p.set_defaults(func=cmd_predict)
    p = sub.add_parser("datasets", help="the data sets, and whether each is available offline")
    p.set_defaults(func=cmd_datasets)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def epoch_line(record, epochs: int) -> str:
    """One line per epoch: loss, accuracy, validation loss and accuracy, seconds."""
    line = (f"epoch {record.epoch}/{epochs}  loss {_number(record.loss)}  accuracy "
            f"{_percent(record.accuracy)}  val_loss {_number(record.val_loss)}  val_accuracy "
            f"{_percent(record.val_accuracy)}  {record.seconds:.1f}s")
    return line if record.complete else f"{line}  (stopped after {record.batches} batches)"


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2: TensorFlow's C++ start-up lines ignore every log level."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow() -> None:
    """Import TensorFlow and initialise its devices without its start-up noise on stderr."""
    if "tensorflow" in sys.modules:
        return
    with _quiet_stderr():
        import tensorflow as tf

        tf.config.list_logical_devices()  # the CUDA probe logs here, not at import


class _Interrupts:
    """Ctrl-C and SIGTERM: the first stops training, the second is only noted, the third quits."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, signum: int, frame: object) -> None:
        self.count += 1
        if self.count == 2:
            print("still stopping: the run will be saved; press Ctrl-C again to quit without "
                  "saving", file=sys.stderr, flush=True)
            return
        raise KeyboardInterrupt


def cmd_train(args: argparse.Namespace) -> int:
    from cnnlab.architecture import presets
    from cnnlab.workspaces import settings

    arch = presets.resolve(args.arch)
    hyperparameters = Hyperparameters(
        epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
        learning_rate=args.learning_rate, validation_fraction=args.validation_split,
        seed=args.seed, augment=args.augment, lr_schedule=args.lr_schedule,
        precision=settings.precision() if args.precision is None else args.precision)

    address = args.scheduler or settings.scheduler()
    if address:  # Dask only in this mode; an unreachable scheduler fails first, in seconds
        from cnnlab.cluster import client as cluster_client

        cluster_client.connect(address)
    dataset = data_options.load(args)  # class folders: --image-size, --color
    out = Path(args.out)
    import_tensorflow()
    from cnnlab.jobs import start
    from cnnlab.jobs.job import State
    from cnnlab.runs import atomic, run_files
    from cnnlab.training import routine

    atomic.check_target(out, run_files.RUN_FILES)  # fail now, not after training

    def print_epoch(event) -> None:
        if event.kind == "epoch":
            print(epoch_line(event.record, hyperparameters.epochs), flush=True)
        elif event.kind == "state" and event.message and event.state in ("queued", "running"):
            print(event.message, file=sys.stderr, flush=True)  # a cluster's queue, a lost worker

    abandoned = threading.Event()  # a third Ctrl-C: quit without saving

    def save(run) -> Path:
        if abandoned.is_set():
            raise RuntimeError("interrupted again before saving")
        return run_files.save_run(run, out)

    # errors before the header line
    arch = routine.prepare_architecture(arch, dataset, hyperparameters.batch_size)
    print(f"training {arch.name} on {dataset.name} ({len(dataset.y_train):,} training images) "
          f"for {hyperparameters.epochs} epochs; Ctrl-C stops after the current batch",
          flush=True)
    # Ctrl-C stops training even where the parent started us with SIGINT ignored (a shell's
    # background job, some CI runners), which Python would otherwise keep; SIGTERM the same.
    interrupts = _Interrupts()
    saved = {s: signal.signal(s, interrupts) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        job = start.start_job(arch, dataset, hyperparameters, save=save, scheduler=address,
                              listeners=[print_epoch])
        try:
            try:
                while not job.wait(0.25):
                    pass
            except KeyboardInterrupt:
                print("stopping after the current batch...", file=sys.stderr, flush=True)
                job.stop()
                while not job.wait(0.25):
                    pass
            interrupted = interrupts.count > 0
            interrupts.count = max(interrupts.count, 1)  # from now on one Ctrl-C is only noted
        except KeyboardInterrupt:
            abandoned.set()
            job.stop()
            if job.state is State.SAVING:  # a folder is written whole or not at all: a moment
                job.wait()
            if job.saved_to is None:
                print(f"error: interrupted again; the run was not saved to {out}",
                      file=sys.stderr)
                return 130
            interrupted = True
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
    snapshot = job.snapshot()
    if job.save_error:  # a full disk, a file-size limit: nothing is left behind
        print(f"error: {job.save_error}", file=sys.stderr)
        return 1
    if job.state is State.FAILED:
        kept = f"; saved to {out}" if job.saved_to else ""  # a cluster's lost scheduler
        print(f"error: training failed: {snapshot.message}{kept}", file=sys.stderr)
        return 1
    metrics = job.metrics
    print(f"test accuracy {_percent(metrics.test_accuracy)} (loss "
          f"{_number(metrics.test_loss)}) on {metrics.test_samples:,} test images, "
          f"{snapshot.elapsed:.1f}s trained in {metrics.precision}; run saved to {out}")
    if interrupted:
        print(f"interrupted: {snapshot.message}; the partial run is saved in {out}",
              file=sys.stderr)
        return 130
    return 0


def read_image_file(path: str | Path, max_bytes: int) -> bytes:
    """An image file's bytes: a regular file only (a FIFO or a device is refused without
    waiting), a file over ``max_bytes`` refused before reading."""
    from cnnlab.files import reading

    return reading.read_regular_file(path, max_bytes, "an image file")


def prepare_images(paths: list[str], fmt=None, given: bool = False) -> list:
    """Each file prepared for a run of input format ``fmt`` (a
    :class:`cnnlab.data.kinds.InputFormat`; 28×28 grey digits when None), no TensorFlow
    needed; with ``given``, taken as it is (it must be exactly the run's input); a bad file is
    a ``ValueError``."""
    from cnnlab.data import kinds
    from cnnlab.inspect import for_run, preprocess

    fmt = fmt or kinds.InputFormat()
    prepare = for_run.as_given if given else for_run.prepare_upload
    prepared = []
    for path in paths:
        data = read_image_file(path, preprocess.MAX_FILE_BYTES)
        try:
            prepared.append(prepare(data, fmt))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return prepared


def predict_files(run, paths: list[str], prepared: list) -> list[dict]:
    """``{"file", "class_index", "class_name", "label", "probabilities", "note"}`` per image,
    in order; ``class_name`` (and ``label``, its older name) is the run's name of the class.

    A blank image has ``class_index``, ``class_name``, ``label`` and ``probabilities`` null and
    says why in ``note``; otherwise ``note`` is null.
    """
    from cnnlab.inspect import inference

    predictor = inference.Predictor(run.model)
    results = []
    for path, image in zip(paths, prepared, strict=True):
        if image.blank:
            results.append({"file": path, "class_index": None, "class_name": None, "label": None,
                            "probabilities": None, "note": image.note or BLANK_NOTE})
            continue
        probabilities = [float(p) for p in predictor.probabilities(image.model_input())]
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        name = run.class_names[best]
        results.append({"file": path, "class_index": best, "class_name": name, "label": name,
                        "probabilities": probabilities, "note": None})
    return results


def cmd_predict(args: argparse.Namespace) -> int:
    if not args.prepared:
        prepare_images(args.images)  # a bad file is named before TensorFlow loads
    import_tensorflow()
    from cnnlab.data import kinds
    from cnnlab.runs import run_files

    with warnings.catch_warnings():  # Keras warns about mismatches load_run reports itself
        warnings.simplefilter("ignore")
        run = run_files.load_run(args.run)
    prepared = prepare_images(args.images, kinds.input_format(run),  # by the run's record
                              given=args.prepared)
    results = predict_files(run, args.images, prepared)
    if args.json:
        print(json.dumps(results))
        return 0
    for result in results:
        if result["class_index"] is None:
            print(f"{result['file']}: no prediction ({result['note']})")
        else:
            probability = result["probabilities"][result["class_index"]]
            print(f"{result['file']}: {result['label']} (class {result['class_index']}, "
                  f"{_percent(probability)})")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from cnnlab.data import datasets

    for status in datasets.dataset_status():
        print(status)
    return 0
