"""safe_text returns printable text as it is (the fast path of every table the CLI prints):
that is only safe while every character it escapes is one Python calls unprintable."""

from __future__ import annotations

from grok_tui import text


def test_every_escaped_character_is_unprintable() -> None:
    escaped = [
        c
        for c in map(chr, range(0x110000))
        if text._UNSAFE_LINE.match(c) or text._UNSAFE_BLOCK.match(c)
    ]
    assert len(escaped) > 2000  # C0, C1, bidi, separators, surrogates
    assert not [c for c in escaped if c.isprintable()]


def test_printable_text_is_returned_unchanged_and_the_rest_escaped() -> None:
    assert text.safe_text("grok 1,200 · ünïcode") == "grok 1,200 · ünïcode"
    assert text.safe_text("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert text.safe_text("x\u202ey") == "x\\u202ey"
    assert text.safe_text("a\nb", multiline=True) == "a\nb"
    assert text.safe_text(1200) == "1200"
