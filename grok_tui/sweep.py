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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from grok_tui import store
from grok_tui.config import (
    Preset,
    PresetError,
    PresetErrors,
    alternatives_of,
    apply_overrides,
    flatten,
    locate_field,
    parse_override,
    resolve_extends,
    validate_preset,
)

SWEEP_TABLE = "sweep"
SWEEP_JSON = "sweep.json"
SWEEP_TOML = "sweep.toml"
LOCK_FILE = ".sweep.lock"
MODES = ("grid", "zip")
RESERVED_KEYS = ("mode", "zip", "drop")
MAX_POINTS = 10_000
MAX_REPORTED_ERRORS = 20

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
        field_text = f"{self.field}: " if self.field else ""
        return (
            f"{where}: point {self.number} of {self.total} ({coords_text(self.coords)}): "
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


def format_value(value: Any) -> str:
    """A coordinate as a short word: 1e-4, 0.1, 256-256, mlp, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        plain = f"{value:.6g}"
        mantissa, _, exponent = f"{value:.6e}".partition("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        sci = f"{mantissa}e{int(exponent)}"
        return sci if len(sci) < len(plain) else plain
    if isinstance(value, list | tuple):
        return "-".join(format_value(v) for v in value)
    if isinstance(value, Mapping):
        if "type" in value and len(value) == 1:
            return format_value(value["type"])
        return "_".join(format_value(v) for v in value.values())
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
    of its first field), every other field on its own."""
    group_of = {f: group for group in zip_groups for f in group}
    units: list[list[str]] = []
    for f in fields:
        group = group_of.get(f, [f])
        if f == next(g for g in fields if g in group):
            units.append([g for g in fields if g in group])
    return units


def expand(
    axes: Mapping[str, Sequence[Any]],
    mode: str = "grid",
    zip_groups: Sequence[Sequence[str]] = (),
) -> list[dict[str, Any]]:
    """The coordinates of every point: a grid (first field slowest) or a zip.

    In a grid, each of ``zip_groups`` varies as one axis (the i-th values of its fields
    together), at the place of its first field.
    """
    if mode not in MODES:
        raise PresetError(
            f"mode must be one of {', '.join(MODES)}, got {mode!r}", field="sweep.mode"
        )
    fields = list(axes)
    if not fields:
        return []
    units = [fields] if mode == "zip" else axis_units(fields, zip_groups)
    unit_values: list[list[tuple[Any, ...]]] = []
    for unit in units:
        lists = [list(axes[f]) for f in unit]
        if len({len(values) for values in lists}) > 1:
            sizes = ", ".join(f"{f}: {len(v)}" for f, v in zip(unit, lists, strict=True))
            where = "sweep.mode" if mode == "zip" else "sweep.zip"
            raise PresetError(f"zip needs lists of one length; got {sizes}", field=where)
        unit_values.append(list(zip(*lists, strict=True)))
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
            f" got {value!r}"
        )
    if mode != "grid":
        raise ValueError("zip groups pair some axes inside a grid; mode = 'zip' pairs them all")
    seen: set[str] = set()
    for group in value:
        if len(group) < 2:
            raise ValueError(f"a zip group names at least two swept fields, got {group}")
        for f in group:
            if f not in axes:
                raise ValueError(f"{f} in zip is not swept; swept here: {', '.join(axes)}")
            if f in seen:
                raise ValueError(f"{f} is in two zip groups")
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
        raise error(f"[sweep] must be a table, got {table!r}", SWEEP_TABLE)
    mode = table.get("mode", "grid")
    if mode not in MODES:
        raise error(f"mode must be one of {', '.join(MODES)}, got {mode!r}", "sweep.mode")
    axes: dict[str, list[Any]] = {}
    for key, values in flatten({k: v for k, v in table.items() if k not in RESERVED_KEYS}).items():
        if not isinstance(values, list):
            raise error(
                f"a swept field takes a list of values, e.g. [1e-4, 1e-3]; got {values!r}",
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
            f'drop takes a list of swept fields, e.g. drop = ["optim.lr"]; got {drop!r}',
            "sweep.drop",
        )
    for dropped in drop:
        if dropped not in axes:
            raise error(
                f"{dropped} in drop is not swept; swept here: {', '.join(axes)}", "sweep.drop"
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


def _locate(files: Sequence[Path], dotted: str) -> int | None:
    for file in files:
        line = locate_field(file, dotted)
        if line is not None:
            return line
    return None


def _file_of(files: Sequence[Path], dotted: str) -> Path | None:
    for file in files:
        if locate_field(file, dotted) is not None:
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
        """Every point, validated; all invalid points are reported together."""
        all_coords = self.coords()
        if len(all_coords) > MAX_POINTS:
            raise PresetError(
                f"{len(all_coords)} points; at most {MAX_POINTS} are allowed in one sweep",
                file=self.file,
                field=SWEEP_TABLE,
            )
        names = self.labels()
        overridden = {key for key, _ in self.overrides}
        points: list[Point] = []
        errors: list[PresetError] = []
        for number, coords in enumerate(all_coords, start=1):
            label = point_label(coords, names)
            raw = apply_overrides(self.base, list(coords.items()))
            raw["name"] = f"{self.base.get('name', 'sweep')}-{label}"[:80]
            try:
                preset = validate_preset(raw, files=self.files, overridden=overridden)
            except PresetError as exc:
                for err in exc.errors if isinstance(exc, PresetErrors) else [exc]:
                    errors.append(self._point_error(err, number, len(all_coords), coords))
                continue
            points.append(Point(number, coords, label, preset))
        if errors:
            shown = errors[:MAX_REPORTED_ERRORS]
            if len(errors) > len(shown):
                shown.append(
                    PresetError(f"... and {len(errors) - len(shown)} more errors", file=self.file)
                )
            raise shown[0] if len(shown) == 1 else SweepErrors(shown)
        return points

    def _point_error(
        self, err: PresetError, number: int, total: int, coords: Mapping[str, Any]
    ) -> SweepPointError:
        """Blame the sweep line of a swept field the error is about; else where it points."""
        for key in coords:
            name = err.field or ""
            if name == key or name.startswith(key + ".") or key.startswith(name + "."):
                dotted = f"{SWEEP_TABLE}.{key}"
                err = PresetError(
                    err.message,
                    file=_file_of(self.files, dotted) or self.file,
                    line=_locate(self.files, dotted),
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
    try:
        expand(axes, mode, zip_groups)  # unequal zip lengths fail here, before any point
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
    return (Path(path) / SWEEP_JSON).is_file()


def read_sweep_dir(path: str | Path) -> SweepDir:
    path = Path(path)
    try:
        info = json.loads((path / SWEEP_JSON).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PresetError(f"{path} is not a sweep directory (no {SWEEP_JSON})") from None
    except (OSError, ValueError) as exc:
        raise PresetError(f"cannot read {path / SWEEP_JSON}: {exc}") from None
    if not isinstance(info, dict):
        raise PresetError(f"{path / SWEEP_JSON} is not a sweep record")
    return SweepDir(path, info)


def list_sweeps(runs_dir: str | Path = store.DEFAULT_RUNS_DIR) -> list[SweepDir]:
    """The sweep directories of a runs directory, oldest first (unreadable ones skipped)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    sweeps = []
    for entry in sorted(runs_dir.iterdir()):
        if entry.is_dir() and is_sweep_dir(entry):
            try:
                sweeps.append(read_sweep_dir(entry))
            except PresetError:
                continue
    return sweeps


def sweep_runner_pid(path: str | Path) -> int | None:
    """The pid of the live process training this sweep directory (its lock file), or None.

    The lock file holds the pid while a process trains the sweep and is emptied when it
    ends; a pid left behind by a killed process is not alive and gives None.
    """
    try:
        text = (Path(path) / LOCK_FILE).read_text().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    pid = int(text)
    return pid if store.pid_alive(pid) else None


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
