"""``cnnlab explain`` and ``cnnlab attack``: the "Inside the decision" maps and attacks for
teachers making slides, computed by the same code the pages use (:mod:`cnnlab.inspect`).

Each writes a PNG and prints what the page shows, as text or (``--json``) one JSON object.
The image is prepared by the run's input record, refusing what the preparation cannot make
into the run's input (:func:`cnnlab.inspect.for_run.prepare_to_explain`: a colour image for a
grey run, an image smaller than a resized run's input, a blank one); ``--prepared`` takes an
image that already is the run's input as it is (what ``cnnlab attack`` writes). Bad input —
those images, an unknown layer, a class out of range, ε outside [0, 1] — ends with one
``error:`` line and exit status 2 (:func:`cnnlab.cli.main.main`). TensorFlow is imported
inside the commands only.

JSON of ``explain``: ``file``, ``method``, ``class_index``, ``class_name`` (the class
explained), ``prediction`` (``class_index``, ``class_name``, ``confidence``), ``layer``
(Grad-CAM's conv layer, else null), ``map_resolution`` (the map's own rows and columns),
``input_size``, ``peak`` (the input pixel, row and column, where the map is strongest),
``square`` and ``stride`` (occlusion, else null), ``out``.

JSON of ``attack``: ``file``, ``target`` (null for "make it wrong"), ``eps``, ``before`` and
``after`` (``class_index``, ``class_name``, ``confidence``), ``succeeded``,
``largest_change`` and ``total_change`` (in [0, 1] pixel units: the most any pixel moved, and
all the changes added up), ``pixels_changed``, ``smallest_eps`` (when it failed: the smallest
ε that works, or null), ``summary`` (the sentence the page shows), ``out``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

METHODS = ("gradcam", "saliency", "occlusion")
PICTURE_SIDE = 224  # the written map's longer side, about (whole-pixel enlargement)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add ``explain`` and ``attack`` to the ``cnnlab`` subcommands."""
    p = sub.add_parser("explain", help="where the network looked: a Grad-CAM, saliency or "
                                       "occlusion map of one image, as a PNG")
    p.add_argument("run", metavar="RUN", help="a run folder written by `cnnlab train`")
    p.add_argument("image", metavar="IMAGE", help="a PNG/JPEG file")
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--layer", metavar="NAME", help="Grad-CAM's conv layer (default the last)")
    p.add_argument("--class", dest="class_index", type=int, metavar="K",
                   help="the class to explain (default the network's answer)")
    p.add_argument("--size", type=int, metavar="PX", help="occlusion: the grey square's side "
                                                           "(default a fifth of the image)")
    p.add_argument("--stride", type=int, metavar="PX", help="occlusion: pixels between its "
                                                             "positions (default size / 3)")
    _common(p, "the map over the image")
    p.set_defaults(func=cmd_explain)
    p = sub.add_parser("attack", help="fool it: the smallest change within ε that makes the "
                                      "network answer K (or anything else)")
    p.add_argument("run", metavar="RUN", help="a run folder written by `cnnlab train`")
    p.add_argument("image", metavar="IMAGE", help="a PNG/JPEG file")
    p.add_argument("--target", type=int, metavar="K",
                   help="the class to make it say (default: anything but its answer)")
    p.add_argument("--eps", type=float, required=True, metavar="E",
                   help="the most any pixel may change, in [0, 1] (0.1: a tenth of black to "
                        "white)")
    _common(p, "the changed image, at the run's input size")
    p.set_defaults(func=cmd_attack)


def _common(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", required=True, metavar="FILE.png", help=f"where to write {what}")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--prepared", action="store_true",
                   help="the image already is the run's input (its size and colour, e.g. "
                        "written by `cnnlab attack`): use it as it is")


def _load(args: argparse.Namespace):
    """(run, summary, prepared image as uint8) for the run folder and image of ``args``."""
    from cnnlab.cli import run_commands

    data = run_commands.read_image_file(args.image, _max_bytes())  # a bad file before TF
    run_commands.import_tensorflow()
    from cnnlab.architecture import shapes
    from cnnlab.data import kinds
    from cnnlab.inspect import for_run
    from cnnlab.runs import run_files

    with warnings.catch_warnings():  # Keras warns about mismatches load_run reports itself
        warnings.simplefilter("ignore")
        run = run_files.load_run(args.run)
    try:
        prepared = for_run.prepare_to_explain(data, kinds.input_format(run), args.prepared)
    except ValueError as exc:
        raise ValueError(f"{args.image}: {exc}") from None
    summary = shapes.summarize(run.architecture, num_classes=len(run.class_names))
    return run, summary, prepared.as_uint8()


def _max_bytes() -> int:
    from cnnlab.inspect import preprocess

    return preprocess.MAX_FILE_BYTES


