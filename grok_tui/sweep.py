"""Sweeps: grids of presets described in one TOML file, and the sweep directory on disk.

A sweep file is a preset (or ``extends`` one) with a ``[sweep]`` table::

    extends = "../quickstart.toml"
    name = "lr-wd"

    [sweep]
    mode = "grid"                              # or "zip"; optional, grid by default
    "optim.lr" = [1e-4, 1e-3, 1e-2]
    "optim.weight_decay" = [0.0, 0.1, 1.0]

``mode``, ``zip`` and ``drop`` are the reserved keys of ``[sweep]``; every other key is a preset field
mapped to a non-empty list of values. A field may be written as a quoted dotted key
(``"optim.lr" = [...]``), a bare dotted key (``optim.lr = [...]``) or in a sub-table
(``[sweep.optim]`` then ``lr = [...]``): all three mean ``optim.lr``. A whole table can
be a value too (``model = [{type = "mlp"}, {type = "transformer"}]``).

- ``grid``: every combination, the first field varying slowest (3 x 3 = 9 points).
- ``zip``: the i-th values of every list together (the lists must be equally long).
- ``drop = ["optim.lr"]`` removes axes a sweep file inherits through ``extends`` (the
  field then keeps the base preset's value, or the child's own setting).
- a grid with zipped groups: ``zip = [["optim.lr", "optim.weight_decay"]]`` pairs the
  i-th values of those fields and crosses the pairs with the other axes (3 seeds x 2
  (lr, wd) pairs = 6 points); a group's lists must be equally long.

Every point is validated before anything is created; an invalid point is reported with
its coordinates and the line of the sweep file. A sweep directory
``<runs_dir>/<stamp>-sweep-<name>/`` holds ``sweep.json`` (id, file, mode, axes, points
with their coordinates and run ids, created), ``sweep.toml`` (the sweep file with its
``extends`` resolved) and one ordinary run directory per point, whose summary carries
``"sweep": {"id", "index", "coords"}``.

This module never imports torch: the TUI uses it (DESIGN.md rule 3). Execution is in
grok_tui.sweep_exec, tables and heatmaps in grok_tui.sweep_report.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from grok_tui import files, ownership, store
from grok_tui.config import (
    FieldLines,
    Preset,
    PresetError,
    PresetErrors,
    alternatives_of,
    apply_overrides,
    cut_text,
    flatten,
    locate_field,
    one_line,
    parse_override,
    resolve_extends,
    short_repr,
    validate_preset,
)

SWEEP_TABLE = "sweep"
SWEEP_JSON = "sweep.json"
SWEEP_TOML = "sweep.toml"
LOCK_FILE = ".sweep.lock"
MODES = ("grid", "zip")
RESERVED_KEYS = ("mode", "zip", "drop")
MAX_POINTS = 10_000
POINTS_CAP = 10**15  # count_points stops counting here: 2^50000 points would not even print
MAX_REPORTED_ERRORS = 20
MAX_SHOWN_COORDS = 8  # coordinates of a point in one error line

# Short names for run names and table headers: optim.weight_decay -> wd.
SHORT_NAMES = {
    "weight_decay": "wd",
    "train_fraction": "frac",
    "learning_rate": "lr",
    "split_seed": "split",
    "embed_dim": "emb",
    "hidden_size": "hidden",
    "batch_size": "batch",
    "include_op_tokens": "optok",
    "equals_token": "eq",
}


class SweepPointError(PresetError):
    """A schema error of one point, printed with the point's coordinates."""

    def __init__(
        self, error: PresetError, *, number: int, total: int, coords: Mapping[str, Any]
    ) -> None:
        self.number, self.total, self.coords = number, total, dict(coords)
        super().__init__(
            error.message, file=error.file, line=error.line, column=error.column, field=error.field
        )

    def __str__(self) -> str:
        where = self.file or "<sweep>"
        if self.line is not None:
            where += f":{self.line}"
        field_text = f"{cut_text(self.field, 100)}: " if self.field else ""
        shown = dict(itertools.islice(self.coords.items(), MAX_SHOWN_COORDS))
        coords = coords_text(shown)
        if len(self.coords) > len(shown):
            coords += f", ... ({len(self.coords) - len(shown)} more)"
        return one_line(
            f"{where}: point {self.number} of {self.total} ({cut_text(coords, 300)}): "
            f"{field_text}{self.message}"
        )


