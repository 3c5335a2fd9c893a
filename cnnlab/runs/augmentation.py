"""Augmentation strengths by name: a run's ``Hyperparameters.augment``, checked here without
TensorFlow; :mod:`cnnlab.training.augment` applies them while training.

Three strengths, one name each (the run's ``Hyperparameters.augment``):

============  ===================  =================  =================
name          shift (each axis)    rotation           zoom (each axis)
============  ===================  =================  =================
``off``       none                 none               none
``light``     up to 10 % of side   up to 10 degrees   up to 10 % in/out
``strong``    up to 20 % of side   up to 20 degrees   up to 25 % in/out
============  ===================  =================  =================

Example:
    >>> check("light")
    'light'
    >>> STRENGTHS["strong"].rotation_degrees
    20.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Strength:
    """How far each random change may go; 0 switches it off.

    Attributes:
        shift: the largest shift along each axis, as a fraction of the image's side.
        rotation_degrees: the largest rotation either way, in degrees.
        zoom: the largest zoom in or out along each axis, as a fraction of the side.
    """

    shift: float
    rotation_degrees: float
    zoom: float

    @property
    def active(self) -> bool:
        """Whether anything changes at all."""
        return bool(self.shift or self.rotation_degrees or self.zoom)


STRENGTHS = {
    "off": Strength(0.0, 0.0, 0.0),
    "light": Strength(0.10, 10.0, 0.10),
    "strong": Strength(0.20, 20.0, 0.25),
}
NAMES = tuple(STRENGTHS)  # the one list: records, the Train page and the CLI


def check(name: Any) -> str:
    """``name`` if it names a strength; otherwise a ``ValueError`` that lists the names."""
    if not isinstance(name, str) or name not in STRENGTHS:
        raise ValueError(f"augment must be one of {', '.join(NAMES)}; received {name!r}")
    return name


def describe(name: str) -> str:
    """One line for people: ``"shifts up to 10 %, rotations up to 10°, zoom up to 10 %"``."""
    s = STRENGTHS[check(name)]
    if not s.active:
        return "no augmentation: every epoch sees the training images as they are"
    return (f"shifts up to {s.shift:.0%}, rotations up to {s.rotation_degrees:g}°, "
            f"zoom up to {s.zoom:.0%}")
