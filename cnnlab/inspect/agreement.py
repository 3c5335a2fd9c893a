"""Where the maps agree: the strongest parts of Grad-CAM, saliency and occlusion compared, and
said in words a learner reads ("Grad-CAM and occlusion largely agree: ... both in the top
right").

Each map's *strongest part* is its top :data:`SHARE` of the input's pixels by strength (a
tenth: 78 of 784 for 28×28), counting only pixels whose strength is above zero, so a map that
is zero almost everywhere keeps only the few it has. Strength is the map's value for Grad-CAM
and occlusion (evidence for the class) and the gradient's size for the signed saliency map
(either sign moves the score: :func:`where_maps`). Two strongest parts *share* the part of
the smaller one that lies in the other (1: all of it; 0: none), so a map positive on only a
few pixels (Grad-CAM at a first layer often is) still agrees when those pixels lie in the
other's part; two maps that knew nothing of each other would share about :func:`chance` (a
tenth). They *agree* from :data:`AGREE` (four times chance) and *largely* agree from
:data:`LARGELY`. On a two-conv trained 2 epochs on the built-in digits, 20 test digits gave
median shares of 21 % (Grad-CAM and saliency), 29 % (Grad-CAM and occlusion) and 36 % (saliency
and occlusion): the three mostly point to the same third of the image, its centre, but to
different pixels there. Where a part lies is said from its centre of mass, the image cut into thirds
each way ("the top right", "the centre").

Pure numpy, no TensorFlow: the maps come from :mod:`cnnlab.inspect.attribution` and
:mod:`cnnlab.inspect.occlusion`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

SHARE = 0.1  # a map's strongest part: this share of the input's pixels
AGREE = 0.4  # two strongest parts sharing at least this much agree (chance: about 0.1)
LARGELY = 0.7  # ... and from this much, largely agree
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "centre", "right")


def where_maps(gradcam: np.ndarray | None, gradient: np.ndarray | None,
               occlusion: np.ndarray | None) -> dict[str, np.ndarray]:
    """The page's three maps as strengths to compare, by the names the page shows: Grad-CAM
    (its heat), saliency (the signed gradient's size) and occlusion (its heat); a map that is
    None (no Grad-CAM without a conv layer) is left out."""
    maps = {"Grad-CAM": gradcam, "saliency": None if gradient is None else np.abs(gradient),
            "occlusion": occlusion}
    return {name: np.asarray(values, np.float32) for name, values in maps.items()
            if values is not None}


def strongest(values: np.ndarray, share: float = SHARE) -> np.ndarray:
    """The boolean mask of the map's strongest part: its top ``share`` of pixels, above zero
    only (ties at the threshold included).

    Example:
        >>> strongest(np.array([[0.0, 0.2], [0.9, 0.5]]), share=0.5).astype(int).tolist()
        [[0, 0], [1, 1]]
    """
    flat = np.asarray(values, np.float32).ravel()
    count = min(int(np.count_nonzero(flat > 0)), max(1, round(share * flat.size)))
    if count == 0:
        return np.zeros(np.shape(values), bool)
    threshold = np.partition(flat, flat.size - count)[flat.size - count]
    return (np.asarray(values) >= threshold) & (np.asarray(values) > 0)


def chance(share: float = SHARE) -> float:
    """What two strongest parts of ``share`` of the pixels, placed at random, share on average:
    each pixel of one lies in the other with probability ``share``."""
    return share


def place(mask: np.ndarray) -> str:
    """Where a mask's centre of mass lies, in words: "the top right", "the centre", ...

    Example:
        >>> m = np.zeros((9, 9), bool); m[0:2, 7:9] = True
        >>> place(m)
        'the top right'
    """
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return "nowhere"
    height, width = np.shape(mask)[:2]
    row = ROWS[min(2, int(3 * (rows.mean() + 0.5) / height))]
    col = COLUMNS[min(2, int(3 * (cols.mean() + 0.5) / width))]
    if (row, col) == ("middle", "centre"):
        return "the centre"
    if row == "middle":
        return f"the {col}"
    return f"the {row}" if col == "centre" else f"the {row} {col}"


def overlap(first: np.ndarray, second: np.ndarray) -> float:
    """The share of the smaller mask's pixels that lie in the other (0 when one is empty).

    Example:
        >>> a = np.array([True, True, False, False]); b = np.array([False, True, True, True])
        >>> overlap(a, b)
        0.5
    """
    smaller = min(int(np.count_nonzero(first)), int(np.count_nonzero(second)))
    return int(np.count_nonzero(first & second)) / smaller if smaller else 0.0


def _capital(name: str) -> str:
    """``name`` starting a sentence: "saliency" -> "Saliency" ("Grad-CAM" as it is)."""
    return name[:1].upper() + name[1:]


def listed(words: list[str]) -> str:
    """"a", "a and b", "a, b and c" ("" for none)."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


@dataclass(frozen=True)
class Agreement:
    """How the strongest parts of some maps lie and overlap.

    Attributes:
        names: the maps that have a strongest part (above zero somewhere), in the order given.
        places: where each one's strongest part lies, in words.
        shares: ``(first, second) ->`` the smaller part's share in the other (:func:`overlap`),
            for each pair of ``names``.
        pair_places: ``(first, second) ->`` where the two parts together lie, in words.
        empty: the maps that are zero everywhere (they show nothing).
        all_place: where all the strongest parts together lie, in words.
        share: the share of the pixels each strongest part holds.
    """

    names: tuple[str, ...]
    places: tuple[str, ...]
    shares: dict[tuple[str, str], float]
    pair_places: dict[tuple[str, str], str]
    empty: tuple[str, ...]
    all_place: str = "nowhere"
    share: float = SHARE

    def shared(self, first: str, second: str) -> float:
        """What two maps' strongest parts share (intersection over union)."""
        return self.shares.get((first, second), self.shares.get((second, first), 0.0))

    def agree(self, first: str, second: str) -> bool:
        """Whether two maps' strongest parts share at least :data:`AGREE`."""
        return self.shared(first, second) >= AGREE

    def sentence(self) -> str:
        """Where the maps agree and where they differ, in a learner's words.

        Example:
            >>> a = np.zeros((9, 9)); a[0:3, 6:9] = 1
            >>> b = np.zeros((9, 9)); b[6:9, 0:3] = 1
            >>> print(compare({"Grad-CAM": a, "saliency": b, "occlusion": a}).sentence())
            Grad-CAM and occlusion largely agree: they share 100% of their strongest pixels, in the top right. Saliency points to the bottom left: it shares 0% with Grad-CAM and 0% with occlusion. (A share counts the smaller part's pixels; two maps that knew nothing of each other would share about 10%.)
        """  # noqa: E501 (a doctest's output is one line)
        where = dict(zip(self.names, self.places, strict=True))
        parts = []
        if len(self.names) == 1:
            parts.append(f"Only {self.names[0]} shows anything here: its strongest part is in "
                         f"{self.places[0]}.")
        elif len(self.names) > 1:
            first, second = max(self.shares, key=self.shares.get)
            best = self.shares[(first, second)]
            rest = [name for name in self.names if name not in (first, second)]
            worst = min(self.shares.values())
            if len(self.names) > 2 and worst >= AGREE:
                how = "largely agree" if worst >= LARGELY else "agree"
                span = f"{worst:.0%}" if f"{worst:.0%}" == f"{best:.0%}" else (
                    f"{worst:.0%} to {best:.0%}")
                parts.append(f"All {len(self.names)} {how}: each two share {span} of their "
                             f"strongest pixels, in {self.all_place}.")
            elif best >= AGREE:
                how = "largely agree" if best >= LARGELY else "partly agree"
                parts.append(f"{_capital(first)} and {second} {how}: they share {best:.0%} of "
                             f"their strongest pixels, in {self.pair_places[(first, second)]}.")
                for name in rest:
                    parts.append(f"{_capital(name)} points to {where[name]}: it shares "
                                 f"{self.shared(name, first):.0%} with {first} and "
                                 f"{self.shared(name, second):.0%} with {second}.")
            elif len(set(self.places)) == 1:
                parts.append(f"{'All' if len(self.names) > 2 else 'Both'} point to "
                             f"{self.places[0]}, but to different pixels there: they share at "
                             f"most {best:.0%} of their strongest pixels.")
            else:
                said = listed([f"{name} {'points ' if i == 0 else ''}to {where[name]}"
                                for i, name in enumerate(self.names)])
                parts.append(f"They hardly agree: {said}; they share at most "
                             f"{best:.0%} of their strongest pixels.")
            parts.append(f"(A share counts the smaller part's pixels; two maps that knew "
                         f"nothing of each other would share about {chance(self.share):.0%}.)")
        for name in self.empty:
            parts.append(f"{_capital(name)} is zero everywhere: it shows nothing for this "
                         "class.")
        return " ".join(parts)


def compare(maps: Mapping[str, np.ndarray], share: float = SHARE) -> Agreement:
    """Compare the strongest parts of ``maps`` (name -> strength, all the same shape; e.g.
    :func:`where_maps`).

    Raises:
        ValueError: for maps of different shapes.
    """
    shapes = {np.shape(values) for values in maps.values()}
    if len(shapes) > 1:
        raise ValueError(f"the maps must have one shape; received {sorted(shapes)}")
    masks = {name: strongest(values, share) for name, values in maps.items()}
    names = tuple(name for name, mask in masks.items() if mask.any())
    shares, pair_places = {}, {}
    for first, second in itertools.combinations(names, 2):
        shares[(first, second)] = overlap(masks[first], masks[second])
        pair_places[(first, second)] = place(masks[first] | masks[second])
    everything = np.logical_or.reduce([masks[name] for name in names]) if names else None
    return Agreement(names, tuple(place(masks[name]) for name in names), shares, pair_places,
                     tuple(name for name in maps if name not in names),
                     "nowhere" if everything is None else place(everything), share)
