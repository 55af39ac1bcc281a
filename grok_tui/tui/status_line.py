"""Live's status line of one run, in parts ranked by use, so that it fits one row.

At 80 columns the whole line (step, speed, ETA, device, threads, accuracies, events and
the process's figures) took two rows, and jumped between one and two as numbers changed:
views/status_fit.py leaves out the parts of highest rank first (0: always kept).
"""

from __future__ import annotations

from rich.text import Text

from grok_tui.rundirs.watch import LIVE_STATUSES, RunFollower
from grok_tui.text import format_duration, safe_text
from grok_tui.tui.views.rates import eta_seconds, run_rate
from grok_tui.tui.views.status_fit import KEEP, fit_parts
from grok_tui.tui.widgets.run_table import STATUS_STYLES

# Left out first to last: the device and threads, the percentage, the speed, the
# process's CPU and memory (SystemFigures, appended by Live), the fit step, the ETA.
DEVICE_RANK, PERCENT_RANK, SPEED_RANK, SYSTEM_RANK, FIT_RANK, ETA_RANK = 7, 6, 5, 4, 3, 2


def status_parts(follower: RunFollower) -> list[tuple[Text, int]]:
    """step / total, speed, ETA, device, status, latest accuracies and events, ranked."""
    s = follower.summary
    status = follower.status
    step, steps = s.get("step") or 0, s.get("steps") or 0
    last = follower.records[-1] if follower.records else {}
    parts: list[tuple[Text, int]] = [
        (Text(safe_text(status), STATUS_STYLES.get(status, "bold")), KEEP),
        (Text(safe_text(f"  step {step}/{steps}")), KEEP),
    ]
    if steps:
        parts.append((Text(f" ({100 * step / steps:.0f}%)"), PERCENT_RANK))
    speed = run_rate(s, follower.records)  # the recent speed: it changes as runs end
    if speed is not None:
        parts.append((Text(f" · {speed:.1f} steps/s"), SPEED_RANK))
    if status in LIVE_STATUSES:
        eta = eta_seconds(s, follower.records)
        if eta is not None:
            parts.append((Text(f" · ETA {format_duration(eta)}"), ETA_RANK))
    elif s.get("elapsed_s") is not None:
        parts.append((Text(f" · took {format_duration(s.get('elapsed_s'))}"), ETA_RANK))
    device = ""
    if s.get("device"):
        gpu = str(s.get("device_name") or "").removeprefix("NVIDIA ")
        device = f" · {safe_text(s['device'])}" + (f" {safe_text(gpu)}" if gpu else "")
    threads = s.get("threads")  # a CPU run's thread choice (grok_tui/rundirs/threads.py)
    if isinstance(threads, dict) and type(threads.get("n")) is int:
        device += f" {threads['n']} thread{'s' if threads['n'] != 1 else ''}"
    if device:
        parts.append((Text(device), DEVICE_RANK))
    if "train_acc" in last:  # of the latest record, whose step is said where it lags
        at = "" if last.get("step") in (None, step) else f" @{safe_text(last['step'])}"
        acc = f" · acc train {last['train_acc']:.3f} test {last.get('test_acc', 0):.3f}{at}"
        parts.append((Text(acc), KEEP))
    for key, name, rank in (("fit_step", "fit", FIT_RANK), ("grok_step", "grok", KEEP)):
        if s.get(key) is not None:
            parts.append((Text(f" · {name} @{safe_text(s[key])}"), rank))
    if s.get("error"):
        parts.append((Text("  " + safe_text(s["error"], multiline=True), "red"), KEEP))
    return parts


def status_text(follower: RunFollower) -> Text:
    """The whole status line, every part (Live fits it to its row)."""
    return fit_parts(status_parts(follower), 0)
