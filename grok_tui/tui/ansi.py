"""plotext's ANSI output as Textual Content, in one pass.

textual-plotext decodes a chart with Rich (Text.from_ansi), then Textual converts that
Text to Content, span by span: together more time than plotext takes to build the chart
(a 60x30 pane carries hundreds of colour runs). A chart uses a handful of distinct
colour sequences, so each is decoded once by Rich itself and cached: the Content is the
one that the two-step path gives (tests/tui/test_live_overview.py compares them).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from rich.text import Text
from textual.content import Content, Span
from textual.style import Style

SGR = re.compile(r"\x1b\[([0-9;]*)m")
RESET = ("", "0")


@functools.lru_cache(maxsize=512)
def _style(codes: tuple[str, ...], ansi_theme: Any) -> Style | None:
    """The style that Rich gives text after these SGR sequences (None: no style)."""
    sample = Text.from_ansi("".join(f"\x1b[{c}m" for c in codes) + "x")
    if not sample.spans:
        return None
    return Style.from_rich_style(sample.spans[0].style, ansi_theme)  # type: ignore[arg-type]


def ansi_content(ansi: str, ansi_theme: Any = None) -> Content:
    """Content.from_rich_text(Text.from_ansi(ansi)), for text whose only escapes are SGR."""
    plain: list[str] = []
    spans: list[Span] = []
    codes: tuple[str, ...] = ()
    position = 0
    for line_number, line in enumerate(ansi.split("\n")):
        if line_number:
            plain.append("\n")
            position += 1
        start = 0
        for match in SGR.finditer(line):
            position = _add(line[start : match.start()], codes, ansi_theme, plain, spans, position)
            code = match.group(1)
            codes = () if code in RESET else (*codes, code)
            start = match.end()
        position = _add(line[start:], codes, ansi_theme, plain, spans, position)
    return Content("".join(plain), spans)


def _add(
    text: str,
    codes: tuple[str, ...],
    ansi_theme: Any,
    plain: list[str],
    spans: list[Span],
    position: int,
) -> int:
    if not text:
        return position
    plain.append(text)
    end = position + len(text)
    style = _style(codes, ansi_theme) if codes else None
    if style is not None:
        spans.append(Span(position, end, style))
    return end