def _answer(run, probabilities: np.ndarray, index: int | None = None) -> dict:
    k = int(np.argmax(probabilities)) if index is None else int(index)
    return {"class_index": k, "class_name": run.class_names[k],
            "confidence": float(probabilities[k])}


def _checked_class(run, value: int | None, option: str) -> int | None:
    count = len(run.class_names)
    if value is not None and not 0 <= value < count:
        raise ValueError(f"{option} must be a class of this run, 0..{count - 1}; received "
                         f"{value}")
    return value


def _save(picture: np.ndarray, out: str) -> None:
    from PIL import Image

    Image.fromarray(picture).save(Path(out), format="PNG")


def explanation_map(run, summary, image: np.ndarray, method: str, class_index: int,
                    layer: str | None = None, size: int | None = None,
                    stride: int | None = None) -> tuple[np.ndarray, dict]:
    """(the map at the input's resolution, 0..1; its JSON facts) for one method, as the page
    computes it."""
    from cnnlab.inspect import attribution, occlusion

    if method == "occlusion":
        result = occlusion.Occluder(run.model, summary).map(image, class_index, size, stride)
        return result.heat, {"layer": None, "map_resolution": list(result.resolution),
                             "square": result.size, "stride": result.stride}
    explained = attribution.Explainer(run.model, summary).explain(image, class_index, layer)
    if method == "saliency":
        return explained.saliency, {"layer": None, "map_resolution": list(image.shape[:2]),
                                    "square": None, "stride": None}
    if explained.gradcam is None:
        raise ValueError(explained.message)
    return explained.gradcam, {"layer": explained.gradcam_layer,
                               "map_resolution": list(explained.gradcam_resolution),
                               "square": None, "stride": None}


def cmd_explain(args: argparse.Namespace) -> int:
    if args.layer is not None and args.method != "gradcam":
        raise ValueError(f"--layer chooses Grad-CAM's conv layer; received it with --method "
                         f"{args.method}")
    if (args.size is not None or args.stride is not None) and args.method != "occlusion":
        raise ValueError(f"--size and --stride set the occlusion square; received them with "
                         f"--method {args.method}")
    run, summary, image = _load(args)
    from cnnlab.inspect import inference
    from cnnlab.views import overlay

    _checked_class(run, args.class_index, "--class")
    probabilities = inference.Predictor(run.model).probabilities(image)
    prediction = _answer(run, probabilities)
    k = prediction["class_index"] if args.class_index is None else args.class_index
    heat, facts = explanation_map(run, summary, image, args.method, k, args.layer, args.size,
                                  args.stride)
    scale = max(1, PICTURE_SIDE // max(image.shape[:2]))
    _save(overlay.heat_overlay(image, heat, scale), args.out)
    peak = [int(v) for v in np.unravel_index(int(np.argmax(heat)), heat.shape)]
    result = {"file": args.image, "method": args.method, "class_index": k,
              "class_name": run.class_names[k], "prediction": prediction, **facts,
              "input_size": list(image.shape[:2]), "peak": peak, "out": args.out}
    if args.json:
        print(json.dumps(result))
        return 0
    rows, cols = facts["map_resolution"]
    where = f" at {facts['layer']}" if facts["layer"] else ""
    print(f"{args.method}{where} for class {k} ({run.class_names[k]}): a {rows}×{cols} map "
          f"placed on the {image.shape[0]}×{image.shape[1]} input, strongest at row {peak[0]}, "
          f"column {peak[1]}; written to {args.out}")
    print(f"the network says {prediction['class_name']} ({prediction['confidence']:.1%})")
    return 0


def cmd_attack(args: argparse.Namespace) -> int:
    run, summary, image = _load(args)
    from cnnlab.inspect import adversarial

    eps = adversarial.checked_eps(args.eps)
    target = _checked_class(run, args.target, "--target")
    attack = adversarial.Attacker(run.model, summary).attack(image, eps, target)
    _save(attack.changed, args.out)
    before = {"class_index": attack.class_before, "class_name":
              run.class_names[attack.class_before], "confidence": attack.confidence_before}
    after = {"class_index": attack.class_after, "class_name":
             run.class_names[attack.class_after], "confidence": attack.confidence_after}
    summary_text = attack.describe(run.class_names)
    if args.json:
        print(json.dumps({"file": args.image, "target": target, "eps": eps, "before": before,
                          "after": after, "succeeded": attack.succeeded,
                          "largest_change": attack.largest_change,
                          "total_change": attack.total_change,
                          "pixels_changed": attack.pixels_changed,
                          "smallest_eps": attack.smallest_eps, "summary": summary_text,
                          "out": args.out}))
        return 0
    print(summary_text)
    print(f"the changed image is written to {args.out}; `cnnlab predict {args.run} {args.out} "
          f"--prepared` reads it as it is")
    return 0
