"""Where the maps agree (inspect.agreement): strongest parts, places in words, shares against
hand-counted masks, and the hand-set network whose only evidence for class 0 is a square near
the top right — Grad-CAM and occlusion both find it there, and the sentence says so."""

from __future__ import annotations

import handset
import numpy as np
import pytest

from cnnlab.inspect import agreement, attribution, occlusion


def test_the_strongest_part_is_the_top_share_above_zero():
    values = np.arange(100, dtype=np.float32).reshape(10, 10)
    mask = agreement.strongest(values, 0.1)
    assert mask.sum() == 10 and mask[9].all()  # the ten largest: the last row
    sparse = np.zeros((10, 10))
    sparse[2, 3], sparse[5, 5] = 1.0, 0.5
    assert np.array_equal(np.argwhere(agreement.strongest(sparse, 0.1)), [[2, 3], [5, 5]])
    assert not agreement.strongest(np.zeros((4, 4))).any()
    assert not agreement.strongest(-np.ones((4, 4))).any()  # below zero is no evidence


@pytest.mark.parametrize(("box", "words"), [
    ((0, 0, 3, 3), "the top left"), ((0, 3, 3, 6), "the top"), ((0, 6, 3, 9), "the top right"),
    ((3, 0, 6, 3), "the left"), ((3, 3, 6, 6), "the centre"), ((3, 6, 6, 9), "the right"),
    ((6, 0, 9, 3), "the bottom left"), ((6, 3, 9, 6), "the bottom"),
    ((6, 6, 9, 9), "the bottom right")])
def test_a_place_is_said_by_thirds(box, words):
    mask = np.zeros((9, 9), bool)
    top, left, bottom, right = box
    mask[top:bottom, left:right] = True
    assert agreement.place(mask) == words


def test_a_share_is_the_smaller_part_s_share_and_chance_is_what_random_parts_share():
    a, b = np.zeros((4, 4), bool), np.zeros((4, 4), bool)
    a[0, :2], b[0, 1:] = True, True  # 1 pixel of the smaller's 2 in common
    assert agreement.overlap(a, b) == agreement.overlap(b, a) == pytest.approx(0.5)
    assert agreement.overlap(a, np.zeros_like(a)) == 0.0
    b[1] = True  # the larger part grows; the smaller's pixel in it stays one of two
    assert agreement.overlap(a, b) == pytest.approx(0.5)
    rng = np.random.default_rng(0)
    shares = [agreement.overlap(rng.random((28, 28)) < 0.1, rng.random((28, 28)) < 0.1)
              for _ in range(400)]
    assert np.mean(shares) == pytest.approx(agreement.chance(0.1), abs=0.005)


def test_the_sentence_names_the_pair_that_agrees_and_the_one_that_does_not():
    top_right, bottom_left = np.zeros((30, 30)), np.zeros((30, 30))
    top_right[2:8, 20:28] = 1
    bottom_left[22:28, 2:8] = 1
    found = agreement.compare({"Grad-CAM": top_right, "saliency": bottom_left,
                               "occlusion": top_right * 0.5})
    assert found.names == ("Grad-CAM", "saliency", "occlusion") and not found.empty
    assert found.agree("Grad-CAM", "occlusion") and not found.agree("saliency", "occlusion")
    said = found.sentence()
    assert said.startswith("Grad-CAM and occlusion largely agree: they share 100% of their "
                           "strongest pixels, in the top right.")
    assert "Saliency points to the bottom left: it shares 0% with Grad-CAM" in said
    assert said.endswith("two maps that knew nothing of each other would share about 10%.)")
    everywhere = agreement.compare({"Grad-CAM": top_right, "saliency": top_right * 2,
                                    "occlusion": top_right * 0.5}).sentence()
    assert everywhere.startswith("All 3 largely agree: each two share 100% of their "
                                 "strongest pixels, in the top right.")


def test_the_sentence_for_maps_in_one_place_but_not_on_the_same_pixels_and_for_empty_maps():
    first, second = np.zeros((30, 30)), np.zeros((30, 30))
    first[10:20:2, 10:20] = 1  # even rows of the centre
    second[11:20:2, 10:20] = 1  # odd rows
    said = agreement.compare({"Grad-CAM": first, "occlusion": second,
                              "saliency": np.zeros((30, 30))}).sentence()
    assert said.startswith("Both point to the centre, but to different pixels there: they "
                           "share at most 0% of their strongest pixels.")
    assert said.endswith("Saliency is zero everywhere: it shows nothing for this class.")
    with pytest.raises(ValueError, match=r"one shape; received \[\(2, 2\), \(3, 3\)\]"):
        agreement.compare({"a": np.zeros((2, 2)), "b": np.zeros((3, 3))})


@pytest.mark.parametrize("layer", ["conv_1", "conv_2"])
def test_gradcam_and_occlusion_agree_on_the_hand_set_evidence(layer):
    model, summary = handset.model()
    image = handset.image()
    explained = attribution.Explainer(model, summary).explain(image, 0, layer)
    occluded = occlusion.Occluder(model, summary).map(image, 0, size=4)
    maps = agreement.where_maps(explained.gradcam, explained.gradient, occluded.heat)
    assert list(maps) == ["Grad-CAM", "saliency", "occlusion"]
    found = agreement.compare(maps)
    assert found.agree("Grad-CAM", "occlusion"), found.shares
    said = found.sentence()
    assert "in the top right." in said and (
        said.startswith("All 3 ") or said.startswith("Grad-CAM and occlusion ")), said
    for name in ("Grad-CAM", "occlusion"):
        mask = agreement.strongest(maps[name])
        assert handset.share_in(mask.astype(float), handset.SQUARE, margin=2) > 0.9
