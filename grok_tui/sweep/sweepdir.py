"""The sweep directory on disk: made from a sweep, read back (checked) by everyone else.

``<runs_dir>/<stamp>-sweep-<name>/`` holds ``sweep.json`` (id, file, mode, axes, points
with their coordinates and run ids, created), ``sweep.toml`` (the sweep file with its
``extends`` resolved) and one ordinary run directory per point, whose summary carries
``"sweep": {"id", "index", "coords"}``. A sweep directory may come from someone else, so
sweep.json is checked before its run ids are used as paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from grok_tui import files
from grok_tui.config import PresetError
from grok_tui.errors import SweepError, UserError, cut_text
from grok_tui.rundirs import ondisk, ownership, store
from grok_tui.rundirs.layout import SWEEP_JSON, SWEEP_TOML
from grok_tui.rundirs.layout import SWEEP_LOCK as LOCK_FILE
from grok_tui.sweep.labels import short_names
from grok_tui.sweep.spec import SWEEP_TABLE, Point, Sweep, read_raw, sweep_from_raw, value_key


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
        return [f for f, values in self.axes.items() if len({value_key(v) for v in values}) > 1]

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
    sweep: Sweep,
    points: Sequence[Point],
    runs_dir: str | Path = store.DEFAULT_RUNS_DIR,
    *,
    vectorize: int | str = 1,
) -> SweepDir:
    """Make ``<runs_dir>/<stamp>-sweep-<name>/`` with one created run directory per point.

    ``vectorize`` is recorded so that ``--resume`` regroups the points as they started."""
    runs_dir = Path(runs_dir)
    files.make_dirs(runs_dir)
    for _ in range(100):
        path = runs_dir / store.new_run_id(f"sweep-{sweep.name}", runs_dir)
        try:
            files.make_new_dir(path)
            break
        except FileExistsError:  # pragma: no cover - two sweeps in one millisecond
            continue
    else:  # pragma: no cover
        raise RuntimeError(f"could not create a sweep directory in {runs_dir}")
    try:  # a full disk (or Ctrl-C) midway leaves no sweep folder without its sweep.json
        sweep_id = path.name
        table: dict[str, Any] = {"mode": sweep.mode, **sweep.axes}
        if sweep.zip_groups:
            table["zip"] = sweep.zip_groups
        resolved = {**sweep.base, SWEEP_TABLE: table}
        files.write_text_atomic(path / SWEEP_TOML, tomli_w.dumps(resolved))
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
            "vectorize": vectorize,
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
    except BaseException:
        store.discard_new_dir(path)  # made above by this call, with all it holds
        raise
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
    made: list[tuple[dict[str, Any], Any, store.RunDir]] = []  # (entry, its old id, run)
    try:
        for entry in sweep_dir.info["points"]:
            if entry["index"] in missing and entry["index"] in points:
                run = create_point_run(sweep_dir.path, sweep_dir.sweep_id, points[entry["index"]])
                made.append((entry, entry.get("run_id"), run))
                entry["run_id"] = run.run_id
        store.write_json_atomic(sweep_dir.json_path, sweep_dir.info)
    except BaseException:  # a full disk: no run directory that sweep.json does not name
        for entry, old_id, run in made:
            store.discard_new_dir(run.path)
            entry["run_id"] = old_id
        raise
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
        raise SweepError(f"{path} is not a sweep directory (no {SWEEP_JSON})") from None
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
                f"run_id {cut_text(repr(run_id))} is not the name of a run directory "
                "inside the sweep",
                file=json_path,
                field=where,
            )
    if reason := ondisk.problem(ondisk.SweepInfo, info):  # every field to its bounds
        raise PresetError(reason, file=json_path)


@dataclass
class SweepListing:
    """A sweep directory as the list of sweeps shows it: read, or why it cannot be."""

    path: Path
    sweep: SweepDir | None
    unreadable: str | None = None  # shown, never fatal: it must not hide the other sweeps


def scan_sweeps(runs_dir: str | Path = store.DEFAULT_RUNS_DIR) -> list[SweepListing]:
    """Every sweep directory of a runs directory, oldest first, each read (checked) or
    with the reason it cannot be."""
    runs_dir = Path(runs_dir)
    try:
        entries = sorted(runs_dir.iterdir()) if runs_dir.is_dir() else []
    except OSError:
        return []
    found = []
    for entry in entries:
        if is_sweep_dir(entry):
            try:
                found.append(SweepListing(entry, read_sweep_dir(entry)))
            except UserError as exc:  # 'sweep.json: points[1]: coords is not a table'
                where = f"{exc.field}: " if exc.field else ""
                found.append(SweepListing(entry, None, f"{SWEEP_JSON}: {where}{exc.message}"))
    return found


def list_sweeps(runs_dir: str | Path = store.DEFAULT_RUNS_DIR) -> list[SweepDir]:
    """The sweep directories of a runs directory, oldest first (unreadable ones skipped)."""
    return [listing.sweep for listing in scan_sweeps(runs_dir) if listing.sweep is not None]


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
        raise SweepError(f"no sweep directory '{ref}' (looked in {runs_dir})")
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
    except UserError:
        return None
