"""What shape arithmetic returns: one :class:`Row` per layer and the :class:`Summary`."""

from __future__ import annotations

from dataclasses import dataclass

from cnnlab.architecture.spec import Layer, Problem

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One row of the summary: a user's layer, an automatic Flatten, or the output head."""

    name: str
    type: str
    output_shape: Shape
    params: int
    macs: int
    formula: str
    position: int | None = None  # 1-based index in Architecture.layers; None when automatic
    auto: bool = False
    layer: Layer | None = None  # the spec layer (for the head: a dense softmax layer)
    receptive_field: tuple[int, int] | None = None
    jump: tuple[int, int] | None = None
    input_shape: Shape = ()


@dataclass(frozen=True)
class Summary:
    """Rows up to the first layer whose shape cannot be computed, and every problem found."""

    input_shape: tuple[int, int, int]
    num_classes: int
    rows: tuple[Row, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)
