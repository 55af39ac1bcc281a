"""Property-based fuzzing of the preset loader and the ``--set`` parser (hypothesis).

Whatever a file or an override holds, loading ends in a Preset or in a PresetError whose
every line names the file (or ``--set``): no other exception, no traceback, and no case
may take long (the deadline). GROK_TUI_FUZZ_EXAMPLES sets the generated cases of the
whole file (default 300, shared by its 4 properties; the explicit examples, the
campaign's findings, come on top); the example database is off so runs leave no files.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from grok_tui.config import (
    DataConfig,
    MLPConfig,
    OptimConfig,
    Preset,
    PresetError,
    RecurrentConfig,
    TrainConfig,
    TransformerConfig,
    apply_overrides,
    deep_merge,
    load_preset,
    parse_override,
)
from grok_tui.sweep import is_sweep_file, load_sweep
from tests.conftest import REPO, TINY_PRESET

# Its module-scoped fixture is built once: every test of the module on one test worker.
pytestmark = pytest.mark.xdist_group("fuzz-presets")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

EXAMPLES = int(os.environ.get("GROK_TUI_FUZZ_EXAMPLES", "300"))
PROPERTIES = 4
FUZZ = settings(
    max_examples=max(1, EXAMPLES // PROPERTIES),
    deadline=timedelta(milliseconds=500),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MODEL_FIELDS = {
    "transformer": list(TransformerConfig.model_fields),
    "mlp": list(MLPConfig.model_fields),
    "lstm": list(RecurrentConfig.model_fields),
}
SECTIONS = {
    "data": list(DataConfig.model_fields),
    "model": sorted({name for names in MODEL_FIELDS.values() for name in names}),
    "optim": [*OptimConfig.model_fields, "grokfast.kind", "grokfast.window", "grokfast.alpha"],
    "train": list(TrainConfig.model_fields),
}
FIELDS = [f"{section}.{name}" for section, names in SECTIONS.items() for name in names]
REAL_PRESETS = sorted(p.relative_to(REPO / "presets") for p in (REPO / "presets").rglob("*.toml"))
NASTY_INTS = [2**61 - 1, 2**127 - 1, 999_999_937 * 999_999_929, 2**64 - 1, 2**63, 1423, 65536]
WORDS = ["add", "div", "sum", "s5_xyx", "mlp", "lstm", "transformer", "full", "cpu", "ma", "sgd"]

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from(NASTY_INTS),
    st.floats(),  # nan and infinities included
    st.booleans(),
    text,
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from([f.split(".")[1] for f in FIELDS]), text)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
near_bounds = st.sampled_from(
    [0, 1, 2, -1, 11, 1409, 1414, 1423, 2**63 - 1, 2**63, 4096, 8192, 65536, 0.0, 0.5, 1.0, "full"]
)


def toml_text(value: Any) -> str:
    """A value as it would be written after `key = ` in TOML."""
    return tomli_w.dumps({"v": value})[4:].strip()


# TOML value texts, valid or not: what --set takes and what replaces a value in a file.
value_texts = st.one_of(
    st.one_of(near_bounds, scalars, values).map(toml_text),
    st.sampled_from(WORDS),
    st.sampled_from(["1e400", "nan", "-inf", "[[[", "{a = 1", "0x" + "f" * 300, "9" * 5000]),
    st.sampled_from([str(n) for n in NASTY_INTS]),
    st.integers(0, 600).map(lambda n: "[" * n + "]" * n),
    st.integers(0, 300).map(lambda n: "{a = " * n + "1" + "}" * n),
    text,
)


@st.composite
def preset_docs(draw: st.DrawFn) -> dict[str, Any]:
    """The tiny preset with a few fields changed: close to what is valid, often just past it;
    now and then a section that is not a table, a junk key or an extends."""
    doc = tomllib.loads(TINY_PRESET)
    family = draw(st.sampled_from(list(MODEL_FIELDS)))
    if family != "mlp":
        doc["model"] = {"type": family}
    fields = [f for f in FIELDS if not f.startswith("model.")]
    fields += [f"model.{name}" for name in MODEL_FIELDS[family] if name != "type"]
    known = st.sampled_from(fields)
    key = st.one_of(known, known, known, known, text.map(lambda t: f"data.{t}"))
    value = st.one_of(near_bounds, near_bounds, values, st.sampled_from(WORDS))
    for dotted, item in draw(st.lists(st.tuples(key, value), min_size=1, max_size=3)):
        *tables, name = dotted.split(".")
        table = doc
        for part in tables:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                break
        else:
            table[name] = item
    extra = draw(st.sampled_from([None, None, None, None, "section", "junk", "extends"]))
    if extra == "section":
        doc[draw(st.sampled_from(list(SECTIONS)))] = draw(scalars)
    elif extra == "junk":
        doc[draw(text)] = draw(values)
    elif extra == "extends":
        doc["extends"] = draw(values | text)
    return doc


# What mutations splice into real presets: TOML punctuation, bad bytes, nasty values.
SNIPPETS = [
    "\x00",
    "[",
    "]",
    "{",
    "}",
    "=",
    '"',
    "'",
    "\n",
    ".",
    ",",
    "#",
    "\ufeff",
    "\u2028",
    "extends = 'nope.toml'\n",
    "extends = '.'\n",
    "extends = '/dev/urandom'\n",
    f"extends = '{'x' * 5000}'\n",
    "p = 2305843009213693951\n",
    "p = 170141183460469231731687303715884105727\n",
    "seed = 18446744073709551615\n",
    "widths = [65536, 65536, 65536]\n",
    "d_model = 2048\nd_ff = 16384\nlayers = 12\n",
    "9" * 5000,
    "0x" + "f" * 2000,
    "a = " + "[" * 500 + "]" * 500 + "\n",
    "a = " + "{b = " * 400 + "1" + "}" * 400 + "\n",
    "[sweep]\n'train.seed' = [0, 1]\n",
    "[sweep]\n" + "".join(f"'train.x{i}' = {list(range(20))}\n" for i in range(6)),
]


mutations = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace"]),
            st.floats(min_value=0.0, max_value=1.0),
            st.sampled_from(SNIPPETS) | st.text(max_size=6),
        ),
        # a new value on one `key = value` line (any, or the first of a name): valid TOML
        st.tuples(st.just("value"), st.floats(min_value=0.0, max_value=1.0), value_texts),
        st.tuples(
            st.just("set"),
            st.just(0.0),
            st.tuples(
                st.sampled_from(sorted({f.rsplit(".")[-1] for f in FIELDS})), value_texts
            ).map(" = ".join),
        ),
        st.tuples(
            st.just("set"),
            st.just(0.0),
            st.tuples(
                st.sampled_from(sorted({f.rsplit(".")[-1] for f in FIELDS})), value_texts
            ).map(" = ".join),
        ),
    ),
    min_size=1,
    max_size=3,
)


def mutate(source: str, ops: list[tuple[str, float, str]]) -> str:
    for op, where, snippet in ops:
        at = int(where * len(source))
        if op == "set":
            name = snippet.split(" = ", 1)[0]
            lines = source.split("\n")
            for i, line in enumerate(lines):
                if line.split(" = ", 1)[0].strip() == name:
                    lines[i] = snippet
                    break
            source = "\n".join(lines)
        elif op == "value":
            lines = source.split("\n")
            assignments = [i for i, line in enumerate(lines) if " = " in line]
            if assignments:
                i = assignments[int(where * (len(assignments) - 1))]
                lines[i] = lines[i].split(" = ", 1)[0] + " = " + snippet
            source = "\n".join(lines)
        elif op == "insert":
            source = source[:at] + snippet + source[at:]
        elif op == "delete":
            source = source[:at] + source[at + len(snippet) + 1 :]
        else:
            source = source[:at] + snippet + source[at + len(snippet) :]
    return source


@pytest.fixture(scope="module")
def presets_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's presets, copied: mutated files sit beside them, extends still works."""
    root = tmp_path_factory.mktemp("fuzz") / "presets"
    shutil.copytree(REPO / "presets", root)
    return root


