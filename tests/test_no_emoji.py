"""No text the app shows needs a font the browser may lack (issue 22).

Debian's Chromium has no emoji font: 🟢, 🗑, 👈 and 🎲 showed as empty boxes. Icons come from
Streamlit's Material icons (``:material/…:``, ``icon=``), which Streamlit ships as a web font;
words say the rest. Every string literal in the code that draws the pages (docstrings aside)
is checked for characters of the emoji, pictograph, dingbat, arrow and symbol blocks, and for
emoji shortcodes (``:smile:``) that Streamlit's Markdown turns into emoji. The few symbols
allowed are checked against DejaVu Sans, the font Chromium falls back to on Debian (the same
file matplotlib ships).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOWN = [ROOT / "app.py", ROOT / "serve.py", *sorted((ROOT / "pages").glob("*.py")),
         *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "cnnlab").rglob("*.py"))]
BLOCKS = {  # Unicode blocks of pictographic symbols: (first, last) code point
    "letterlike symbols (™, ℹ)": (0x2100, 0x214F),
    "arrows": (0x2190, 0x21FF),
    "miscellaneous technical (⌛, ⏳)": (0x2300, 0x23FF),
    "enclosed alphanumerics": (0x2460, 0x24FF),
    "geometric shapes (■, ▶)": (0x25A0, 0x25FF),
    "miscellaneous symbols (⚠, ⚙)": (0x2600, 0x26FF),
    "dingbats (✓, ✗)": (0x2700, 0x27BF),
    "supplemental arrows": (0x27F0, 0x27FF),
    "supplemental arrows B": (0x2900, 0x297F),
    "miscellaneous symbols and arrows (⬇)": (0x2B00, 0x2BFF),
    "emoji and pictographs": (0x1F000, 0x1FAFF),
    "variation selectors (emoji style)": (0xFE00, 0xFE0F),
    "zero-width joiner": (0x200D, 0x200D),
    "keycap": (0x20E3, 0x20E3),
}
# Symbols of those blocks that DejaVu Sans draws and that read as text, not as pictures:
# the formulas' arrow and floor/ceiling brackets.
ALLOWED = set("→⌈⌉⌊⌋")
# Typography used in the app's words and formulas, also outside those blocks.
COMMON = set("×→–—…·≤≥−²³±°‘’“”⌈⌉⌊⌋′γβ")
SHORTCODE = re.compile(r"(?<![\w/:]):[a-z0-9_+-]+:(?![\w\[/])")  # :smile:, not :material/x:


def _block(char: str) -> str | None:
    point = ord(char)
    return next((name for name, (first, last) in BLOCKS.items() if first <= point <= last),
                None)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (never shown on a page)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value,
                                                                     ast.Constant):
                found.add(id(body[0].value))
    return found


def shown_strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module with its line, f-strings' literal parts included,
    docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs]


def pictographs(text: str) -> list[str]:
    """The characters of ``text`` that need a symbol or emoji font, with their block."""
    return [f"{char!r} U+{ord(char):04X} ({block})" for char in text
            if char not in ALLOWED and (block := _block(char)) is not None]


def test_the_check_finds_what_showed_as_boxes():
    for emoji in "🟢🗑👈🎲🧮⬇▶■⚠✓✗⏳🧠":
        assert pictographs(f"x {emoji} y"), emoji
    assert pictographs("⚙️")  # with its emoji variation selector
    assert not pictographs("28×28 → 26×26 · ⌊(n − k) / s⌋ + 1 – about 3 s…")
    assert SHORTCODE.search("well done :tada:")
    assert not SHORTCODE.search(":material/check: :green[ok] at 12:30:15 http://x:8501/")


@pytest.mark.parametrize("path", SHOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_emoji_or_pictograph_in_what_the_app_shows(path):
    found = [f"{path.relative_to(ROOT)}:{line}: {found}" for line, text in shown_strings(path)
             for found in pictographs(text) + [f"emoji shortcode {m.group()}"
                                               for m in SHORTCODE.finditer(text)]]
    assert not found, "use :material/…: icons or words:\n" + "\n".join(found)


def test_no_emoji_in_the_pages_own_scripts():
    scripts = sorted((ROOT / "ui" / "static").glob("*.js"))
    assert scripts  # the live chart's element
    found = [f"{path.relative_to(ROOT)}: {found}" for path in scripts
             for found in pictographs(path.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


def test_every_symbol_the_app_uses_is_in_debians_fallback_font():
    from fontTools.ttLib import TTFont
    from matplotlib import font_manager

    dejavu = TTFont(font_manager.findfont("DejaVu Sans", fallback_to_default=False))
    drawn = set(dejavu.getBestCmap())
    used = {char for path in SHOWN for _, text in shown_strings(path) for char in text
            if ord(char) > 0x7F}
    missing = sorted(char for char in used | ALLOWED | COMMON if ord(char) not in drawn)
    assert not missing, f"not in DejaVu Sans: {missing}"
