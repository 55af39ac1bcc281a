"""A test double of the trainer: makes up grokking-shaped records, fast and without torch.

``python -m tests.support.fake_trainer RUN_DIR`` (the repository root on sys.path: the
current directory, or PYTHONPATH as launch.spawn sets it) is ``grok-tui --resume
RUN_DIR`` with the model replaced by a formula: the records are those of the start-up
bench (grok_tui.bench.startup.curve_record), and everything else is the product's own
code, so the TUI tests exercise the product and not the double: the lock
(runner.claim), the stop flag (SIGTERM -> stopped and exit 143, 130 after SIGINT),
the reporting (training.events.Reporter: fit and grok detection, the smoothed rate,
the summary) and the run directory's sink (runner.RunDirSink: records, summary, a
resume that continues from the last record). GROK_FAKE_DELAY sets the seconds between
evaluations (default 0.05).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from grok_tui.bench.startup import curve_record
from grok_tui.errors import UserError
from grok_tui.rundirs import store
from grok_tui.rundirs.stopping import StopFlag
from grok_tui.training import runner
from grok_tui.training.events import Events, Reporter


@dataclass
class FakeProgress:
    """Where the made-up run stands (events.Progress)."""

    step: int = 0
    events: Events = field(default_factory=Events)
    elapsed_before: float = 0.0


def main(argv: list[str]) -> int:
    run = store.RunDir(Path(argv[0]))
    try:
        lock = runner.claim(run)  # one writer per run, as the real trainer
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = run.summary()
    if summary.get("status") == store.COMPLETED:
        print("already completed", file=sys.stderr)
        return 2
    preset = store.load_run_preset(run)
    # the summary has the total (an epochs preset's preset.toml has no steps)
    steps = int(summary.get("steps") or preset.train.steps)
    train = preset.train.model_copy(update={"steps": steps})
    delay = float(os.environ.get("GROK_FAKE_DELAY", "0.05"))
    records = run.records()
    progress = FakeProgress()
    for record in records:  # what a checkpoint's events would hold
        progress.events.update(record, train.fit_threshold, train.grok_threshold)
    if records:
        progress.step, progress.elapsed_before = records[-1]["step"], records[-1]["elapsed_s"]
    stop = StopFlag()
    stop.install()
    sink = runner.RunDirSink(run, resumed_step=progress.step if records else None)
    reporter = Reporter(progress, [sink], train, {"device": "cpu (fake)"}, resumed=bool(records))
    print(f"fake trainer: {run.run_id} from step {progress.step}", flush=True)
    if not records:
        reporter.emit(curve_record(0, steps, 0.0))
    while progress.step < steps and not stop():
        time.sleep(delay)
        progress.step = min(steps, progress.step + train.eval_every)
        reporter.emit(curve_record(progress.step, steps, reporter.elapsed()))
    status = store.STOPPED if stop() else store.COMPLETED
    reporter.end(status)
    lock.release()
    return stop.exit_code(runner.end_code(status))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
