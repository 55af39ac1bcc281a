"""The Live screen: the curves and status of the runs being followed, one at a time.

Names, statuses, errors and log lines come from run directories, which may come from
someone else (a run found in the runs directory): all go through grok_tui.text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.widgets import Footer, Static

from grok_tui.launcher import LIVE_STATUSES, RunFollower, tail
from grok_tui.text import format_duration, safe_markup, safe_text
from grok_tui.tui.messages import ResumeRequested, StopRequested
from grok_tui.tui.series import eta_seconds, run_curves
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.run_table import STATUS_STYLES
from grok_tui.tui.workbench import CurvesScreen

MAX_RECORDS_PLOTTED = 20_000  # before min/max downsampling: bounds the work per redraw


def thin(records: list[dict[str, Any]], limit: int = MAX_RECORDS_PLOTTED) -> list[dict[str, Any]]:
    if len(records) <= limit:
        return records
    stride = -(-len(records) // limit)
    return records[::stride] + ([records[-1]] if (len(records) - 1) % stride else [])


def stack_panes(width: int, height: int) -> bool:
    """Panes one above the other only on a tall, narrow terminal; side by side otherwise."""
    return width < 110 and height >= 32


def status_text(follower: RunFollower) -> Text:
    """step / total, speed, ETA, device, status, latest accuracies and events."""
    s = follower.summary
    status = follower.status
    step, steps = s.get("step") or 0, s.get("steps") or 0
    percent = f" ({100 * step / steps:.0f}%)" if steps else ""
    last = follower.records[-1] if follower.records else {}
    parts: list[tuple[str, str] | str] = [
        (safe_text(status), STATUS_STYLES.get(status, "bold")),
        safe_text(f"  step {step}/{steps}{percent}"),
    ]
    speed = s.get("steps_per_s")
    if isinstance(speed, int | float) and speed > 0:
        parts.append(f" · {speed:.1f} steps/s")
    if status in LIVE_STATUSES:
        eta = eta_seconds(s)
        if eta is not None:
            parts.append(f" · ETA {format_duration(eta)}")
    elif s.get("elapsed_s") is not None:
        parts.append(f" · took {format_duration(s.get('elapsed_s'))}")
    if s.get("device"):
        parts.append(f" · {safe_text(s['device'])}")
    if "train_acc" in last:
        parts.append(f" · acc train {last['train_acc']:.3f} test {last.get('test_acc', 0):.3f}")
    for key, name in (("fit_step", "fit"), ("grok_step", "grok")):
        if s.get(key) is not None:
            parts.append(f" · {name} @{safe_text(s[key])}")
    if s.get("error"):
        parts.append(("  " + safe_text(s["error"], multiline=True), "red"))
    return Text.assemble(*parts)


class LiveScreen(CurvesScreen):
    """Curves of the current followed run; [ and ] switch between runs."""

    # The tooltips are the palette's commands: title, then what it does (see the app).
    BINDINGS = [
        # q quits only where no text field could be meant to take it (Ctrl+Q everywhere)
        Binding("q", "app.quit", "Quit", show=False),
        Binding(
            "s",
            "stop",
            "Stop",
            id="live.stop",
            tooltip="Stop the current run\nIt saves a checkpoint and ends as stopped",
        ),
        Binding(
            "r",
            "resume",
            "Resume",
            id="live.resume",
            tooltip="Resume the current run\nContinue a stopped run from its checkpoint",
        ),
        Binding(
            "left_square_bracket",
            "cycle(-1)",
            "Prev",
            id="live.prev",
            tooltip="Previous run\nShow the run before this one",
        ),
        Binding(
            "right_square_bracket",
            "cycle(1)",
            "Next",
            id="live.next",
            tooltip="Next run\nShow the run after this one",
        ),
        Binding("left", "cycle(-1)", show=False),
        Binding("right", "cycle(1)", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._drawn: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="live-runs")
        yield Static("", id="live-status")
        with Container(id="live-plots"):
            yield CurvePane("accuracy", id="live-acc")
            yield CurvePane("loss", id="live-loss")
        yield Static("", id="live-log")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.redraw(force=True)

    def on_screen_resume(self) -> None:
        self.redraw(force=True)

    def on_resize(self) -> None:
        self.set_class(stack_panes(self.size.width, self.size.height), "narrow")

    # -- told by the app: after each poll, and when the curves' options change ----------

    def runs_changed(self, changed: list[str]) -> None:
        self.redraw()

    def redraw_curves(self) -> None:
        self.redraw()

    def current(self) -> RunFollower | None:
        bench = self.workbench
        return bench.followers.get(bench.current_run_id or "")

    def redraw(self, force: bool = False) -> None:
        """Redraw only when the followed runs or the current run's data moved."""
        followers = list(self.workbench.followers.values())
        follower = self.current()
        if follower is None and followers:
            follower = followers[-1]
            self.workbench.current_run_id = follower.run_id
        options = self.workbench.axis_options
        key = (
            tuple((f.run_id, f.status) for f in followers),
            follower.run_id if follower else None,
            follower.version if follower else None,
            options,
        )
        if key == self._drawn and not force:
            return
        self._drawn = key
        self._draw_run_list(followers, follower)
        acc = self.query_one("#live-acc", CurvePane)
        loss = self.query_one("#live-loss", CurvePane)
        log = self.query_one("#live-log", Static)
        if follower is None:
            self.query_one("#live-status", Static).update(
                "No live run. Start one from Presets (F2, then Ctrl+R) or History (F4, n), "
                "or in a shell: grok-tui --run PRESET — it shows up here."
            )
            acc.show([])
            loss.show([])
            log.display = False
            return
        self.query_one("#live-status", Static).update(status_text(follower))
        curves = run_curves(thin(follower.records), follower.summary, options)
        acc.show(curves.acc, marks=curves.marks, x_label=curves.x_label)
        loss.show(curves.loss, marks=curves.marks, x_label=curves.x_label)
        if follower.status in ("crashed", "failed"):
            lines = tail(follower.run.log_path, 4)
            log.update("[b]log.txt:[/b]\n" + "\n".join(safe_markup(line) for line in lines))
            log.display = bool(lines)
        else:
            log.display = False

    def _draw_run_list(self, followers: list[RunFollower], current: RunFollower | None) -> None:
        if not followers:
            self.query_one("#live-runs", Static).update(Text("Live runs: none", style="dim"))
            return
        parts: list[Any] = [("runs ", "dim")]
        for index, follower in enumerate(followers, start=1):
            name = follower.summary.get("name") or follower.run_id
            style = STATUS_STYLES.get(follower.status, "")
            label = f" {index}:{safe_text(name)} {safe_text(follower.status)} "
            if current is not None and follower.run_id == current.run_id:
                parts.append((label, f"reverse {style}".strip()))
            else:
                parts.append((label, style))
        parts.append(("  [ ] switch", "dim"))
        self.query_one("#live-runs", Static).update(Text.assemble(*parts))

    # -- actions ------------------------------------------------------------------

    def action_cycle(self, delta: int) -> None:
        bench = self.workbench
        ids = list(bench.followers)
        if not ids:
            return
        current = bench.current_run_id
        index = ids.index(current) if current in ids else 0
        bench.current_run_id = ids[(index + delta) % len(ids)]
        self.redraw()

    def action_stop(self) -> None:
        follower = self.current()
        if follower is None:
            self.notify("No run to stop.", severity="warning")
            return
        self.post_message(StopRequested(follower.run))

    def action_resume(self) -> None:
        follower = self.current()
        if follower is None:
            self.notify("No run to resume.", severity="warning")
            return
        self.post_message(ResumeRequested(follower.run))