def check_error(exc: PresetError, files: tuple[str, ...]) -> None:
    """Every line of the message starts with one of `files` (or, from a base preset, another
    file), no line is a traceback or a flood."""
    assert isinstance(exc, PresetError)
    lines = str(exc).split("\n")
    assert lines and all(line and len(line) < 2000 for line in lines), str(exc)[:500]
    for line in lines:
        assert not line.startswith("<"), line  # '<preset>' or '<sweep>': no file named
        assert "Traceback" not in line
    if files:
        assert lines[0].startswith(files), (lines[0][:300], files)


def load_everything(path: Path, overrides: list[str], files: tuple[str, ...]) -> None:
    """What `grok-tui validate` does with a file: as a preset, and as a sweep when it is one."""
    try:
        assert isinstance(load_preset(path, overrides), Preset)
        event("preset")
    except PresetError as exc:
        check_error(exc, files)
        event(f"error: {exc.message.split(':')[0][:30]}")
    if is_sweep_file(path):
        try:
            load_sweep(path, overrides).points()
            event("sweep")
        except PresetError as exc:
            check_error(exc, files)
            event(f"sweep error: {exc.message.split(':')[0][:30]}")


def names(path: Path) -> tuple[str, ...]:
    return (str(path), str(path.resolve()), "--set")


