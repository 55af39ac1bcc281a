"""Live logging to TensorBoard, Weights & Biases and MLflow: one engine sink per tracker.

Opt-in: ``[train] log_to = ["tensorboard", "wandb", "mlflow"]`` in a preset, or
``--log-to tensorboard,wandb`` on ``grok-tui run`` (it sets that field) and ``resume`` (it
adds trackers to the frozen preset's for the session); runner.execute builds the sinks.
Each tracker gets:

- at the start, the resolved preset flattened to dotted names (``optim.lr``) as its
  hyperparameters (TensorBoard: the HParams plugin and the preset as text; W&B: config;
  MLflow: params), and the run id as its run's name (W&B: its id too, so that a resumed
  run continues its W&B run; MLflow finds its run again by the ``grok_tui.run_id`` tag);
- at every evaluation, every numeric field of the record at its step, under the tags of
  ``grok-tui export --tensorboard`` (``train/acc``, ``test/loss``, ``optim/lr``,
  ``weights/param_norm``, ``other/<measure>``...) and the smoothed steps/s;
- at the end, the events (fit_step, grok_step, grok_gap, best test accuracy), the status
  and the run's note, as summary and tags.

A tracker never stops or slows the training: each sink hands its calls to a thread of its
own (the step loop only puts them in a queue, so a tracker that waits on a network waits
there), a library that is not installed is one line at the start, and a tracker that
raises is turned off with one warning line while the run goes on. At the end each is
given up to FINISH_WAIT_S seconds (GROK_TUI_TRACKER_WAIT) to finish.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import json
import math
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grok_tui.config import Preset, flatten
from grok_tui.config.schema import TRACKERS
from grok_tui.formats import tfevents as tb
from grok_tui.rundirs import store
from grok_tui.text import safe_text

TB_DIR = "tensorboard"  # RUN_DIR/tensorboard/: one event file per training session
PROJECT = "grok-tui"  # W&B's project and MLflow's experiment unless the environment names one
RUN_ID_TAG = "grok_tui.run_id"
FINISH_WAIT_ENV = "GROK_TUI_TRACKER_WAIT"
FINISH_WAIT_S = 60.0
MAX_PENDING = 10_000  # calls waiting for a tracker's thread; past that, records are dropped
# module to import -> what to install, for the trackers that need a library
LIBRARIES = {"wandb": ("wandb", "pip install wandb"), "mlflow": ("mlflow", "pip install mlflow")}
# summary fields every tracker gets at the end (those that are numbers)
END_FIELDS = (
    "fit_step",
    "grok_step",
    "grok_gap",
    "best_test_acc",
    "best_test_acc_step",
    "grok_step_precision",
)
MLFLOW_STATUS = {"completed": "FINISHED", "failed": "FAILED", "diverged": "FAILED"}

Warn = Callable[[str], None]


def _stderr(line: str) -> None:
    print(safe_text(line), file=sys.stderr, flush=True)


def parse_log_to(text: str) -> list[str]:
    """``--log-to``'s value, "tensorboard,wandb" -> ["tensorboard", "wandb"]; a ValueError
    names a tracker that is not one (with the closest one)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"--log-to names no tracker: give one or more of {', '.join(TRACKERS)}")
    for name in names:
        if name not in TRACKERS:
            close = difflib.get_close_matches(name, TRACKERS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(
                f"--log-to: {name!r} is not a tracker{hint}; give one or more of "
                f"{', '.join(TRACKERS)}, separated by commas"
            )
    return list(dict.fromkeys(names))


def hparams_of(preset: Preset) -> dict[str, Any]:
    """The resolved preset as dotted names; lists as their JSON text (trackers' hyper-
    parameters are numbers, booleans and strings)."""
    return {
        key: json.dumps(value) if isinstance(value, list | dict) else value
        for key, value in flatten(preset.to_dict()).items()
    }


def metrics_of(record: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, float]:
    """A record's finite numbers (all but its step) by the export's tags, with the
    smoothed steps/s of the summary."""
    both = {**record, "steps_per_s": summary.get("steps_per_s")}
    out = {}
    for key, value in both.items():
        if key == "step" or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        out[tb.TAGS.get(key, f"other/{key}")] = value
    return out


def end_facts(summary: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: summary[k]
        for k in END_FIELDS
        if isinstance(summary.get(k), int | float) and not isinstance(summary.get(k), bool)
    }


@dataclass
class Context:
    """What every tracker of a run needs: the preset, the run, where its runs folder is."""

    preset: Preset
    run: store.RunDir
    runs_dir: Path
    group: str | None = None  # the sweep a run belongs to
    warn: Warn = _stderr


class Tracker:
    """One tracker's engine sink. The engine's calls never block and never raise: each is
    put in a queue that the tracker's thread works through (start, record, end); an
    exception there turns the tracker off, said in one line."""

    name = ""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.off = False
        self._queue: queue.Queue[Any] = queue.Queue(MAX_PENDING)
        self._thread: threading.Thread | None = None
        self._dropped = 0
        self._ended = False

    # -- what a tracker does, on its thread ----------------------------------------------
    def start(self, info: dict[str, Any]) -> None:
        raise NotImplementedError

    def record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        raise NotImplementedError

    def end(self, summary: dict[str, Any]) -> None:
        raise NotImplementedError

    def abandon(self) -> None:
        """After a failure: let go of what the tracker holds (best effort)."""

    def prepare(self) -> None:
        """Before the first step, on the engine's thread: import the library. Its import is
        seconds of Python (wandb, mlflow) that would otherwise compete with the first
        steps for the interpreter; no network is waited on here."""

    # -- the engine's side ---------------------------------------------------------------
    def on_start(self, info: dict[str, Any]) -> None:
        try:
            self.prepare()
            self._thread = threading.Thread(
                target=self._work, name=f"grok-tui {self.name}", daemon=True
            )
            self._thread.start()
        except Exception as exc:  # no thread to be had: the run goes on without it
            self._fail(exc)
            return
        self._submit(self.start, dict(info))

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        self._submit(self.record, dict(record), dict(summary))

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def on_snapshot(self, step: int, weights: dict[str, Any]) -> None:
        pass

    def on_end(self, summary: dict[str, Any]) -> None:
        if self._ended or self._thread is None:
            return
        self._ended = True
        self._submit(self.end, dict(summary))
        self._finish()

    def _submit(self, method: Callable[..., None], *args: Any) -> None:
        if self.off or self._thread is None:
            return
        try:
            self._queue.put_nowait((method, args))
        except queue.Full:
            self._dropped += 1
            if self._dropped == 1:
                self.ctx.warn(
                    f"warning: {self.name} is {MAX_PENDING} calls behind; records are "
                    "dropped until it catches up"
                )

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.off:
                continue
            method, args = item
            try:
                method(*args)
            except BaseException as exc:  # whatever a library raises, the run goes on
                self._fail(exc)
                with contextlib.suppress(BaseException):  # already said: nothing more to do
                    self.abandon()

    def _fail(self, exc: BaseException) -> None:
        if self.off:
            return
        self.off = True
        said = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        self.ctx.warn(
            f"warning: {self.name} failed ({type(exc).__name__}{': ' + said if said else ''});"
            f" the run goes on without it"
        )

    def _finish(self) -> None:
        """Wait for the tracker's thread to work through its queue (FINISH_WAIT_S at most)."""
        try:
            wait = float(os.environ.get(FINISH_WAIT_ENV, FINISH_WAIT_S))
        except ValueError:
            wait = FINISH_WAIT_S
        deadline = time.monotonic() + wait
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=max(wait, 0.01))
        assert self._thread is not None
        self._thread.join(min(2.0, wait))
        if self._thread.is_alive():
            self.ctx.warn(f"waiting up to {wait:.0f} s for {self.name} to finish")
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self.ctx.warn(f"warning: {self.name} did not finish within {wait:.0f} s; left behind")


