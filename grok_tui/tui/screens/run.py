"""One run opened from History: its curves, its resolved preset and its log.

The curves' panes plot the metrics the user chooses (1, 2, o), zoom, carry a cursor and
export as PNG and SVG (x): the keys of every curve screen (workbench.CURVE_BINDINGS).

All of it is read from the run directory, which may come from someone else: the
heading is rich Text of terminal-safe parts, the log is escaped (grok_tui.text).
"""

from __future__ import annotations

import threading
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, VerticalScroll
from textual.message import Message
from textual.widgets import ContentSwitcher, Static

from grok_tui import files
from grok_tui.config import task_size_label
from grok_tui.rundirs import columns, store
from grok_tui.rundirs.columns import Columns, RecordsView
from grok_tui.rundirs.watch import run_status, tail
from grok_tui.text import format_duration, safe_markup, safe_text
from grok_tui.tui.messages import (
    EditRunPresetRequested,
    ExportRequested,
    RerunRequested,
    ResumeRequested,
    StopRequested,
)
from grok_tui.tui.runtable import model_label
from grok_tui.tui.views.downsample import view_panels
from grok_tui.tui.views.layout import stack_panes
from grok_tui.tui.views.panels import Panel
from grok_tui.tui.widgets.curve_pane import CurvePane
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.widgets.run_table import STATUS_STYLES
from grok_tui.tui.workbench import CURVE_BINDINGS, CurvesScreen


class RunLoaded(Message):
    """The run's files read: its records as columns (``complete`` False for the sample
    of a long run that is drawn while the whole of it is read)."""

    def __init__(
        self,
        columns: Columns,
        summary: dict[str, Any],
        preset_text: str,
        log: list[str],
        complete: bool = True,
    ) -> None:
        super().__init__()
        self.columns, self.summary, self.preset_text, self.log = columns, summary, preset_text, log
        self.complete = complete


def run_heading(info: store.RunInfo, summary: dict[str, Any]) -> Text:
    """Name, status, task, model, optimiser and facts: plain text, each part made safe."""
    status = run_status(summary)
    preset = info.preset
    data, optim = preset.get("data", {}), preset.get("optim", {})
    final = summary.get("final") or {}
    task = task_size_label(data.get("operation"), data.get("p", "?"))
    parts: list[Any] = [
        (safe_text(summary.get("name") or info.run_id), "bold"),
        "  ",
        (safe_text(status), STATUS_STYLES.get(status, "bold")),
        safe_text(f"  step {summary.get('step', 0)}/{summary.get('steps', '?')}"),
        safe_text(f" · {data.get('operation', '?')} {task} frac={data.get('train_fraction', '?')}"),
        safe_text(f" · {model_label(preset.get('model', {}))}") if preset.get("model") else "",
        safe_text(
            f" · {optim.get('name', '?')} lr={optim.get('lr', '?')}"
            f" wd={optim.get('weight_decay', '?')}"
        ),
    ]
    facts = []
    for key, name in (("fit_step", "fit"), ("grok_step", "grok"), ("grok_gap", "gap")):
        if summary.get(key) is not None:
            facts.append(f"{name} {summary[key]}")
    if summary.get("best_test_acc") is not None:
        facts.append(
            f"best test {summary['best_test_acc']:.3f} @{summary.get('best_test_acc_step', '?')}"
        )
    if final.get("test_acc") is not None:
        facts.append(f"final train {final.get('train_acc', 0):.3f} test {final['test_acc']:.3f}")
    if summary.get("elapsed_s") is not None:
        facts.append(format_duration(summary["elapsed_s"]))
    if summary.get("device"):
        name = str(summary.get("device_name") or "").removeprefix("NVIDIA ")
        facts.append(f"{summary['device']} {name}".strip())  # cuda:0 H100 80GB HBM3
    facts.append(info.run_id)
    parts.append("\n" + " · ".join(safe_text(fact) for fact in facts))
    if summary.get("error"):
        parts.append(("\n" + safe_text(summary["error"], multiline=True), "red"))
    return Text.assemble(*parts)