class SweepErrors(PresetErrors):
    """The errors of several points, reported together."""

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def error_text(exc: PresetError) -> str:
    """A PresetError for the user: without the '<preset>:' prefix when no file is involved."""
    if exc.file is None and not isinstance(exc, PresetErrors):
        return f"{exc.field}: {exc.message}" if exc.field else exc.message
    return str(exc)


# ---------------------------------------------------------------------------
# Values and names


def format_value(value: Any, _depth: int = 0) -> str:
    """A coordinate as a short word: 1e-4, 0.1, 256-256, mlp, true.

    Never raises: an int too long for str() is shown in hex, cut short; nesting beyond a
    few levels is shown as '...'.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 256:
        return cut_text(f"{value:#x}", 20)
    if _depth > 4 and isinstance(value, list | tuple | Mapping):
        return "..."
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        plain = f"{value:.6g}"
        mantissa, _, exponent = f"{value:.6e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        sci = f"{mantissa}e{int(exponent)}"
        return sci if len(sci) < len(plain) else plain
    if isinstance(value, list | tuple):
        return "-".join(format_value(v, _depth + 1) for v in value)
    if isinstance(value, Mapping):
        if "type" in value and len(value) == 1:
            return format_value(value["type"], _depth + 1)
        return "_".join(format_value(v, _depth + 1) for v in value.values())
    return str(value)


def short_names(fields: Sequence[str]) -> dict[str, str]:
    """Field -> short name (last part, abbreviated); the full name where two would clash."""
    short = {f: SHORT_NAMES.get(f.rsplit(".", 1)[-1], f.rsplit(".", 1)[-1]) for f in fields}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    return {f: (name if counts[name] == 1 else f) for f, name in short.items()}


def point_label(coords: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """lr=1e-4-wd=0.1: the part of a point's run name that tells it apart."""
    names = names or short_names(list(coords))
    return "-".join(f"{names.get(k, k)}={format_value(v)}" for k, v in coords.items())


