"""A sweep file to validated points: the ``[sweep]`` table, its axes and every point's preset.

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
  field then keeps the base preset's value, or the child's own setting), and takes them
  out of the zip groups they were in.
- a grid with zipped groups: ``zip = [["optim.lr", "optim.weight_decay"]]`` pairs the
  i-th values of those fields and crosses the pairs with the other axes (3 seeds x 2
  (lr, wd) pairs = 6 points); a group's lists must be equally long.

Every point is validated before anything is created; an invalid point is reported with
its coordinates and the line of the sweep file.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from grok_tui.sweep.labels import axis_units, coords_text, describe, point_label, short_names

SWEEP_TABLE = "sweep"
MODES = ("grid", "zip")
RESERVED_KEYS = ("mode", "zip", "drop")
MAX_POINTS = 10_000
POINTS_CAP = 10**15  # count_points stops counting here: 2^50000 points would not even print
MAX_REPORTED_ERRORS = 20
MAX_SHOWN_COORDS = 8  # coordinates of a point in one error line


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
    zips = table.get("zip")
    if drop and isinstance(zips, list):
        # a dropped field leaves its zip group too, and a group left with one field goes
        trimmed = []
        for group in zips:
            if isinstance(group, list) and any(f in drop for f in group):
                group = [f for f in group if f not in drop]
                if len(group) < 2:
                    continue
            trimmed.append(group)
        zips = trimmed
    try:
        zip_groups = parse_zip_groups(zips, axes, mode) if "zip" in table else []
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
        return [f for f, values in self.axes.items() if len({value_key(v) for v in values}) > 1]

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


def value_key(value: Any) -> str:
    """A value as a string that equal values share (a dict or list cannot be a dict key)."""
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


def validation_verdict(name: str, overrides: Iterable[str] = ()) -> tuple[bool, list[str]]:
    """``grok-tui validate`` of a sweep file: (ok, the lines to print)."""
    try:
        sweep = load_sweep(name, list(overrides))
        points = sweep.points()
    except PresetError as exc:
        return False, [f"INVALID {name}", *(f"  {line}" for line in str(exc).splitlines())]
    return True, [f"ok      {name}: sweep {sweep.name} · {describe(sweep, points)}"]


SEED_FIELDS = {"seeds": "train.seed", "split_seeds": "data.split_seed"}
MAX_SEEDS = 10_000


def with_seeds(
    path: str | Path,
    overrides: Iterable[str | tuple[str, Any]] = (),
    *,
    seeds: int | None = None,
    split_seeds: int | None = None,
) -> Sweep:
    """``--run FILE --seeds N --split-seeds M``: the preset (or sweep) file crossed with N
    consecutive train.seed values from its own, and M data.split_seed values from its own.

    A preset file becomes a grid sweep of N x M points; a sweep file gains the seed axes
    (a zip sweep's points stay paired and each is crossed with the seeds). A field that the
    file sweeps already cannot be given seeds too.
    """
    counts = {"seeds": seeds, "split_seeds": split_seeds}
    for option, count in counts.items():
        if count is not None and not 1 <= count <= MAX_SEEDS:
            flag = "--" + option.replace("_", "-")
            raise PresetError(f"{flag} takes a count from 1 to {MAX_SEEDS}, got {count}")
    raw, files = read_raw(path)
    pairs = [parse_override(o) if isinstance(o, str) else tuple(o) for o in overrides]
    table = dict(raw.get(SWEEP_TABLE) or {})

    def build(sweep_table: dict[str, Any], point_overrides: list[tuple[str, Any]]) -> Sweep:
        try:
            return sweep_from_raw(
                {**raw, SWEEP_TABLE: sweep_table}, files=files, overrides=point_overrides
            )
        except PresetError as exc:
            if exc.file is None:
                exc.file = str(path)
            raise

    if table.get("mode", "grid") == "zip":
        # A zip sweep keeps its points: checked as written (its errors as without seeds),
        # its axes become one zip group of the grid the seeds cross.
        as_written = build(dict(table), pairs)
        table["mode"] = "grid"
        if len(as_written.axes) > 1:
            table["zip"] = [list(as_written.axes)]
    swept = set(flatten({k: v for k, v in table.items() if k not in RESERVED_KEYS}))
    set_here = dict(pairs)
    for option, count in counts.items():
        dotted = SEED_FIELDS[option]
        if count is None:
            continue
        if dotted in swept:
            raise PresetError(
                f"{dotted} is swept in [sweep] already; --{option.replace('_', '-')} "
                "cannot sweep it too",
                file=path,
                field=f"sweep.{dotted}",
            )
        section, name = dotted.split(".")
        start = set_here.get(dotted, (raw.get(section) or {}).get(name, 0))
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            start = 0  # the point's own validation names the bad value
        table[dotted] = list(range(start, start + count))
        pairs = [(k, v) for k, v in pairs if k != dotted]  # --set gave the first seed
    table.setdefault("mode", "grid")
    return build(table, pairs)
