"""The headless progress display: one redrawn line on a terminal, plain lines in a log."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from grok_tui.text import format_duration


class ProgressSink:
    """Engine sink for ``grok-tui --run``.

    On a terminal the status line is redrawn in place (at most 10 times a second);
    otherwise (nohup, a log file, a pipe) each record is one plain ``key=value`` line
    that grep and awk can read.
    """

    def __init__(
        self, steps: int, stream: TextIO | None = None, *, tty: bool | None = None
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.steps = steps
        self._last_draw = 0.0
        self._events: list[str] = []
        self._threads: Any = None  # the thread count last said (a line when it changes)

    def on_start(self, info: dict[str, Any]) -> None:
        resumed = info.get("resumed_from")
        where = f"resuming at step {resumed}" if resumed is not None else "starting"
        self._print(
            f"{where} on {info['device']} · {info['param_count']:,} parameters · "
            f"{info['n_train']:,} train / {info['n_test']:,} test · batch {info['batch_size']}"
        )

    def on_record(self, record: dict[str, Any], summary: dict[str, Any]) -> None:
        for name in ("fit_step", "grok_step"):
            if summary.get(name) == record["step"] and name not in self._events:
                self._events.append(name)
                self._print(f"event {name} = {record['step']}")
        threads = summary.get("threads")
        n = threads.get("n") if isinstance(threads, dict) else None
        if n is not None and n != self._threads:
            self._threads = n
            self._print(f"threads: {n} ({threads.get('why')})")
        rate = summary.get("steps_per_s") or 0.0
        eta = (self.steps - record["step"]) / rate if rate > 0 else None
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and record["step"] < self.steps:
                return
            self._last_draw = now
            line = (
                f"step {record['step']:>{len(str(self.steps))}}/{self.steps} "
                f"{100 * record['step'] / self.steps:5.1f}% │ "
                f"train {record['train_acc']:.3f} test {record['test_acc']:.3f} │ "
                f"loss {record['train_loss']:.3g}/{record['test_loss']:.3g} │ "
                f"{rate:,.0f} steps/s"
                + (f" · {n} thread{'s' if n != 1 else ''}" if n is not None else "")
                + f" │ ETA {format_duration(eta) or '--'}"
            )
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        else:
            self.stream.write(
                f"step={record['step']} epoch={record['epoch']} "
                f"train_loss={record['train_loss']:.6g} train_acc={record['train_acc']:.4f} "
                f"test_loss={record['test_loss']:.6g} test_acc={record['test_acc']:.4f} "
                f"lr={record['lr']:.3g} steps_per_s={rate:.1f} elapsed_s={record['elapsed_s']}"
                + (f" threads={n}" if n is not None else "")
                + "\n"
            )
            self.stream.flush()

    def on_checkpoint(self, state: dict[str, Any]) -> None:
        pass

    def on_end(self, summary: dict[str, Any]) -> None:
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _print(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + "\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def describe_end(run_path: str, summary: dict[str, Any]) -> str:
    """The closing lines of a headless run."""
    final = summary.get("final") or {}

    def step(name: str) -> str:
        value = summary.get(name)
        return "not reached" if value is None else str(value)

    lines = [
        f"status: {summary.get('status')}"
        + (f" ({summary['error']})" if summary.get("error") else ""),
        f"run: {run_path}",
        f"fit_step: {step('fit_step')}  grok_step: {step('grok_step')}  grok_gap: {step('grok_gap')}",
    ]
    if final:
        lines.append(
            f"final: train_acc={final.get('train_acc', 0):.4f} test_acc={final.get('test_acc', 0):.4f} "
            f"train_loss={final.get('train_loss', 0):.4g} test_loss={final.get('test_loss', 0):.4g}"
            f"  (best test_acc {summary.get('best_test_acc', 0):.4f} at step {summary.get('best_test_acc_step')})"
        )
    lines.append(
        f"steps: {summary.get('step')}/{summary.get('steps')} in {format_duration(summary.get('elapsed_s'))}"
    )
    return "\n".join(lines)
