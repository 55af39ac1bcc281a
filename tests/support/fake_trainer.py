"""A test double of the trainer: writes grokking-shaped records, fast and without torch.

``python -m tests.support.fake_trainer RUN_DIR`` (the repository root on sys.path: the
current directory, or PYTHONPATH as launch.spawn sets it) behaves like
``grok-tui --resume RUN_DIR`` as far as the run directory goes (records, summary,
SIGTERM -> stopped and exit 143 (130 after SIGINT), continue from the last record) but computes nothing and
never imports torch. GROK_FAKE_DELAY sets the seconds between evaluations (default 0.05).
Its records are those of the start-up bench (grok_tui.bench.startup.curve_record).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from grok_tui.bench.startup import curve_record
from grok_tui.rundirs import ownership, store

_stop = 0  # the signal that asked for the stop


def _on_signal(signum: int, frame: Any) -> None:
    global _stop
    _stop = signum


def main(argv: list[str]) -> int:
    run = store.RunDir(Path(argv[0]))
    try:
        lock = run.lock.acquire()  # one writer per run, as the real trainer
    except ownership.LockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    preset = store.read_run_preset_raw(run)
    summary = run.summary()
    # the summary has the total (an epochs preset's preset.toml has no steps)
    steps = int(summary.get("steps") or preset.get("train", {}).get("steps", 1000))
    every = int(preset.get("train", {}).get("eval_every", 100))
    delay = float(os.environ.get("GROK_FAKE_DELAY", "0.05"))
    if summary.get("status") == store.COMPLETED:
        print("already completed", file=sys.stderr)
        return 2
    records = run.records()
    step = records[-1]["step"] if records else 0
    elapsed0 = records[-1]["elapsed_s"] if records else 0.0
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    me = ownership.my_identity()
    summary.update(
        status=store.RUNNING,
        pid=me.pid,
        host=me.host,
        owner=me.as_dict(),
        started_at=summary.get("started_at") or store.now_iso(),
        ended_at=None,
        device="cpu (fake)",
        steps=steps,
    )
    store.write_summary(run.path, summary)
    writer = store.MetricsWriter(run.path)
    start = time.monotonic()
    print(f"fake trainer: {run.run_id} from step {step}", flush=True)
    while step < steps and not _stop:
        time.sleep(delay)
        step = min(steps, step + every)
        elapsed = elapsed0 + time.monotonic() - start
        record = curve_record(step, steps, elapsed)
        writer.append(record)
        summary.update(step=step, elapsed_s=elapsed, steps_per_s=every / max(delay, 1e-3))
        if summary.get("fit_step") is None and record["train_acc"] >= 0.99:
            summary["fit_step"] = step
        if summary.get("grok_step") is None and record["test_acc"] >= 0.99:
            summary["grok_step"] = step
            summary["grok_gap"] = step - (summary.get("fit_step") or step)
        if record["test_acc"] > (summary.get("best_test_acc") or 0):
            summary.update(best_test_acc=record["test_acc"], best_test_acc_step=step)
        summary["final"] = {
            k: record[k] for k in ("train_acc", "test_acc", "train_loss", "test_loss")
        }
        store.write_summary(run.path, summary)
    writer.close()
    summary.update(status=store.STOPPED if _stop else store.COMPLETED, ended_at=store.now_iso())
    store.write_summary(run.path, summary)
    lock.release()
    return 128 + _stop if _stop else 0  # as the trainer: 130 after SIGINT, 143 after SIGTERM


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
