"""Preset loading against hostile or mistaken input: each case ends at once in one clear
PresetError (file, line where known, field, what is allowed), never a traceback or a hang.

Tests of former hangs carry a timeout: before the fixes they froze (trial division of
2^61 - 1, reading a FIFO, a cubic regex, expanding a 20^6 grid).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grok_tui import config
from grok_tui.config import (
    MAX_EXTENDS_DEPTH,
    MAX_P,
    MAX_SEED,
    MAX_TOML_DEPTH,
    GiB,
    PresetError,
    PresetErrors,
    is_prime,
    load_preset,
    locate_field,
    memory,
    memory_estimate,
    nesting_depth,
    parse_override,
    preset_from_toml,
    validate_preset,
)
from grok_tui.sweep import (
    MAX_POINTS,
    axis_units,
    count_points,
    expand,
    format_value,
    is_sweep_file,
    load_sweep,
)
from grok_tui.tui.catalog import load_entry
from tests.conftest import REPO, TINY_PRESET

HUGE_PRIMES = [2**61 - 1, 2**127 - 1]
HUGE_P = [*HUGE_PRIMES, 999_999_937 * 999_999_929]  # the last: two ~1e9 primes


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, overrides: tuple[str, ...] = ()) -> PresetError:
    with pytest.raises(PresetError) as info:
        load_preset(path, overrides)
    return info.value


def assert_one_clear_line(error: PresetError, limit: int = 400) -> None:
    text = str(error)
    assert "\n" not in text and len(text) < limit, text[:1000]
    assert not text.startswith("<preset>")


# ---------------------------------------------------------------------------
# 1. A huge p


@pytest.mark.timeout(10)
def test_is_prime_is_exact_and_fast_for_any_size():
    sieve = [True] * 20_000
    sieve[0] = sieve[1] = False
    for n in range(2, math.isqrt(len(sieve)) + 1):
        sieve[n * n :: n] = [False] * len(sieve[n * n :: n])
    assert [n for n in range(len(sieve)) if is_prime(n)] == [
        n for n in range(len(sieve)) if sieve[n]
    ]
    assert is_prime(2**61 - 1) and is_prime(2**31 - 1) and is_prime(1_000_000_007)
    assert not is_prime(999_999_937 * 999_999_929)
    assert not is_prime(561)  # a Carmichael number
    assert not is_prime(3_825_123_056_546_413_051)  # strong pseudoprime to bases 2..23
    assert not is_prime(-7) and not is_prime(0) and not is_prime(1)
    with pytest.raises(ValueError, match="too large"):
        is_prime(2**127 - 1)  # past the deterministic range: refused, not guessed
    with pytest.raises(ValueError, match="too large"):
        is_prime(10**5000)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("p", HUGE_P)
def test_a_huge_p_in_a_file_is_refused_at_once_with_the_allowed_range(tmp_path, p):
    path = write(tmp_path / "big.toml", f"name = 'big'\n[data]\np = {p}\n")
    error = error_of(path)
    assert (error.field, error.line, error.file) == ("data.p", 3, str(path.resolve()))
    assert f"2..{MAX_P}" in error.message and f"(got {p})" in error.message
    assert_one_clear_line(error)


def test_p_up_to_the_bound_is_accepted_and_past_it_refused(tmp_path):
    path = write(tmp_path / "ok.toml", TINY_PRESET)
    assert MAX_P == math.isqrt(config.MAX_EXAMPLES) == 1414
    assert load_preset(path, ["data.p=1409"]).data.p == 1409  # the largest prime <= 1414
    assert error_of(path, ("data.p=1423",)).field == "data.p"  # prime, but too big


@pytest.mark.timeout(10)
@pytest.mark.parametrize("p", HUGE_P)
def test_a_huge_p_in_set_in_a_sweep_axis_and_in_the_preset_list(tmp_path, p):
    tiny = write(tmp_path / "tiny.toml", TINY_PRESET)
    error = error_of(tiny, (f"data.p={p}",))
    assert (error.file, error.field) == ("--set", "data.p")
    sweep = write(tmp_path / "s.toml", f"extends = 'tiny.toml'\n[sweep]\n'data.p' = [11, {p}]\n")
    with pytest.raises(PresetError) as info:
        load_sweep(sweep).points()
    assert "point 2 of 2" in str(info.value) and f"2..{MAX_P}" in str(info.value)
    assert info.value.line == 3
    bad = write(tmp_path / "bad.toml", f"[data]\np = {p}\n")
    entry = load_entry(bad, "test")  # the TUI's preset list
    assert entry.preset is None and "data.p" in entry.error


# ---------------------------------------------------------------------------
# 2. Files that are not regular files


@pytest.mark.timeout(10)
def test_a_fifo_as_preset_or_as_extends_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    error = error_of(fifo)
    assert error.file == str(fifo) and "cannot read: is not a regular file" in error.message
    child = write(tmp_path / "child.toml", "extends = 'fifo.toml'\n")
    assert "is not a regular file" in str(error_of(child))
    assert not is_sweep_file(fifo)


@pytest.mark.timeout(10)
@pytest.mark.parametrize("target", ["/dev/urandom", "/dev/zero", "."])
def test_a_device_or_a_directory_as_extends_is_refused(tmp_path, target):
    child = write(tmp_path / "child.toml", f"extends = '{target}'\n")
    error = error_of(child)
    assert "cannot read: is not a regular file" in error.message
    assert_one_clear_line(error)


def test_an_oversized_preset_is_refused(tmp_path):
    path = write(tmp_path / "big.toml", "# padding\n" * 200_000)  # 2 MB
    error = error_of(path)
    assert "cannot read" in error.message and "more than 1,048,576" in error.message


def test_linked_presets_and_bases_are_followed(tmp_path):
    (tmp_path / "real").mkdir()
    write(tmp_path / "real" / "tiny.toml", TINY_PRESET)
    (tmp_path / "link.toml").symlink_to(tmp_path / "real" / "tiny.toml")
    assert load_preset(tmp_path / "link.toml").data.p == 11
    write(tmp_path / "child.toml", "extends = 'link.toml'\n[data]\np = 13\n")
    assert load_preset(tmp_path / "child.toml").data.p == 13
    assert locate_field(tmp_path / "link.toml", "data.p") == 6


@pytest.mark.timeout(10)
def test_locating_a_field_is_linear_on_a_pathological_line(tmp_path):
    """A multi-line string may hold '[' and thousands of spaces: the old table pattern took
    a minute on 4000 of them."""
    text = 'description = """\n[' + " " * 20_000 + 'x\n"""\n[data]\np = 91\n'
    path = write(tmp_path / "slow.toml", text)
    started = time.perf_counter()
    error = error_of(path)
    assert (error.field, error.line) == ("data.p", 5)
    assert time.perf_counter() - started < 2


# ---------------------------------------------------------------------------
# 3. Bytes, names, chains and nesting that tracebacked


def test_nul_bytes_in_a_preset_in_extends_and_in_the_path(tmp_path):
    raw = tmp_path / "nul.toml"
    raw.write_bytes(b"name = 'x'\n\x00\n")
    error = error_of(raw)
    assert (error.line, error.file) == (2, str(raw.resolve()))
    escaped = write(tmp_path / "esc.toml", 'extends = "a\\u0000b"\n')
    error = error_of(escaped)
    assert (error.field, error.line) == ("extends", 1)
    assert "null byte" in error.message
    error = error_of(Path(str(tmp_path / "a\x00b.toml")))
    assert "cannot read" in error.message and "\x00" not in str(error)


def test_a_5000_character_extends_is_one_short_line(tmp_path):
    path = write(tmp_path / "long.toml", f"extends = '{'x' * 5000}'\n")
    error = error_of(path)
    assert (error.field, error.line) == ("extends", 1)
    assert "file name too long" in error.message
    assert_one_clear_line(error)


def chain(tmp_path: Path, length: int) -> Path:
    """file0 extends file1 ... extends file{length-1}: `length` files in all."""
    for i in range(length):
        base = f"extends = 'f{i + 1}.toml'\n" if i < length - 1 else TINY_PRESET
        write(tmp_path / f"f{i}.toml", base)
    return tmp_path / "f0.toml"


@pytest.mark.timeout(20)
def test_extends_chains_are_capped(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "long").mkdir()
    assert load_preset(chain(tmp_path / "ok", MAX_EXTENDS_DEPTH)).data.p == 11
    error = error_of(chain(tmp_path / "long", 400))
    assert error.field == "extends" and f"deeper than {MAX_EXTENDS_DEPTH}" in error.message
    assert_one_clear_line(error)


def test_a_symlink_loop_as_extends_or_as_the_preset(tmp_path):
    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    child = write(tmp_path / "child.toml", "extends = 'a.toml'\n")
    for path in (child, tmp_path / "a.toml"):
        error = error_of(path)
        assert "cannot" in error.message and "link" in error.message
        assert_one_clear_line(error)


@pytest.mark.parametrize(
    "value",
    [
        "[" * 1000 + "]" * 1000,
        "{b = " * 1000 + "1" + "}" * 1000,
        "[" * (MAX_TOML_DEPTH + 1) + "]" * (MAX_TOML_DEPTH + 1),
    ],
)
def test_deep_nesting_in_a_file_is_a_clear_error(tmp_path, value):
    path = write(tmp_path / "deep.toml", f"[data]\np = {value}\n")
    error = error_of(path)
    assert "nested too deeply" in error.message and error.file == str(path.resolve())
    with pytest.raises(PresetError, match="nested too deeply"):
        preset_from_toml(f"a = {value}\n")


def test_nesting_depth_counts_levels_without_recursing():
    assert nesting_depth(1) == 0
    assert nesting_depth({"a": [1, {"b": []}]}) == 4  # dict, list, dict, list
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep) > MAX_TOML_DEPTH


@pytest.mark.parametrize(
    ("assignment", "needle"),
    [
        ("data.p=" + "[" * 1000 + "]" * 1000, "nested too deeply"),
        ("data.p=" + "{a = " * 500 + "1" + "}" * 500, "nested too deeply"),
        ("a." * 100 + "b=1", "nested too deeply"),
        ("train.seed=" + "9" * 5000, "invalid value"),
    ],
)
def test_deep_or_huge_overrides_are_set_errors(tiny_preset_path, assignment, needle):
    with pytest.raises(PresetError) as info:
        parse_override(assignment)
    assert info.value.file == "--set" and needle in info.value.message
    assert_one_clear_line(info.value)
    assert error_of(tiny_preset_path, (assignment,)).file == "--set"


def test_a_huge_integer_in_a_file_is_a_clear_error(tmp_path):
    decimal = write(tmp_path / "dec.toml", f"[train]\nseed = {'9' * 5000}\n")
    assert "invalid value" in error_of(decimal).message
    hexa = write(tmp_path / "hex.toml", f"[train]\nseed = 0x{'f' * 5000}\n")
    error = error_of(hexa)  # parses, but str() of it would raise
    assert (error.field, error.line) == ("train.seed", 2)
    assert "integer of about 6021 digits" in error.message
    assert_one_clear_line(error)


def test_a_quoted_key_with_a_newline_stays_one_line(tmp_path):
    path = write(tmp_path / "nl.toml", '[data]\n"a\\nb" = 1\n')
    error = error_of(path)
    assert error.field == "data.a\nb"
    assert "data.a\\nb: unknown field" in str(error)
    assert_one_clear_line(error)


def test_many_errors_are_capped_and_counted(tmp_path):
    path = write(tmp_path / "many.toml", f"[model]\ntype = 'mlp'\nwidths = {['a'] * 100}\n")
    error = error_of(path)
    assert isinstance(error, PresetErrors)
    lines = str(error).splitlines()
    assert len(lines) == config.MAX_REPORTED_ERRORS + 1
    assert lines[-1].endswith("... and 80 more errors")


# ---------------------------------------------------------------------------
# 4. Values that validate but cannot run


@pytest.mark.parametrize("field", ["train.seed", "data.split_seed"])
def test_seeds_are_bounded_below_2_to_the_63(tiny_preset_path, field):
    assert load_preset(tiny_preset_path, [f"{field}={MAX_SEED}"]) is not None
    for seed in (2**63, 2**64 - 1, 2**64):
        error = error_of(tiny_preset_path, (f"{field}={seed}",))
        assert (error.file, error.field) == ("--set", field)
        assert "2^63 - 1" in error.message and "seed + 1" in error.message


def test_integers_past_2_to_the_63_are_refused_anywhere(tmp_path, tiny_preset_path):
    """An unbounded field took them, then writing the run's preset.toml raised (str() of an
    int over 4300 digits)."""
    path = write(tmp_path / "big.toml", f"[train]\neval_every = 0x{'f' * 300}\n")
    error = error_of(path)
    assert (error.field, error.line) == ("train.eval_every", 2)
    assert "at most 2^63 - 1" in error.message and "about 361 digits" in error.message
    error = error_of(tiny_preset_path, (f"train.keep_checkpoints=[1, {2**63}]",))
    assert (error.file, error.field) == ("--set", "train.keep_checkpoints.1")
    preset = load_preset(tiny_preset_path, [f"train.eval_every={MAX_SEED}"])
    assert f"eval_every = {MAX_SEED}" in preset.to_toml()


@pytest.fixture
def sixteen_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "physical_memory", lambda: 16 * GiB)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[model]\ntype = 'mlp'\nwidths = [65536, 65536, 65536]\n", "model.widths"),
        ("[model]\ntype = 'mlp'\nembed_dim = 4096\nwidths = [65536]\n", "model.widths"),
        ("[model]\nd_model = 2048\nd_ff = 16384\nlayers = 12\nheads = 8\n", "model.d_ff"),
        ("[model]\ntype = 'lstm'\nhidden_size = 8192\nlayers = 12\n", "model.hidden_size"),
        (
            "[data]\np = 1409\n[model]\nd_model = 1024\n[train]\nbatch_size = 'full'\n",
            "train.batch_size",
        ),
        (
            "[model]\nd_model = 2048\nheads = 8\n[optim.grokfast]\nkind = 'ma'\nwindow = 5000\n",
            "optim.grokfast.window",
        ),
    ],
    ids=["mlp-widths", "mlp-first-layer", "transformer", "lstm", "full-batch", "grokfast-ma"],
)
def test_a_preset_too_large_for_memory_names_the_field(tmp_path, sixteen_gib, text, field):
    path = write(tmp_path / "huge.toml", text)
    error = error_of(path)
    assert error.field == field
    assert error.line is not None and error.file == str(path.resolve())
    assert "GiB" in error.message and "more than the 16.0 GiB" in error.message
    assert_one_clear_line(error)


def test_memory_check_applies_to_set_and_sweep_points(tmp_path, sixteen_gib):
    tiny = write(tmp_path / "tiny.toml", TINY_PRESET)
    error = error_of(tiny, ("model.widths=[65536, 65536, 65536]",))
    assert (error.file, error.field) == ("--set", "model.widths")
    sweep = write(
        tmp_path / "s.toml",
        "extends = 'tiny.toml'\n[sweep]\n'model.widths' = [[32], [65536, 65536, 65536]]\n",
    )
    with pytest.raises(PresetError) as info:
        load_sweep(sweep).points()
    assert info.value.line == 3 and "point 2 of 2" in str(info.value)


def test_without_a_known_memory_size_there_is_no_check(tmp_path, monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    path = write(tmp_path / "huge.toml", "[model]\ntype = 'mlp'\nwidths = [65536, 65536]\n")
    assert load_preset(path).model.widths == [65536, 65536]


def test_memory_estimate_is_cheap_and_grows_with_the_model():
    small = preset_from_toml(TINY_PRESET)
    bigger = preset_from_toml(TINY_PRESET.replace("widths = [32]", "widths = [4096, 4096]"))
    assert 0 < memory_estimate(small) < 64 * 1024**2
    assert memory_estimate(bigger) > 4 * 4096 * 4096 * 4  # weights, grads, two moments
    started = time.perf_counter()
    for _ in range(1000):
        memory_estimate(bigger)
    assert (time.perf_counter() - started) / 1000 < 2e-4  # measured ~15 us


def test_every_shipped_preset_and_sweep_still_validates():
    for path in sorted((REPO / "presets").rglob("*.toml")):
        if is_sweep_file(path):
            assert load_sweep(path).points(), path
        else:
            validate_preset(load_preset(path).to_dict())


# ---------------------------------------------------------------------------
# 5. Sweep grids too large to build


@pytest.mark.timeout(10)
def test_a_huge_grid_is_refused_before_anything_is_built(tmp_path):
    axes = "".join(f"'train.x{i}' = {list(range(20))}\n" for i in range(6))
    path = write(tmp_path / "grid.toml", TINY_PRESET + "[sweep]\n" + axes)
    with pytest.raises(PresetError) as info:
        load_sweep(path)
    error = info.value
    assert (error.field, error.file) == ("sweep", str(path.resolve()))
    assert error.line is not None
    assert f"64,000,000 points; at most {MAX_POINTS:,}" in error.message
    with pytest.raises(PresetError, match="64,000,000 points"):
        expand({f"x{i}": range(20) for i in range(6)})


def test_count_points_matches_expand_without_building():
    axes = {"a": [1, 2, 3], "b": [4, 5], "c": [6, 7, 8], "d": [9]}
    assert count_points(axes) == len(expand(axes)) == 18
    assert count_points(axes, "grid", [["a", "c"]]) == len(expand(axes, "grid", [["a", "c"]]))
    assert count_points({"a": [1, 2], "b": [3, 4]}, "zip") == 2
    assert count_points({f"x{i}": [0, 1] for i in range(60_000)}) == 10**15  # capped, fast
    with pytest.raises(PresetError, match="one length"):
        count_points({"a": [1], "b": [1, 2]}, "zip")


@pytest.mark.timeout(10)
def test_axis_units_are_linear_in_the_number_of_fields():
    fields = [f"f{i}" for i in range(50_000)]
    units = axis_units(fields, [["f3", "f1"], ["f49999", "f0"]])
    assert units[0] == ["f0", "f49999"] and units[1] == ["f1", "f3"] and units[2] == ["f2"]
    assert len(units) == 49_998


def test_odd_coordinates_format_without_raising():
    assert format_value(16**3000).startswith("0x") and len(format_value(16**3000)) <= 20
    deep: list = [1]
    for _ in range(5000):
        deep = [deep]
    assert "..." in format_value(deep)


# ---------------------------------------------------------------------------
# 6. The command line


@pytest.mark.timeout(60)
def test_validate_answers_nasty_files_with_exit_2_and_no_traceback(tmp_path):
    big = write(tmp_path / "big.toml", f"[data]\np = {2**127 - 1}\n")
    deep = write(tmp_path / "deep.toml", "a = " + "[" * 1000 + "]" * 1000 + "\n")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    long = write(tmp_path / "long.toml", f"extends = '{'x' * 5000}'\n")
    grid = write(
        tmp_path / "grid.toml",
        "[sweep]\n" + "".join(f"'train.x{i}' = {list(range(20))}\n" for i in range(6)),
    )
    files = [big, deep, fifo, long, grid, tmp_path / "urandom.toml"]
    write(files[-1], "extends = '/dev/urandom'\n")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "grok_tui", "validate", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=tmp_path,
    )
    assert time.perf_counter() - started < 30
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "Traceback" not in out
    assert out.count("INVALID ") == len(files), out
    assert f"data.p: p must be a prime in 2..{MAX_P}" in out