class TensorBoardSink(Tracker):
    """RUN_DIR/tensorboard/: scalars, the preset as text and hparams, the end as text."""

    name = "tensorboard"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.writer: tb.EventWriter | None = None
        self.last_step = 0

    def start(self, info: dict[str, Any]) -> None:
        now = time.time()
        self.writer = tb.EventWriter(self.ctx.run.path / TB_DIR, now)
        resumed = info.get("resumed_from")
        step = 0 if resumed is None else resumed + 1
        if resumed is not None:  # what an earlier session wrote from here on is dropped
            self.writer.write(tb.encode_event(now, step, session_start=True))
        hparams = {k: v for k, v in hparams_of(self.ctx.preset).items() if k != "description"}
        preset = self.ctx.preset.to_toml()
        values = [
            tb.hparams_start_value(hparams, self.ctx.run.run_id, now),
            tb.text_value("preset", "    " + preset.replace("\n", "\n    ")),
        ]
        self.writer.write(tb.encode_event(now, step, values=values))

    def record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        assert self.writer is not None
        self.last_step = record["step"]
        scalars = tb.scalars_of(
            {**record, "steps_per_s": summary.get("steps_per_s")}, skip=("step",)
        )
        self.writer.write(tb.encode_event(time.time(), record["step"], scalars=scalars))

    def end(self, summary: dict[str, Any]) -> None:
        assert self.writer is not None
        now, status = time.time(), str(summary.get("status"))
        step = summary.get("step") if isinstance(summary.get("step"), int) else self.last_step
        facts = end_facts(summary)
        lines = [f"**{status}** at step {step}"]
        lines += [f"- {k}: {v}" for k, v in facts.items()]
        note = self.ctx.run.note()
        if note:
            lines += ["", note]
        self.writer.write(
            tb.encode_event(
                now,
                step,
                scalars={f"summary/{k}": tb.as_float32(v)[0] for k, v in facts.items()},
                values=[
                    tb.text_value("summary", "\n".join(lines)),
                    tb.hparams_end_value(status, now),
                ],
            )
        )
        self.writer.close()

    def abandon(self) -> None:
        if self.writer is not None:
            self.writer.close()