class LogTail(Message):
    """The last lines of a live run's log, read again after new records."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class RunScreen(CurvesScreen):
    """One run's curves, preset and log; m and t (the app's) change its curves."""

    # The tooltips are the palette's commands: title, then what it does (see the app).
    BINDINGS = [
        # q quits only where no text field could be meant to take it (Ctrl+Q everywhere)
        Binding("q", "app.quit", "Quit", show=False),
        Binding("escape", "app.pop_screen", "Back", id="run.back", tooltip="Back\nTo the list"),
        Binding(
            "p",
            "cycle_view",
            "Curves/preset/log",
            id="run.view",
            tooltip="Curves, preset or log\nShow the next of this run's views",
        ),
        Binding(
            "a",
            "analysis",
            "Analysis",
            id="run.analysis",
            tooltip="Analysis\nNorms, embeddings, Fourier spectrum, landscape of this run",
        ),
        Binding(
            "w",
            "write_records",
            "Records CSV",
            id="run.records",
            tooltip="Export run records to CSV\nEvery record of this run",
        ),
        Binding(
            "n",
            "rerun",
            "Re-run",
            id="run.rerun",
            tooltip="Re-run\nA new run with the same preset",
        ),
        Binding(
            "e",
            "edit",
            "Edit copy",
            id="run.edit",
            tooltip="Copy preset into editor\nEdit this run's preset on the Presets screen",
        ),
        Binding(
            "s",
            "stop",
            "Stop",
            show=False,
            id="run.stop",
            tooltip="Stop this run\nIt saves a checkpoint and ends as stopped",
        ),
        Binding(
            "r",
            "resume",
            "Resume",
            show=False,
            id="run.resume",
            tooltip="Resume this run\nContinue a stopped run from its checkpoint",
        ),
        *CURVE_BINDINGS,
    ]
    DEFAULT_CSS = """
    RunScreen #run-cursor {
        height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(self, info: store.RunInfo) -> None:
        super().__init__()
        self.info = info
        self.columns = Columns()
        self.complete = False  # every record read (not a long run's first sample)
        self._sample_drawn = threading.Event()
        self.summary: dict[str, Any] = dict(info.summary)
        self.preset_text = ""
        self._panels: list[Panel] = []

    def compose(self) -> ComposeResult:
        yield Static(run_heading(self.info, self.summary), id="run-head")
        with ContentSwitcher(initial="run-curves", id="run-views"):
            with Container(id="run-curves", classes="plots"):
                yield CurvePane("accuracy", id="run-acc")
                yield CurvePane("loss", id="run-loss")
            with VerticalScroll(id="run-preset"):
                yield Static("", id="run-preset-text")
            with VerticalScroll(id="run-log"):
                yield Static("", id="run-log-text")
        yield Static("", id="run-cursor", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        for pane in self.query(CurvePane):
            pane.empty_text = "no records yet"
        self.load()

    def on_resize(self) -> None:
        self.set_class(stack_panes(self.size.width, self.size.height), "narrow")

    @work(thread=True, exclusive=True, exit_on_error=False, group="run")
    def load(self) -> None:
        run = self.info.run
        try:
            preset_text = files.read_text(run.preset_path, files.MAX_TOML_BYTES)
        except (OSError, UnicodeDecodeError) as exc:
            preset_text = f"# cannot read {run.preset_path}: {exc}"
        summary, log = run.summary(), tail(run.log_path, 200)
        sample = columns.sample_columns(run.path)  # a long run: a first picture at once
        if sample is not None:
            self.post_message(RunLoaded(sample, summary, preset_text, log, complete=False))
            self._sample_drawn.wait(1.0)  # the first frame draws before the long read holds the GIL
        records = columns.read_columns_cached(run.path)
        self.post_message(RunLoaded(records, summary, preset_text, log))

    @property
    def records(self) -> RecordsView:
        """The records shown, as dicts made when read."""
        return self.columns.view()

    def on_run_loaded(self, message: RunLoaded) -> None:
        if self.complete and not message.complete:
            return  # the sample came after the whole (a follower's poll was first)
        self.columns, self.complete = message.columns, message.complete
        self.summary = message.summary or self.summary
        self.preset_text = message.preset_text
        self.query_one("#run-preset-text", Static).update(
            Syntax(safe_text(message.preset_text, multiline=True), "toml", theme="ansi_dark")
        )
        self.show_log(message.log, follow=True)
        self.draw()
        if not message.complete:
            self.call_after_refresh(self._sample_drawn.set)

    def show_log(self, lines: list[str], follow: bool) -> None:
        """The log's last lines; the view stays at the tail while the user has not
        scrolled up (a live run's log grows at the bottom)."""
        box = self.query_one("#run-log", VerticalScroll)
        at_tail = follow or box.scroll_y >= box.max_scroll_y - 1
        self.query_one("#run-log-text", Static).update(
            "\n".join(safe_markup(line) for line in lines)
            or "(no log: a run started headless prints to its shell)"
        )
        if at_tail:
            self.call_after_refresh(box.scroll_end, animate=False)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run-log")
    def reload_log(self) -> None:
        self.post_message(LogTail(tail(self.info.run.log_path, 200)))

    def on_log_tail(self, message: LogTail) -> None:
        self.show_log(message.lines, follow=False)

    def draw(self) -> None:
        self.query_one("#run-head", Static).update(run_heading(self.info, self.summary))
        options = self.workbench.axis_options
        self._panels = view_panels(
            self.columns, self.summary, self.metrics, options, self.view.zoom > 0, self.window
        )
        window = self.window(self._panels)
        panes = (self.query_one("#run-acc", CurvePane), self.query_one("#run-loss", CurvePane))
        for pane, panel in zip(panes, self._panels, strict=True):
            pane.show_panel(panel, log_x=options.log_x, window=window, cursor=self.view.cursor)
        reading = "" if self.complete else f"reading {self.info.run_id}'s records… │ "
        self.query_one("#run-cursor", Static).update(reading + self.cursor_text(self._panels))

    def panels(self) -> list[Panel]:
        return self._panels

    def metric_records(self) -> RecordsView:  # type: ignore[override]
        return self.records

    def export_name(self) -> str:
        return str(self.summary.get("name") or self.info.run_id)

    def runs_changed(self, changed: list[str]) -> None:
        follower = self.workbench.followers.get(self.info.run_id)
        if follower is not None and self.info.run_id in changed:
            self.columns, self.summary = follower.columns, follower.summary
            self.complete = True
            self.draw()
            self.reload_log()

    def action_analysis(self) -> None:
        from grok_tui.tui.screens.analysis import AnalysisScreen

        self.app.push_screen(AnalysisScreen(self.info.run))

    def action_cycle_view(self) -> None:
        switcher = self.query_one("#run-views", ContentSwitcher)
        views = ["run-curves", "run-preset", "run-log"]
        switcher.current = views[(views.index(switcher.current or views[0]) + 1) % len(views)]
        if switcher.current == "run-log":  # opened at the tail, where a live log grows
            box = self.query_one("#run-log", VerticalScroll)
            self.call_after_refresh(box.scroll_end, animate=False)

    def redraw_curves(self) -> None:
        self.draw()

    def action_write_records(self) -> None:
        self.post_message(ExportRequested(self.info.run))

    def action_rerun(self) -> None:
        self.post_message(RerunRequested(self.info.run))

    def action_edit(self) -> None:
        self.post_message(EditRunPresetRequested(self.info.run))

    def action_stop(self) -> None:
        self.post_message(StopRequested(self.info.run))

    def action_resume(self) -> None:
        self.post_message(ResumeRequested(self.info.run))
