"""Inline pictures (ui/images.py): data URIs that decode to the picture given, alternative text
and captions escaped, never a media file."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pictures
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from ui import images, text


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
def test_a_cell_grows_to_keep_its_caption_on_one_line_and_presentation_mode_enlarges_it():
    """Captions of 64 px cells wrapped as "true 2 →" / "7" in presentation mode (issue 22)."""
    from ui import layout

    page = images.grid_html([np.zeros((4, 4), np.uint8)], alts=["a"], captions=["2 → 7"],
                            width=64)
    figure = re.search(r'<figure [^>]*style="([^"]*)"', page).group(1)
    assert "min-width:64px" in figure and "width:max-content" in figure
    assert "max-width:192px" in figure
    assert f'<figcaption class="{images.CAPTION_CLASS}"' in page  # presentation mode's
    assert "overflow-wrap:break-word" in page and "anywhere" not in page
    assert f"figcaption.{images.CAPTION_CLASS}" in layout._PRESENTATION_CSS


def test_one_picture_keeps_its_pixels_size_alt_and_caption():
    rgb = np.random.default_rng(3).integers(0, 256, (30, 40, 3), np.uint8)
    page = images.picture_html(rgb, alt='layer "conv_1": 32 maps', caption="<b>x</b> · 1 < 2")
    assert np.array_equal(decoded(re.search(r'src="(data:[^"]+)"', page).group(1)), rgb)
    assert 'width="40"' in page and "max-width:100%" in page  # its own width, never wider
    assert [(p.alt, p.caption) for p in pictures.in_html(page)] == [
        ('layer "conv_1": 32 maps', "<b>x</b> · 1 < 2")]  # as a browser reads them
    assert "<b>" not in page
    shown = images.picture_html(np.zeros((8, 8)), alt="grey", width=64)
    assert 'width="64"' in shown and "figcaption" not in shown


def test_empty_alternative_text_is_refused():
    for alt in ("", "  \n"):
        with pytest.raises(ValueError, match="alternative text"):
            images.picture_html(np.zeros((4, 4), np.uint8), alt=alt)
        with pytest.raises(ValueError, match="alternative text"):
            images.grid_html([np.zeros((4, 4), np.uint8)], alts=[alt])


def test_a_grid_takes_float_pictures_and_says_which_is_which():
    page = images.grid_html([np.full((4, 4), 0.5), np.ones((2, 3))], alts=["half", "white"],
                            captions=["#1", "#2"], width=20)
    sent = [decoded(uri) for uri in re.findall(r'src="(data:[^"]+)"', page)]
    assert [s.tolist() for s in sent] == [np.full((4, 4), 128).tolist(),
                                          np.full((2, 3), 255).tolist()]
    assert [(p.alt, p.caption) for p in pictures.in_html(page)] == [("half", "#1"),
                                                                    ("white", "#2")]


def _large_picture_script():
    import numpy as np

    from ui import images

    noise = np.random.default_rng(1).integers(0, 256, (300, 300, 3), np.uint8)
    images.picture(noise, alt="noise, 300×300", caption="**not bold** [x](y)")
    images.picture(noise[:8, :8], alt="a corner of it")


def test_a_picture_too_large_to_inline_goes_to_st_image_with_its_alt():
    """Past MAX_INLINE_BYTES the picture is an st.image media file, with the same alternative
    text and the caption still literal (st.image's captions are Markdown)."""
    at = AppTest.from_function(_large_picture_script).run()
    assert not at.exception, at.exception
    shown = pictures.shown(at)
    assert [(p.alt, p.inline) for p in shown] == [("noise, 300×300", False),
                                                  ("a corner of it", True)]
    assert shown[0].caption == text.md("**not bold** [x](y)")
