"""The pictures an AppTest page shows, however they were sent — ``ui/images.py``'s inline HTML
(``st.html``) or ``st.image`` — in page order, each with its alternative text and caption."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Picture:
    alt: str | None  # None: no alt attribute at all (an empty string: marked decorative)
    caption: str | None
    inline: bool  # sent inside the page's HTML (True) or as an st.image media file


class _Figures(HTMLParser):
    """Every ``<img>`` of an HTML body, with the text of its ``<figure>``'s ``<figcaption>``."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[list] = []  # [alt, caption] per <img>
        self._figure: list | None = None  # the current figure's picture
        self._caption: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            picture = [dict(attrs).get("alt"), None]
            self.found.append(picture)
            if self._figure is not None:
                self._figure.append(picture)
        elif tag == "figure":
            self._figure = []
        elif tag == "figcaption":
            self._caption = []

    def handle_endtag(self, tag):
        if tag == "figcaption" and self._caption is not None and self._figure:
            for picture in self._figure:
                picture[1] = "".join(self._caption)
            self._caption = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data):
        if self._caption is not None:
            self._caption.append(data)


def in_html(body: str) -> list[Picture]:
    """The pictures of one HTML body (entities decoded, as a browser shows them)."""
    parser = _Figures()
    parser.feed(body)
    parser.close()
    return [Picture(alt, caption, True) for alt, caption in parser.found]


def shown(at, where: str = "main") -> list[Picture]:
    """Every picture of the page's ``main`` part (or ``sidebar``), in order."""
    found: list[Picture] = []
    for node in getattr(at, where):
        if getattr(node, "type", None) == "html":
            found += in_html(node.proto.body)
        elif getattr(node, "type", None) == "image":
            found += [Picture(img.alt if img.HasField("alt") else None, img.caption or None,
                              False) for img in node.proto.imgs]
    return found


def captions(at) -> list[str]:
    """The captions of the page's pictures, in order (pictures without one left out)."""
    return [picture.caption for picture in shown(at) if picture.caption is not None]
