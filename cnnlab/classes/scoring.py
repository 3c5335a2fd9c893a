"""Scoring a student's saved runs for their class's challenge: by the server, on the held-back
split, never from what a run reports about itself.

:func:`run_saved` is the hook a saved run goes through. A plain function of plain values
(a workspace token and a run folder), it is called by whoever saves a run into a workspace,
without knowing classes exist:

- the job layer, when a job reaches ``saved`` (issue 21's state machine, ``cnnlab/jobs/``:
  where the job's run has just been saved into its workspace by ``Workspace.save_run``), from
  the job's thread;
- the Train page's run-zip upload, after ``Workspace.save_run``: an uploaded run is scored
  like any other.

For a workspace in a class it copies the run's files into the student's folder (so what is
scored is exactly what is kept, and the teacher's spotlight never opens the student's
workspace), checks the copy against the challenge (:func:`cnnlab.classes.challenge.check_run`),
and scores a run that fits: ``run_files.load_run`` (every file checked), then the model in
inference mode, batched, on the held-back images (:func:`cnnlab.workspaces.held_back.held_back`).
The score is the held-back accuracy; no image, label or per-image result is kept, only the
count and the confusion matrix. A run over the limits is recorded with its reasons.

Results are kept in the student's ``results.json``, by run folder, each with the files' stamp
(sizes and modification times) and the challenge's id: the same run under the same challenge is
never scored twice, whichever server asks, and a board refresh reads files only. The best
result is copied to ``best/`` (a complete run folder, read-only for the spotlight). TensorFlow
is imported inside the functions that score, never at import.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.classes import challenge as challenges
from cnnlab.classes import jsonio, members, store
from cnnlab.runs import atomic
from cnnlab.workspaces import held_back
from cnnlab.workspaces import store as workspaces

SCORE_BATCH = 256
MAX_RESULTS_KEPT = 50  # runs remembered per student (the best is always kept)
MAX_RESULTS_BYTES = 4 * members.MAX_SMALL_FILE_BYTES
# the run files copied and scored: run_files.REQUIRED_FILES (run_files imports TensorFlow;
# tests/test_classes_scoring.py holds the two equal)
RUN_FILES = ("architecture.json", "model.weights.h5", "hyperparameters.json", "history.json",
             "metrics.json")
MAX_COPY_BYTES = 200 * 2**20  # each file, as run_checks.MAX_WEIGHTS_BYTES


@dataclass(frozen=True)
class Score:
    """A run's score on the held-back split: accuracy, how many images, confusion matrix
    (rows: true class, columns: predicted)."""

    accuracy: float
    images: int
    confusion: list[list[int]]


def score_folder(folder: Path, dataset: str) -> Score:
    """Score the run in ``folder`` on ``dataset``'s held-back images.

    The run is loaded by ``run_files.load_run`` (which checks every file), then its model
    predicts the held-back images in inference mode, in batches of :data:`SCORE_BATCH`. Its
    own metrics are not read.

    Raises:
        ValueError: the run cannot be loaded, or does not fit the images.
    """
    from cnnlab.inspect import inference
    from cnnlab.runs import run_files
    from cnnlab.training import evaluation

    run = run_files.load_run(folder)
    images, labels = held_back.held_back(dataset)  # (n, h, w, c) uint8, (n,)
    probabilities = inference.predict_batch(run.model, images, SCORE_BATCH)  # (n, classes)
    metrics, _ = evaluation.summarize_predictions(probabilities, labels,
                                                  int(run.model.output_shape[-1]), 0)
    return Score(float(metrics["test_accuracy"]), len(labels), metrics["confusion_matrix"])


def _stamp(folder: Path) -> tuple[str, float] | None:
    """(stamp of the run files' sizes and modification times, when they were last written),
    or None if one is missing."""
    parts, latest = [], 0.0
    for name in RUN_FILES:
        try:
            info = os.stat(folder / name)
        except OSError:
            return None
        parts.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
        latest = max(latest, info.st_mtime)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32], latest


def _copy_run(source: Path, target: Path) -> None:
    """Copy the run files of ``source`` into ``target``: regular files, size-checked."""
    for name in RUN_FILES:
        info = os.stat(source / name, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_COPY_BYTES:
            raise ValueError(f"{name} is not a regular file of at most {MAX_COPY_BYTES:,} bytes")
        shutil.copyfile(source / name, target / name, follow_symlinks=False)


def _finite(values: Any) -> list[float | None]:
    return [float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None
            for v in values]


def _blank(source: Path, stamp: tuple[str, float] | None,
           challenge_id: str | None) -> dict[str, Any]:
    """A result with nothing known yet but the run folder's name and stamp."""
    return {"folder": source.name, "stamp": None if stamp is None else stamp[0],
            "finished_at": None if stamp is None else stamp[1], "challenge": challenge_id,
            "run_name": source.name, "architecture": None, "params": None, "epochs": None,
            "dataset": None, "val_accuracy": [], "score": None, "images": None,
            "confusion": None, "reason": None}


def _assess(source: Path, staging: Path, stamp: tuple[str, float],
            challenge: challenges.Challenge | None) -> dict[str, Any]:
    """Copy the run into ``staging``, check it and score it if it fits: its result."""
    result = _blank(source, stamp, None if challenge is None else challenge.id)
    try:
        _copy_run(source, staging)
        data = None if challenge is None else challenges.data_shape(challenge.dataset)
        facts, reasons = challenges.check_run(staging, challenge, data)
    except (OSError, ValueError) as exc:
        result["reason"] = f"the run cannot be read: {_without_paths(exc, staging, source)}"
        return result
    if facts is not None:
        result.update(run_name=facts.run_name, architecture=facts.architecture,
                      params=facts.params, epochs=facts.epochs, dataset=facts.dataset,
                      val_accuracy=_finite(facts.val_accuracy))
    if not reasons:
        try:
            score = score_folder(staging, challenge.dataset)
        except ValueError as exc:
            reasons = [f"the run cannot be loaded: {_without_paths(exc, staging, source)}"]
        else:
            result.update(score=score.accuracy, images=score.images, confusion=score.confusion)
    result["reason"] = challenges.short("; ".join(reasons), 8 * challenges.MAX_TEXT) or None
    return result


def _without_paths(exc: BaseException, *folders: Path) -> str:
    """The first line of ``exc``'s message with server folders left out (a student sees it)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    for folder in folders:
        text = text.replace(f"{folder}{os.sep}", "").replace(str(folder), "the run")
    return challenges.short(text, 4 * challenges.MAX_TEXT)


def ranked(result: dict[str, Any] | None, challenge_id: str | None) -> bool:
    """Whether ``result`` has a score under the current challenge."""
    return (result is not None and result.get("score") is not None
            and challenge_id is not None and result.get("challenge") == challenge_id)


def _better(new: dict[str, Any], old: dict[str, Any] | None, challenge_id: str | None) -> bool:
    """Whether ``new`` should be the run the board shows instead of ``old``: a ranked run
    beats an unranked one, a higher score a lower one (a tie keeps the earlier); between
    unranked runs the latest is shown."""
    if old is None or not ranked(old, challenge_id):
        return True
    return ranked(new, challenge_id) and new["score"] > old["score"]


def _results(student: Path) -> dict[str, Any]:
    data = jsonio.read_json(student / members.RESULTS, MAX_RESULTS_BYTES)
    data = data if isinstance(data, dict) else {}
    runs = data.get("runs") if isinstance(data.get("runs"), dict) else {}
    best = data.get("best") if isinstance(data.get("best"), dict) else None
    return {"runs": runs, "best": best}


def _keep_best(staging: Path, student: Path) -> bool:
    """Make ``staging``'s run files the student's ``best/`` copy, whole; False if the disk
    refused (the previous copy is then unchanged)."""
    try:
        atomic.replace_folder(student / members.BEST, lambda tmp: _copy_run(staging, tmp),
                              sum(p.stat().st_size for p in staging.iterdir()), RUN_FILES)
    except (OSError, ValueError):  # SaveError: disk full or not writable
        return False
    return True


def record_run(info: store.ClassInfo, student: Path, source: Path) -> dict[str, Any]:
    """Score (or look up) the run folder ``source`` of the student in folder ``student`` for
    class ``info``, and keep the result; the result as :mod:`cnnlab.classes.board` reads it.

    Raises:
        OSError: the class's own files cannot be written (a bad run never raises: it is
            recorded with its reason).
    """
    challenge = info.challenge
    challenge_id = None if challenge is None else challenge.id
    stamp = _stamp(source)
    with jsonio.locked(student / members.RESULTS):
        results = _results(student)
        cached = results["runs"].get(source.name)
        if (stamp is not None and isinstance(cached, dict) and cached.get("stamp") == stamp[0]
                and cached.get("challenge") == challenge_id):
            return cached
        if stamp is None:
            result = dict(_blank(source, None, challenge_id), reason="not a complete run folder")
        else:
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=student))
            try:
                result = _assess(source, staging, stamp, challenge)
                if (result["architecture"] is not None
                        and _better(result, results["best"], challenge_id)
                        and _keep_best(staging, student)):
                    results["best"] = result
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        runs = results["runs"]
        runs[source.name] = result
        for old in sorted(runs, key=lambda k: runs[k].get("finished_at") or 0)[
                :max(0, len(runs) - MAX_RESULTS_KEPT)]:
            del runs[old]
        jsonio.write_json(student / members.RESULTS, results)
    return result


def run_saved(token: str, run_folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The saved-run hook: score the run just saved in workspace ``token``, if that workspace
    is in a class; None if it is not.

    Safe to call from any thread, and again for the same run (the result is looked up, not
    scored again). Takes about the time of one prediction pass over the held-back images.
    A bad run never raises (it is recorded with its reason); the caller should still catch
    and log an OSError (the class's files unwritable) so that saving the run itself stands.

    Args:
        token: the workspace's token (it never leaves this server).
        run_folder: the run folder just saved (``Workspace.run_path(folder)``).
    Returns:
        The result kept for the board (score or reason), or None outside a class.
    """
    found = members.class_of(token)
    if found is None:
        return None
    member, info = found
    return record_run(info, members.student_folder(member.code, member.student_id),
                      Path(run_folder))


def rescore_workspace(token: str) -> list[dict[str, Any]]:
    """Run :func:`run_saved` over every run of workspace ``token`` (oldest first): for a
    workspace that joined a class with runs already in it, or after the challenge changed.
    Runs already scored under the current challenge are looked up, not scored again."""
    workspace = workspaces.Workspace(token)
    try:
        folders = workspace.run_folders()
    except OSError:  # nothing saved in the workspace yet
        return []
    results = [run_saved(token, workspace.folder / workspaces.RUNS / f) for f in folders]
    return [r for r in results if r is not None]