def coords_text(coords: Mapping[str, Any]) -> str:
    """optim.lr=1e-4, optim.weight_decay=0.1: coordinates for messages."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in coords.items())


# ---------------------------------------------------------------------------
# Expansion


def axis_units(fields: Sequence[str], zip_groups: Sequence[Sequence[str]] = ()) -> list[list[str]]:
    """The axes a grid varies: each zip group as one (its fields in file order, at the place
    of its first field), every other field on its own. Linear in the number of fields."""
    group_of = {f: number for number, group in enumerate(zip_groups) for f in group}
    placed: dict[int, list[str]] = {}
    units: list[list[str]] = []
    for f in fields:
        number = group_of.get(f)
        if number is None:
            units.append([f])
            continue
        if number not in placed:
            placed[number] = []
            units.append(placed[number])
        placed[number].append(f)
    return units


def count_points(
    axes: Mapping[str, Sequence[Any]],
    mode: str = "grid",
    zip_groups: Sequence[Sequence[str]] = (),
) -> int:
    """How many points expand() gives, from the list lengths alone: nothing is built, so a
    20^6 grid is refused at once. Raises PresetError for an unknown mode or zipped lists of
    unequal lengths."""
    if mode not in MODES:
        raise PresetError(
            f"mode must be one of {', '.join(MODES)}, got {short_repr(mode)}", field="sweep.mode"
        )
    fields = list(axes)
    if not fields:
        return 0
    total = 1
    for unit in [fields] if mode == "zip" else axis_units(fields, zip_groups):
        lengths = [len(axes[f]) for f in unit]
        if len(set(lengths)) > 1:
            sizes = ", ".join(f"{f}: {n}" for f, n in zip(unit, lengths, strict=True))
            where = "sweep.mode" if mode == "zip" else "sweep.zip"
            raise PresetError(f"zip needs lists of one length; got {cut_text(sizes)}", field=where)
        total = min(total * lengths[0], POINTS_CAP)
    return total


def too_many_points(count: int) -> str | None:
    """The message for a sweep of more than MAX_POINTS points, else None."""
    if count <= MAX_POINTS:
        return None
    shown = f"more than {POINTS_CAP:.0e}" if count >= POINTS_CAP else f"{count:,}"
    return f"{shown} points; at most {MAX_POINTS:,} are allowed in one sweep"


def expand(
    axes: Mapping[str, Sequence[Any]],
    mode: str = "grid",
    zip_groups: Sequence[Sequence[str]] = (),
) -> list[dict[str, Any]]:
    """The coordinates of every point: a grid (first field slowest) or a zip.

    In a grid, each of ``zip_groups`` varies as one axis (the i-th values of its fields
    together), at the place of its first field. More than MAX_POINTS points are refused
    (field "sweep") before any is built.
    """
    if message := too_many_points(count_points(axes, mode, zip_groups)):
        raise PresetError(message, field=SWEEP_TABLE)
    fields = list(axes)
    if not fields:
        return []
    units = [fields] if mode == "zip" else axis_units(fields, zip_groups)
    unit_values = [list(zip(*[axes[f] for f in unit], strict=True)) for unit in units]
    points = []
    for combo in itertools.product(*unit_values):
        coords = {
            f: v
            for unit, values in zip(units, combo, strict=True)
            for f, v in zip(unit, values, strict=True)
        }
        points.append({f: coords[f] for f in fields})
    return points


def parse_zip_groups(value: Any, axes: Mapping[str, Any], mode: str) -> list[list[str]]:
    """``zip = [["optim.lr", "optim.weight_decay"], ...]``: checked against the axes."""
    if not (
        isinstance(value, list)
        and all(isinstance(g, list) and all(isinstance(f, str) for f in g) for g in value)
    ):
        raise ValueError(
            'zip takes a list of field groups, e.g. zip = [["optim.lr", "optim.weight_decay"]];'
            f" got {short_repr(value)}"
        )
    if mode != "grid":
        raise ValueError("zip groups pair some axes inside a grid; mode = 'zip' pairs them all")
    seen: set[str] = set()
    for group in value:
        if len(group) < 2:
            raise ValueError(
                f"a zip group names at least two swept fields, got {short_repr(group)}"
            )
        for f in group:
            if f not in axes:
                raise ValueError(
                    f"{cut_text(f)} in zip is not swept;"
                    f" swept here: {cut_text(', '.join(axes), 200)}"
                )
            if f in seen:
                raise ValueError(f"{cut_text(f)} is in two zip groups")
            seen.add(f)
    return [list(g) for g in value]


def parse_sweep_table(
    table: Any, *, files: Sequence[Path] = ()
) -> tuple[str, dict[str, list[Any]], list[list[str]]]:
    """(mode, {field: values}, zip groups) from a raw ``[sweep]`` table; errors name file and line."""
    file = files[0] if files else None

    def error(message: str, dotted: str) -> PresetError:
        line = _locate(files, dotted)
        return PresetError(message, file=_file_of(files, dotted) or file, line=line, field=dotted)

    if not isinstance(table, Mapping):
        raise error(f"[sweep] must be a table, got {short_repr(table)}", SWEEP_TABLE)
    mode = table.get("mode", "grid")
    if mode not in MODES:
        raise error(f"mode must be one of {', '.join(MODES)}, got {short_repr(mode)}", "sweep.mode")
    axes: dict[str, list[Any]] = {}
    for key, values in flatten({k: v for k, v in table.items() if k not in RESERVED_KEYS}).items():
        if not isinstance(values, list):
            raise error(
                "a swept field takes a list of values, e.g. [1e-4, 1e-3];"
                f" got {short_repr(values)}",
                f"sweep.{key}",
            )
        if not values:
            raise error("the list of values is empty", f"sweep.{key}")
        axes[key] = values
    if not axes:
        raise error(
            '[sweep] names no field to vary; add e.g. "optim.lr" = [1e-4, 1e-3]', SWEEP_TABLE
        )
    drop = table.get("drop", [])
    if not (isinstance(drop, list) and all(isinstance(f, str) for f in drop)):
        raise error(
            f'drop takes a list of swept fields, e.g. drop = ["optim.lr"]; got {short_repr(drop)}',
            "sweep.drop",
        )
    for dropped in drop:
        if dropped not in axes:
            raise error(
                f"{cut_text(dropped)} in drop is not swept;"
                f" swept here: {cut_text(', '.join(axes), 200)}",
                "sweep.drop",
            )
        del axes[dropped]
    if not axes:
        raise error("drop removes every swept field; keep at least one", "sweep.drop")
    for key in axes:
        for other in alternatives_of(key):
            if other in axes:
                raise error(f"{key} and {other} are both swept; sweep one of them", f"sweep.{key}")
    try:
        zip_groups = parse_zip_groups(table["zip"], axes, mode) if "zip" in table else []
    except ValueError as exc:
        raise error(str(exc), "sweep.zip") from None
    return mode, axes, zip_groups


def _locate(files: Sequence[Path | FieldLines], dotted: str) -> int | None:
    for file in files:
        line = file.line(dotted) if isinstance(file, FieldLines) else locate_field(file, dotted)
        if line is not None:
            return line
    return None


def _file_of(files: Sequence[Path | FieldLines], dotted: str) -> Path | None:
    for file in files:
        if isinstance(file, FieldLines):
            if file.line(dotted) is not None:
                return file.path
        elif locate_field(file, dotted) is not None:
            return file
    return None


@dataclass
class Point:
    """One point of a sweep: its number (1-based), coordinates and validated preset."""

    index: int
    coords: dict[str, Any]
    label: str
    preset: Preset


@dataclass
class Sweep:
    """A parsed sweep file: the base preset (raw, merged), the mode and the axes."""

    name: str
    mode: str
    axes: dict[str, list[Any]]
    base: dict[str, Any]
    file: Path | None = None
    files: list[Path] = field(default_factory=list)
    overrides: list[tuple[str, Any]] = field(default_factory=list)
    zip_groups: list[list[str]] = field(default_factory=list)  # zipped axes inside a grid

    def coords(self) -> list[dict[str, Any]]:
        return expand(self.axes, self.mode, self.zip_groups)

    def varying(self) -> list[str]:
        """The fields that take more than one value."""
        return [f for f, values in self.axes.items() if len({_key(v) for v in values}) > 1]

    def labels(self) -> dict[str, str]:
        return short_names(list(self.axes))

    def points(self) -> list[Point]:
        """Every point, validated; invalid points are reported together (the first
        MAX_REPORTED_ERRORS located in the files, the rest only counted)."""
        if message := too_many_points(count_points(self.axes, self.mode, self.zip_groups)):
            raise PresetError(message, file=self.file, field=SWEEP_TABLE)
        all_coords = self.coords()
        names = self.labels()
        overridden = {key for key, _ in self.overrides}
        points: list[Point] = []
        errors: list[PresetError] = []
        unshown = 0
        lines = [FieldLines(f) for f in self.files]  # each file read once, at the first error
        for number, coords in enumerate(all_coords, start=1):
            label = point_label(coords, names)
            raw = apply_overrides(self.base, list(coords.items()))
            raw["name"] = f"{self.base.get('name', 'sweep')}-{label}"[:80]
            located = len(errors) < MAX_REPORTED_ERRORS  # locating reads the files
            try:
                preset = validate_preset(raw, files=lines if located else [], overridden=overridden)
            except PresetError as exc:
                unshown += exc.hidden if isinstance(exc, PresetErrors) else 0
                for err in exc.errors if isinstance(exc, PresetErrors) else [exc]:
                    if len(errors) < MAX_REPORTED_ERRORS:
                        errors.append(
                            self._point_error(err, number, len(all_coords), coords, lines)
                        )
                    else:
                        unshown += 1
                continue
            points.append(Point(number, coords, label, preset))
        if errors:
            if unshown:
                errors.append(PresetError(f"... and {unshown} more errors", file=self.file))
            raise errors[0] if len(errors) == 1 else SweepErrors(errors)
        return points

    def _point_error(
        self,
        err: PresetError,
        number: int,
        total: int,
        coords: Mapping[str, Any],
        lines: Sequence[FieldLines] = (),
    ) -> SweepPointError:
        """Blame the sweep line of a swept field the error is about; else where it points."""
        for key in coords:
            name = err.field or ""
            if name == key or name.startswith(key + ".") or key.startswith(name + "."):
                dotted = f"{SWEEP_TABLE}.{key}"
                sources = lines or self.files
                err = PresetError(
                    err.message,
                    file=_file_of(sources, dotted) or self.file,
                    line=_locate(sources, dotted),
                    field=err.field,
                )
                break
        return SweepPointError(err, number=number, total=total, coords=coords)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def read_raw(path: str | Path) -> tuple[dict[str, Any], list[Path]]:
    """A TOML file with its ``extends`` chain merged, and the files it came from."""
    path = Path(path)
    raw, files = resolve_extends(path, ())
    raw.setdefault("name", path.stem)
    return raw, files


def is_sweep_file(path: str | Path) -> bool:
    """True when a TOML file (or a file it extends) has a ``[sweep]`` table.

    False for anything unreadable: loading it as a preset then gives the error.
    """
    try:
        raw, _ = read_raw(path)
    except (PresetError, OSError):
        return False
    return SWEEP_TABLE in raw


def sweep_from_raw(
    raw: Mapping[str, Any],
    *,
    files: Sequence[Path] = (),
    overrides: Iterable[str | tuple[str, Any]] = (),
) -> Sweep:
    """A Sweep from a merged raw dict (a preset with a [sweep] table) and overrides."""
    raw = dict(raw)
    files = [Path(f) for f in files]
    if SWEEP_TABLE not in raw:
        raise PresetError(
            "no [sweep] table: this is a preset, not a sweep", file=files[0] if files else None
        )
    mode, axes, zip_groups = parse_sweep_table(raw.pop(SWEEP_TABLE), files=files)
    pairs = [parse_override(o) if isinstance(o, str) else tuple(o) for o in overrides]
    for key, _ in pairs:
        same = {key, *alternatives_of(key)}  # --set train.epochs would undo a train.steps axis
        clash = [
            f
            for f in axes
            for k in same
            if f == k or f.startswith(k + ".") or k.startswith(f + ".")
        ]
        if clash:
            raise PresetError(
                f"{key} is swept ({clash[0]} in [sweep]); --set cannot also fix it", file="--set"
            )
    base = apply_overrides(raw, pairs)
    base.setdefault("name", files[0].stem if files else "sweep")
    try:  # unequal zip lengths and too many points fail here, before any point is built
        if message := too_many_points(count_points(axes, mode, zip_groups)):
            raise PresetError(message, field=SWEEP_TABLE)
    except PresetError as exc:
        raise PresetError(
            exc.message,
            file=_file_of(files, SWEEP_TABLE) or (files[0] if files else None),
            line=_locate(files, exc.field if exc.field == "sweep.zip" else SWEEP_TABLE),
            field=exc.field,
        ) from None
    return Sweep(
        name=str(base["name"]),
        mode=mode,
        axes=axes,
        base=base,
        file=files[0] if files else None,
        files=files,
        overrides=[(k, v) for k, v in pairs],
        zip_groups=zip_groups,
    )


def load_sweep(path: str | Path, overrides: Iterable[str | tuple[str, Any]] = ()) -> Sweep:
    """Read a sweep file (following ``extends``) and apply ``--set`` overrides to its base."""
    raw, files = read_raw(path)
    try:
        return sweep_from_raw(raw, files=files, overrides=overrides)
    except PresetError as exc:
        if exc.file is None:
            exc.file = str(path)
        raise


def describe_axes(
    mode: str, axes: Mapping[str, Sequence[Any]], zip_groups: Sequence[Sequence[str]] = ()
) -> str:
    """'optim.lr (2) x optim.weight_decay (2)'; a zipped group as '(a + b) (2)'."""
    if mode != "grid":
        return " + ".join(f"{f} ({len(v)})" for f, v in axes.items())
    return " x ".join(
        f"{unit[0] if len(unit) == 1 else '(' + ' + '.join(unit) + ')'} ({len(axes[unit[0]])})"
        for unit in axis_units(list(axes), zip_groups)
    )


def describe(sweep: Sweep, points: Sequence[Point]) -> str:
    """'grid of 4 points over optim.lr (2) x optim.weight_decay (2)'."""
    axes = describe_axes(sweep.mode, sweep.axes, sweep.zip_groups)
    return f"{sweep.mode} of {len(points)} points over {axes}"


def validation_verdict(name: str, overrides: Iterable[str] = ()) -> tuple[bool, list[str]]:
    """``grok-tui validate`` of a sweep file: (ok, the lines to print)."""
    try:
        sweep = load_sweep(name, list(overrides))
        points = sweep.points()
    except PresetError as exc:
        return False, [f"INVALID {name}", *(f"  {line}" for line in str(exc).splitlines())]
    return True, [f"ok      {name}: sweep {sweep.name} · {describe(sweep, points)}"]


# ---------------------------------------------------------------------------
# The sweep directory


@dataclass
class SweepPoint:
    """One point as recorded in sweep.json, with its run directory (None when missing)."""

    index: int
    coords: dict[str, Any]
    label: str
    run_id: str | None
    run: store.RunDir | None


@dataclass
class SweepDir:
    """A sweep directory: sweep.json and the run directories of its points."""

    path: Path
    info: dict[str, Any]

    @property
    def sweep_id(self) -> str:
        return str(self.info.get("id") or self.path.name)

    @property
    def name(self) -> str:
        return str(self.info.get("name") or self.sweep_id)

    @property
    def mode(self) -> str:
        return str(self.info.get("mode", "grid"))

    @property
    def axes(self) -> dict[str, list[Any]]:
        return dict(self.info.get("axes") or {})

    @property
    def zip_groups(self) -> list[list[str]]:
        return [list(g) for g in self.info.get("zip") or []]

    @property
    def json_path(self) -> Path:
        return self.path / SWEEP_JSON

    @property
    def toml_path(self) -> Path:
        return self.path / SWEEP_TOML

    def varying(self) -> list[str]:
        return [f for f, values in self.axes.items() if len({_key(v) for v in values}) > 1]

    def labels(self) -> dict[str, str]:
        return short_names(list(self.axes))

    def points(self) -> list[SweepPoint]:
        points = []
        for entry in self.info.get("points") or []:
            run_id = entry.get("run_id")
            run = store.RunDir(self.path / run_id) if run_id else None
            points.append(
                SweepPoint(
                    index=int(entry.get("index", len(points) + 1)),
                    coords=dict(entry.get("coords") or {}),
                    label=str(entry.get("label", "")),
                    run_id=run_id,
                    run=run if run is not None and run.exists() else None,
                )
            )
        return points

    def statuses(self) -> dict[int, str]:
        """Point number -> effective status ('missing' where the run directory is gone)."""
        return {
            p.index: store.effective_status(p.run.summary()) if p.run else "missing"
            for p in self.points()
        }


def create_sweep_dir(
    sweep: Sweep, points: Sequence[Point], runs_dir: str | Path = store.DEFAULT_RUNS_DIR
) -> SweepDir:
    """Make ``<runs_dir>/<stamp>-sweep-<name>/`` with one created run directory per point."""
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        path = runs_dir / store.new_run_id(f"sweep-{sweep.name}", runs_dir)
        try:
            path.mkdir()
            break
        except FileExistsError:  # pragma: no cover - two sweeps in one millisecond
            continue
    else:  # pragma: no cover
        raise RuntimeError(f"could not create a sweep directory in {runs_dir}")
    sweep_id = path.name
    table: dict[str, Any] = {"mode": sweep.mode, **sweep.axes}
    if sweep.zip_groups:
        table["zip"] = sweep.zip_groups
    resolved = {**sweep.base, SWEEP_TABLE: table}
    (path / SWEEP_TOML).write_text(tomli_w.dumps(resolved), encoding="utf-8")
    info: dict[str, Any] = {
        "id": sweep_id,
        "name": sweep.name,
        "file": str(sweep.file.resolve()) if sweep.file else None,
        "mode": sweep.mode,
        "axes": sweep.axes,
        "zip": sweep.zip_groups,
        "overrides": {k: v for k, v in sweep.overrides},
        "points": [],
        "created": store.now_iso(),
    }
    for point in points:
        run = create_point_run(path, sweep_id, point)
        info["points"].append(
            {
                "index": point.index,
                "coords": point.coords,
                "label": point.label,
                "run_id": run.run_id,
            }
        )
    store.write_json_atomic(path / SWEEP_JSON, info)
    return SweepDir(path, info)


def create_point_run(sweep_path: Path, sweep_id: str, point: Point) -> store.RunDir:
    return store.create_run(
        point.preset,
        sweep_path,
        extra={"sweep": {"id": sweep_id, "index": point.index, "coords": point.coords}},
    )


def recreate_missing(sweep_dir: SweepDir) -> list[int]:
    """Recreate the run directories of points that were deleted (from sweep.toml)."""
    missing = [p.index for p in sweep_dir.points() if p.run is None]
    if not missing:
        return []
    raw, files = read_raw(sweep_dir.toml_path)
    points = {p.index: p for p in sweep_from_raw(raw, files=files).points()}
    for entry in sweep_dir.info["points"]:
        if entry["index"] in missing and entry["index"] in points:
            entry["run_id"] = create_point_run(
                sweep_dir.path, sweep_dir.sweep_id, points[entry["index"]]
            ).run_id
    store.write_json_atomic(sweep_dir.json_path, sweep_dir.info)
    return missing


def is_sweep_dir(path: str | Path) -> bool:
    return files.is_real_dir(path) and files.is_regular(Path(path) / SWEEP_JSON)


# What a run id in sweep.json may be: a name that store.new_run_id makes, inside the sweep
# directory. A crafted "../elsewhere" or "/tmp/x" would send training outside it.
_RUN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")


def read_sweep_dir(path: str | Path) -> SweepDir:
    """A sweep directory whose sweep.json is checked: it may come from someone else."""
    path = Path(path)
    json_path = path / SWEEP_JSON
    try:
        info = json.loads(files.read_text(json_path, files.MAX_JSON_BYTES))
    except FileNotFoundError:
        raise PresetError(f"{path} is not a sweep directory (no {SWEEP_JSON})") from None
    except OSError as exc:
        raise PresetError(f"cannot read: {files.describe_os_error(exc)}", file=json_path) from None
    except (ValueError, RecursionError):
        raise PresetError("not valid JSON", file=json_path) from None
    if not isinstance(info, dict):
        raise PresetError("is not a sweep record (not a JSON object)", file=json_path)
    _check_sweep_info(info, json_path)
    return SweepDir(path, info)


def _check_sweep_info(info: dict[str, Any], json_path: Path) -> None:
    """The fields that points() and the executors rely on, with their types."""
    points = info.get("points") or []
    if not isinstance(points, list):
        raise PresetError("points is not a list", file=json_path, field="points")
    for key in ("axes",):
        if info.get(key) is not None and not isinstance(info[key], dict):
            raise PresetError(f"{key} is not a table", file=json_path, field=key)
    if info.get("zip") is not None and not isinstance(info["zip"], list):
        raise PresetError("zip is not a list", file=json_path, field="zip")
    for n, entry in enumerate(points, 1):
        where = f"points[{n}]"
        if not isinstance(entry, dict):
            raise PresetError("is not a table", file=json_path, field=where)
        index, run_id = entry.get("index", n), entry.get("run_id")
        if not isinstance(index, int) or isinstance(index, bool):
            raise PresetError("index is not a number", file=json_path, field=where)
        if entry.get("coords") is not None and not isinstance(entry["coords"], dict):
            raise PresetError("coords is not a table", file=json_path, field=where)
        if run_id is not None and (
            not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or run_id in (".", "..")
        ):
            raise PresetError(
                f"run_id {run_id!r} is not the name of a run directory inside the sweep",
                file=json_path,
                field=where,
            )


def list_sweeps(runs_dir: str | Path = store.DEFAULT_RUNS_DIR) -> list[SweepDir]:
    """The sweep directories of a runs directory, oldest first (unreadable ones skipped)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    sweeps = []
    for entry in sorted(runs_dir.iterdir()):
        if is_sweep_dir(entry):
            try:
                sweeps.append(read_sweep_dir(entry))
            except PresetError:
                continue
    return sweeps


