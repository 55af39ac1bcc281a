"""Editing a preset file's own text (views/toml_edit.py) and what Save as writes and
proposes (tui/preset_text.py): comments, order and layout kept; no default added."""

from __future__ import annotations

from pathlib import Path

from grok_tui.config import load_preset, parse_toml, with_overrides
from grok_tui.tui.preset_text import file_text, free_path
from grok_tui.tui.views.toml_edit import remove_key, set_key, stated

TEXT = """\
# a comment on top
name = "hand"  # its name
description = \"\"\"
two lines,
with a # that is no comment\"\"\"

[data]
p = 7   # small

[model]
type = "mlp"
widths = [32]
"""


def test_set_key_rewrites_only_its_line_and_keeps_its_comment() -> None:
    edited = set_key(TEXT, "data.p", 11)
    assert edited == TEXT.replace("p = 7   # small", "p = 11   # small")


def test_a_multi_line_value_is_one_statement() -> None:
    edited = set_key(TEXT, "description", "one line")
    assert edited is not None and 'description = "one line"\n\n[data]' in edited
    assert parse_toml(edited)["data"]["p"] == 7 and stated(TEXT, "description")


def test_a_key_the_file_did_not_state_goes_into_its_table_or_a_new_one() -> None:
    edited = set_key(TEXT, "model.embed_dim", 16)
    assert edited == TEXT.replace("widths = [32]\n", "widths = [32]\nembed_dim = 16\n")
    added = set_key(TEXT, "optim.lr", 0.01)
    assert added == TEXT + "\n[optim]\nlr = 0.01\n"
    top = set_key(TEXT, "extends", "base.toml")
    assert top is not None and parse_toml(top)["extends"] == "base.toml"
    assert top.startswith("# a comment on top\nname = ")  # the rest as it was


def test_remove_key_drops_only_its_lines() -> None:
    assert remove_key(TEXT, "model.widths") == TEXT.replace("widths = [32]\n", "")
    assert remove_key(TEXT, "optim.lr") is None  # not stated: nothing to remove


def test_what_text_alone_cannot_edit_is_left_to_the_caller() -> None:
    assert set_key('"quoted key" = 1\n', "x", 2) is None
    assert set_key("[[runs]]\nx = 1\n", "y", 2) is None


HAND = """\
# by hand
name = "hand"

[data]
p = 7  # small

[model]
type = "mlp"
embed_dim = 16
widths = [32]

[optim]
lr = 3e-3
"""


def test_saving_into_its_own_file_edits_its_text(tmp_path: Path) -> None:
    hand = tmp_path / "hand.toml"
    hand.write_text(HAND)
    preset = with_overrides(load_preset(hand), [("optim.lr", 0.01)])
    assert file_text(preset, hand, hand) == HAND.replace("lr = 3e-3", "lr = 0.01")
    # another model family: the type changed, its old fields gone, no default written
    other = with_overrides(load_preset(hand), [("model.type", "transformer")])
    text = file_text(other, hand, hand)
    assert 'type = "transformer"' in text and "embed_dim" not in text
    assert "d_model" not in text and "heads" not in text
    hand.write_text(text)
    assert load_preset(hand) == other


def test_a_new_file_extends_the_one_shown_with_only_what_differs(tmp_path: Path) -> None:
    hand = tmp_path / "hand.toml"
    hand.write_text(HAND)
    preset = with_overrides(load_preset(hand), [("data.p", 11), ("name", "eleven")])
    target = tmp_path / "eleven.toml"
    text = file_text(preset, target, hand)
    assert text.endswith('extends = "hand.toml"\nname = "eleven"\n\n[data]\np = 11\n')
    target.write_text(text)
    assert load_preset(target) == preset


def test_the_name_proposed_is_never_a_file_nor_the_one_shown(tmp_path: Path) -> None:
    (tmp_path / "hand.toml").write_text(HAND)
    (tmp_path / "hand-2.toml").write_text(HAND)
    assert free_path(tmp_path, "hand", tmp_path / "hand.toml") == tmp_path / "hand-3.toml"
    assert free_path(tmp_path, "other", tmp_path / "hand.toml") == tmp_path / "other.toml"
    shown = tmp_path / "shipped" / "quickstart.toml"  # not in this folder, yet shown
    assert free_path(tmp_path, "quickstart", shown) == tmp_path / "quickstart-2.toml"
