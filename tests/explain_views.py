"""Shared pieces of the AppTests of issue 25's views (Fool it, Cover it up, Ask what it wants
to see): a page with a run, a section opened as a learner opens it, and the pixels of an
inline picture (ui/images.py) found by its caption."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 180


def page(path: str, run, **state) -> AppTest:
    """``path`` of the app with ``run`` as the current model and ``state`` set first."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.session_state["cnnlab"].add_run(run)
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def reopened(at: AppTest, path: str) -> AppTest:
    """Another browser session on ``at``'s workspace (its link), at ``path``."""
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    again.query_params["w"] = at.session_state["cnnlab"].workspace.token
    again.run()
    again.switch_page(path).run()
    assert not again.exception, again.exception
    return again


def opened(at: AppTest, key: str) -> AppTest:
    """The expander ``key`` opened (its state set, as a click sets it), the page rerun."""
    at.session_state[key] = True
    at.run()
    assert not at.exception, at.exception
    return at


def _figures(at: AppTest) -> list[tuple[str, str, str]]:
    """(caption, alt, src) of every inline picture of the page's main part."""
    found = []
    for node in at.main:
        if getattr(node, "type", None) != "html":
            continue
        for figure in re.findall(r"<figure.*?</figure>", node.proto.body, flags=re.S):
            src = re.search(r'src="([^"]+)"', figure).group(1)
            alt = re.search(r'alt="([^"]*)"', figure).group(1)
            caption = re.search(r"<figcaption[^>]*>(.*?)</figcaption>", figure, flags=re.S)
            found.append((html_text(caption.group(1)) if caption else "", html_text(alt), src))
    return found


def html_text(value: str) -> str:
    import html

    return html.unescape(value)


def captions(at: AppTest) -> list[str]:
    """The captions of the inline pictures, in page order."""
    return [caption for caption, _, _ in _figures(at)]


def alts(at: AppTest) -> list[str]:
    """The alternative texts of the inline pictures, in page order."""
    return [alt for _, alt, _ in _figures(at)]


def pixels(at: AppTest, caption: str | re.Pattern | None = None, alt: str | None = None
           ) -> np.ndarray:
    """The decoded pixels of the one inline picture whose caption starts with ``caption``
    (or matches the pattern), or whose alternative text starts with ``alt``."""
    matches = [src for text, alternative, src in _figures(at)
               if (alternative.startswith(alt) if alt is not None
                   else caption.search(text) if isinstance(caption, re.Pattern)
                   else text.startswith(caption))]
    assert len(matches) == 1, (caption or alt, captions(at), alts(at))
    data = base64.b64decode(matches[0].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)))


def texts(at: AppTest, kind: str) -> list[str]:
    """The values of every element of one kind (``"success"``, ``"warning"``, ``"info"``,
    ``"markdown"``, ``"caption"``, ``"error"``)."""
    return [element.value for element in getattr(at, kind)]