class WandbSink(Tracker):
    """A W&B run named and identified by the run id, in RUN_DIR/wandb/ (WANDB_MODE: its
    mode; unset, online where an API key is configured, offline otherwise)."""

    name = "wandb"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.run: Any = None
        self.floor = 0  # W&B's steps only go forward: a resumed run's earlier ones are skipped

    def prepare(self) -> None:
        import wandb  # noqa: F401

    def start(self, info: dict[str, Any]) -> None:
        import wandb

        mode = os.environ.get("WANDB_MODE")
        if not mode:
            try:
                online = wandb.login(prompt=False, verify=False)  # never asks, never waits
            except TypeError:  # an older wandb, without prompt=
                online = bool(os.environ.get("WANDB_API_KEY"))
            mode = "online" if online else "offline"
            if not online:
                self.ctx.warn(
                    f"wandb: no API key (wandb login), so offline in {self.ctx.run.path}/wandb"
                    " (wandb sync uploads it)"
                )
        run_id = self.ctx.run.run_id
        self.run = wandb.init(
            mode=mode,
            dir=str(self.ctx.run.path),
            name=run_id,
            id="".join("-" if c in ":;,#?/'" else c for c in run_id),
            project=None if os.environ.get("WANDB_PROJECT") else PROJECT,
            group=self.ctx.group,
            config=hparams_of(self.ctx.preset) | {"run.param_count": info.get("param_count")},
            notes=self.ctx.run.note() or None,
            resume="allow",
            settings=wandb.Settings(console="off", quiet=True),
        )
        self.floor = int(getattr(self.run, "step", 0) or 0)

    def record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        if record["step"] >= self.floor:
            self.run.log(metrics_of(record, summary), step=record["step"])

    def end(self, summary: dict[str, Any]) -> None:
        status = str(summary.get("status"))
        note = self.ctx.run.note()
        self.run.summary.update({**end_facts(summary), "status": status, "note": note})
        if note:
            self.run.notes = note
        tags = [status] + (["grokked"] if summary.get("grok_step") is not None else [])
        self.run.tags = tuple(dict.fromkeys([*(self.run.tags or ()), *tags]))
        self.run.finish(exit_code=0 if status in ("completed", "stopped") else 1)
        self.run = None

    def abandon(self) -> None:
        if self.run is not None:
            self.run.finish(exit_code=1)


