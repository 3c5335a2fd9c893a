"""The network diagram: one block per row, labelled with its shape, valid SVG."""

import random
import xml.etree.ElementTree as ET

import pytest
from random_specs import random_valid_arch

from cnnlab.architecture import layer_types, presets, shapes, spec
from cnnlab.views import diagram

SVG = "{http://www.w3.org/2000/svg}"


def blocks(arch):
    root = ET.fromstring(diagram.network_svg(shapes.summarize(arch)))
    return [[t.text for t in g.findall(f"{SVG}text")] for g in root.iter(f"{SVG}g")]


def test_one_labelled_block_per_row_plus_input():
    labels = blocks(presets.get("two-conv"))
    assert labels[0] == ["input", "28×28×1"]
    assert labels[1] == ["conv_1", "26×26×32"]
    assert labels[-1] == ["output", "10"]
    assert len(labels) == 1 + len(shapes.summarize(presets.get("two-conv")).rows)


def test_block_size_follows_the_feature_map():
    def height(kernel):
        arch = spec.Architecture("k", (spec.make_layer("conv2d", filters=4, kernel_size=kernel),))
        root = ET.fromstring(diagram.network_svg(shapes.summarize(arch)))
        conv = list(root.iter(f"{SVG}g"))[1]
        ys = [float(p.split(",")[1]) for poly in conv.findall(f"{SVG}polygon")
              for p in poly.get("points").split()]
        return max(ys) - min(ys)

    assert height(3) > height(11)  # a 26x26 map is drawn taller than an 18x18 one


@pytest.mark.parametrize("seed", range(10))
def test_each_block_has_its_layer_types_colour(seed):
    summary = shapes.summarize(random_valid_arch(random.Random(seed)))
    root = ET.fromstring(diagram.network_svg(summary))
    groups = list(root.iter(f"{SVG}g"))[1:]
    assert len(groups) == len(summary.rows)
    for row, group in zip(summary.rows, groups, strict=True):
        fills = {shape.get("fill") for shape in group if shape.tag in (f"{SVG}polygon",
                                                                       f"{SVG}rect")}
        assert fills == {layer_types.REGISTRY[row.type].colour}, row.name
