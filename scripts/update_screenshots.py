"""Copy the browser tests' screenshots of the pages into the README's ``docs/screenshots/``,
reduced to a 256-colour palette so they stay a few hundred KB.

    python -m pytest tests/e2e && python scripts/update_screenshots.py
    python scripts/update_screenshots.py --run      # the same in one go
    python scripts/update_screenshots.py --only inside-fool.png inside-cover.png  # just these

The screenshots come from ``artifacts/e2e/`` (written by every run of ``tests/e2e``, at a
1280×800 window). Emoji in the app need a colour emoji font (Debian: fonts-noto-color-emoji).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "artifacts" / "e2e"
TARGET = REPO / "docs" / "screenshots"
SHOTS = {  # README name <- the test step's screenshot
    "build.png": "2-build.png",
    "train.png": "3-train-live.png",
    "feature_maps.png": "4-feature-maps.png",
    "draw.png": "5-draw.png",
    # tests/e2e/test_my_classes.py: drawing examples of two named classes, then Draw naming them
    "my_classes.png": "my-classes-1-drawing.png",
    "my_classes_draw.png": "my-classes-3-draw.png",
    # a projector's 1024×768 (tests/e2e/test_screen_sizes.py), normal and presentation mode
    "projector-build.png": "size-1024x768-build.png",
    "projector-draw-presentation.png": "size-1024x768-draw-present.png",
    # Inside the decision (tests/e2e/test_inside_decision.py)
    "inside-why.png": "15-why-gradcam.png",
    "inside-unit.png": "15-unit-outline.png",
    "inside-transform.png": "15-transform-strip.png",
    "inside-compare.png": "15-compare-runs.png",
    "inside-quiz.png": "15-quiz.png",
    "inside-feature-maps.png": "15-fm-why.png",
    # Inside the decision, part 2 (tests/e2e/test_fool_cover_ask.py): whole window, or a section
    "inside-gradcam-layer.png": "25-gradcam-layer.png",
    "inside-fool.png": "25-fool.png",
    "inside-fool-compare.png": "25-fool-compare.png",
    "inside-cover.png": "25-cover.png",
    "inside-sanity.png": "25-sanity.png",
    "inside-dream-layer.png": "25-dream-layer.png",
    "inside-dream-class.png": "25-dream-class.png",
    "inside-colour-cover.png": "25-colour-cover.png",
}


def optimise(source: Path, target: Path) -> int:
    """Save ``source`` as a palette PNG at ``target``; its size in bytes."""
    with Image.open(source) as image:
        palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                dither=Image.Dither.NONE)
    palette.save(target, optimize=True)
    return target.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true",
                        help="run the browser tests first (python -m pytest tests/e2e)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=sorted(SHOTS),
                        help="update only these README pictures (after running the browser "
                             "test that takes them)")
    args = parser.parse_args(argv)
    shots = {name: SHOTS[name] for name in args.only} if args.only else SHOTS
    if args.run:
        status = subprocess.call([sys.executable, "-m", "pytest", "tests/e2e", "-q"], cwd=REPO)
        if status:
            print(f"error: the browser tests failed (exit status {status}); screenshots not "
                  "updated", file=sys.stderr)
            return status
    missing = [name for name in shots.values() if not (SOURCE / name).is_file()]
    if missing:
        print(f"error: {', '.join(missing)} missing in {SOURCE}; run python -m pytest tests/e2e "
              "first (it needs /usr/bin/chromium)", file=sys.stderr)
        return 2
    TARGET.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, source in shots.items():
        size = optimise(SOURCE / source, TARGET / name)
        total += size
        print(f"{TARGET.relative_to(REPO) / name}: {size / 1024:.0f} KB")
    print(f"total {total / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