def tiny_with(**sections: dict[str, Any]) -> dict[str, Any]:
    doc = tomllib.loads(TINY_PRESET)
    for name, fields in sections.items():
        doc[name].update(fields)
    return doc


@FUZZ
@given(doc=preset_docs())
# the campaign's findings always run: a huge prime froze validation, a huge seed crashed
# torch, huge widths exhausted memory
@example(doc=tiny_with(data={"p": 2**61 - 1}))
@example(doc=tiny_with(data={"p": 2**127 - 1}))
@example(doc=tiny_with(data={"p": 999_999_937 * 999_999_929}))
@example(doc=tiny_with(train={"seed": 2**64 - 1}))
@example(doc=tiny_with(model={"widths": [65536, 65536, 65536]}))
def test_generated_presets_load_or_fail_cleanly(doc: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "generated.toml"
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    # a generated extends may name any file: then the error may name that file
    load_everything(path, [], () if "extends" in doc else names(path))


QUICKSTART = Path("quickstart.toml")


@FUZZ
@given(preset=st.sampled_from(REAL_PRESETS), ops=mutations)
@example(preset=QUICKSTART, ops=[("set", 0.0, "p = 2305843009213693951")])
@example(preset=QUICKSTART, ops=[("insert", 0.0, "extends = '/dev/urandom'\n")])
@example(preset=QUICKSTART, ops=[("insert", 0.0, f"extends = '{'x' * 5000}'\n")])
@example(preset=QUICKSTART, ops=[("insert", 0.0, "a = " + "[" * 500 + "]" * 500 + "\n")])
@example(preset=QUICKSTART, ops=[("insert", 0.0, "a = 1\n\x00\n")])
@example(preset=QUICKSTART, ops=[("set", 0.0, "seed = 0x" + "f" * 2000)])
def test_mutated_real_presets_load_or_fail_cleanly(
    preset: Path, ops: list[tuple[str, float, str]], presets_copy: Path
) -> None:
    source = (presets_copy / preset).read_text(encoding="utf-8")
    path = presets_copy / preset.parent / "fuzz-case.toml"
    path.write_bytes(mutate(source, ops).encode("utf-8", "surrogatepass"))
    load_everything(path, [], ())  # an error may name a base preset of the chain


override_keys = st.one_of(
    st.sampled_from(FIELDS), st.sampled_from(FIELDS), text, st.just("a." * 80 + "b")
)
assignments = st.tuples(override_keys, value_texts).map(lambda kv: f"{kv[0]}={kv[1]}")
overrides = st.one_of(assignments, assignments, assignments, text)


@FUZZ
@given(assignments=st.lists(overrides, min_size=1, max_size=3))
@example(assignments=["data.p=2305843009213693951"])
@example(assignments=["data.p=" + "[" * 600 + "]" * 600])
@example(assignments=["train.seed=" + "9" * 5000])
@example(assignments=["a." * 80 + "b=1"])
def test_set_overrides_parse_and_load_or_fail_cleanly(
    assignments: list[str], tmp_path: Path
) -> None:
    for assignment in assignments:
        try:
            key, _ = parse_override(assignment)
        except PresetError as exc:
            assert exc.file == "--set"
            check_error(exc, ("--set",))
        else:
            assert key and key == assignment.split("=", 1)[0].strip()
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_PRESET, encoding="utf-8")
    load_everything(path, assignments, names(path))


def merge_one_by_one(raw: dict[str, Any], pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """apply_overrides as it was written first: one deep_merge per override."""
    for key, value in pairs:
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        raw = deep_merge(raw, nested)
    return raw


small_keys = st.sampled_from(["model", "train", "type", "steps", "epochs", "a", "b"])
trees = st.recursive(
    st.integers(0, 3) | st.sampled_from(["mlp", "lstm"]),
    lambda inner: st.dictionaries(small_keys, inner, max_size=3),
    max_leaves=10,
)


@FUZZ
@given(
    raw=st.dictionaries(small_keys, trees, max_size=4),
    pairs=st.lists(
        st.tuples(st.lists(small_keys, min_size=1, max_size=3).map(".".join), trees),
        max_size=6,
    ),
)
def test_apply_overrides_equals_one_merge_per_override(
    raw: dict[str, Any], pairs: list[tuple[str, Any]]
) -> None:
    """The in-place merge (linear in the overrides) gives what sequential merges gave, and
    changes neither the raw dict nor the override values."""
    before = repr((raw, pairs))
    keys = {key for key, _ in pairs}
    if {"train.steps", "train.epochs"} <= keys:  # refused before merging
        with pytest.raises(PresetError, match="not both"):
            apply_overrides(raw, pairs)
    else:
        assert apply_overrides(raw, pairs) == merge_one_by_one(raw, pairs)
    assert repr((raw, pairs)) == before