def sweep_runner_pid(path: str | Path) -> int | None:
    """The pid of the live process training this sweep directory, or None.

    Proven, not read: the process named in the lock file must be alive with its recorded
    start time and hold the lock (ownership.live_holder); a pid left in a copied or crafted
    sweep directory, or reused by another process, gives None.
    """
    holder = ownership.live_holder(path, LOCK_FILE)
    return holder.pid if holder else None


def find_sweep(ref: str | Path, runs_dir: str | Path = store.DEFAULT_RUNS_DIR) -> SweepDir:
    """A sweep by path, by id, or by a unique part of its id."""
    if is_sweep_dir(ref):
        return read_sweep_dir(ref)
    sweeps = list_sweeps(runs_dir)
    matches = [s for s in sweeps if s.sweep_id == str(ref)] or [
        s for s in sweeps if str(ref) in s.sweep_id
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise PresetError(f"no sweep directory '{ref}' (looked in {runs_dir})")
    raise PresetError(
        f"'{ref}' matches {len(matches)} sweeps: {', '.join(s.sweep_id for s in matches[:5])}"
    )


def sweep_of_run(run_path: str | Path) -> SweepDir | None:
    """The sweep a run directory belongs to, or None."""
    parent = Path(run_path).parent
    if not is_sweep_dir(parent):
        return None
    try:
        return read_sweep_dir(parent)
    except PresetError:
        return None
