"""Inline pictures (ui/images.py): data URIs that decode to the picture given, alternative text
and captions escaped, never a media file."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from ui import images


def decoded(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))


def test_a_picture_round_trips_through_its_data_uri():
    grey = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28, 1)
    colour = np.random.default_rng(0).integers(0, 256, (8, 6, 3), np.uint8)
    assert np.array_equal(decoded(images.data_uri(grey)), grey[..., 0])
    assert np.array_equal(decoded(images.data_uri(colour)), colour)
    assert np.array_equal(decoded(images.data_uri(np.ones((2, 2)))), np.full((2, 2), 255))


def test_alternative_text_and_captions_are_escaped():
    hostile = '"><img src=x onerror=alert(1)> [a](http://example.invalid)'
    page = images.grid_html([np.zeros((4, 4), np.uint8)], alts=[hostile], captions=[hostile])
    assert "<img src=x" not in page and page.count("<img ") == 1
    alt = re.search(r'alt="([^"]*)"', page).group(1)
    assert alt == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt; [a](http://example.invalid)"


def test_counts_must_match_and_large_pictures_belong_elsewhere():
    with pytest.raises(ValueError, match="one alternative text"):
        images.grid_html([np.zeros((4, 4), np.uint8)] * 2, alts=["one"])
    noise = np.random.default_rng(1).integers(0, 256, (300, 300, 3), np.uint8)
    with pytest.raises(ValueError, match="show it with st.image"):
        images.data_uri(noise)


def test_a_large_picture_in_a_grid_is_sent_as_a_thumbnail():
    """A data set's 512×512 photos (shown 64 px wide) would pass the inline limit as they are."""
    noise = np.random.default_rng(2).integers(0, 256, (512, 384, 3), np.uint8)
    page = images.grid_html([noise, noise[:20, :10]], alts=["big", "small"], width=64)
    sent = [decoded(uri) for uri in re.findall(r'src="(data:[^"]+)"', page)]
    assert [s.shape for s in sent] == [(128, 96, 3), (20, 10, 3)]
    reference = Image.fromarray(noise).resize((96, 128), Image.Resampling.BILINEAR)
    assert np.array_equal(sent[0], np.asarray(reference))