class MlflowSink(Tracker):
    """An MLflow run named by the run id, in MLFLOW_TRACKING_URI's store (unset: the file
    store RUNS_DIR/mlruns) and MLFLOW_EXPERIMENT_NAME's experiment (unset: grok-tui)."""

    name = "mlflow"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.client: Any = None
        self.run_id = ""

    def prepare(self) -> None:
        import mlflow.entities
        import mlflow.tracking  # noqa: F401

    def start(self, info: dict[str, Any]) -> None:
        uri = os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            uri = (self.ctx.runs_dir / "mlruns").absolute().as_uri()
            # MLflow 3 refuses its file store unless asked: this one is ours to choose
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        experiment = self._experiment(os.environ.get("MLFLOW_EXPERIMENT_NAME") or PROJECT)
        run_id = self.ctx.run.run_id
        found = None
        if info.get("resumed_from") is not None and "'" not in run_id:
            runs = self.client.search_runs(
                [experiment], filter_string=f"tags.`{RUN_ID_TAG}` = '{run_id}'", max_results=1
            )
            found = runs[0] if runs else None
        if found is not None:  # a resumed run continues its MLflow run (params as they were)
            self.run_id = found.info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
            return
        tags = {RUN_ID_TAG: run_id, "grok_tui.preset": self.ctx.preset.name}
        if self.ctx.group:
            tags["grok_tui.sweep"] = self.ctx.group
        self.run_id = self.client.create_run(experiment, run_name=run_id, tags=tags).info.run_id
        params = [Param(k, str(v)[:6000]) for k, v in hparams_of(self.ctx.preset).items()]
        params.append(Param("run.param_count", str(info.get("param_count"))))
        for at in range(0, len(params), 100):  # MLflow takes 100 params a batch
            self.client.log_batch(self.run_id, params=params[at : at + 100])

    def _experiment(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        try:
            return str(self.client.create_experiment(name))
        except Exception:  # another process of a sweep made it first
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return str(found.experiment_id)

    def record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [
            Metric(k, float(v), now, record["step"]) for k, v in metrics_of(record, summary).items()
        ]
        self.client.log_batch(self.run_id, metrics=metrics)

    def end(self, summary: dict[str, Any]) -> None:
        from mlflow.entities import Metric, RunTag

        status = str(summary.get("status"))
        step = summary.get("step") if isinstance(summary.get("step"), int) else 0
        facts, now = end_facts(summary), int(time.time() * 1000)
        tags = [RunTag(f"grok_tui.{k}", str(v)) for k, v in facts.items()]
        tags.append(RunTag("grok_tui.status", status))
        note = self.ctx.run.note()
        if note:
            tags.append(RunTag("mlflow.note.content", note))  # the run's description in MLflow
        metrics = [Metric(f"summary/{k}", float(v), now, step) for k, v in facts.items()]
        self.client.log_batch(self.run_id, metrics=metrics, tags=tags)
        self.client.set_terminated(self.run_id, status=MLFLOW_STATUS.get(status, "KILLED"))
        self.run_id = ""

    def abandon(self) -> None:
        if self.client is not None and self.run_id:
            self.client.set_terminated(self.run_id, status="FAILED")


SINKS: dict[str, type[Tracker]] = {
    "tensorboard": TensorBoardSink,
    "wandb": WandbSink,
    "mlflow": MlflowSink,
}


def tracker_sinks(
    preset: Preset,
    run: store.RunDir,
    runs_dir: Path,
    also: Iterable[str] = (),
    *,
    group: str | None = None,
    warn: Warn = _stderr,
) -> list[Tracker]:
    """The sinks of the trackers the preset asks for (``[train] log_to``) and ``also``
    (``--log-to`` of a resume). One that needs a library that is not installed is one line
    now, and no sink: the run goes on without it."""
    sinks: list[Tracker] = []
    for name in dict.fromkeys([*preset.train.log_to, *also]):
        if name not in SINKS:
            raise ValueError(f"{name!r} is not a tracker ({', '.join(TRACKERS)})")
        if name in LIBRARIES:
            module, install = LIBRARIES[name]
            try:
                missing = importlib.util.find_spec(module) is None
            except (ImportError, ValueError):
                missing = True
            if missing:
                warn(f"{name} is not installed: {install} (the run goes on without it)")
                continue
        sinks.append(SINKS[name](Context(preset, run, runs_dir, group, warn)))
    if sinks:
        warn(f"live logging to {', '.join(s.name for s in sinks)}")
    return sinks
