"""A run's analysis in the terminal: the analysis.json that ``grok-tui analyze`` wrote, one
view at a time (norms, embedding projections, heatmaps, Fourier spectrum, Nanda's losses,
neurons, the loss landscape).

The analysis is computed in its own process (``grok_tui.analysis.paths.analysis_command``),
like training: this module never imports torch. What each view draws is worked out in
grok_tui.tui.analysis_view and painted by grok_tui.tui.widgets.analysis_plot; this
module composes them, answers the keys and loads the file. A run directory (and so its
analysis.json and analyze.log) may come from someone else: run ids, layer names, notes
and log lines are shown through grok_tui.text.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from grok_tui import files
from grok_tui.analysis.paths import (
    ANALYSIS_LOG,
    analysis_command,
    analysis_dir,
    read_analysis,
)
from grok_tui.rundirs import store
from grok_tui.rundirs.launch import spawn  # the one module that starts processes
from grok_tui.rundirs.watch import tail
from grok_tui.text import safe_text
from grok_tui.tui.analysis_view import (
    VIEW_IDS,
    VIEWS,
    header_lines,
    headline,
    option_list,
    tabs,
)
from grok_tui.tui.widgets.analysis_plot import AnalysisLegend, AnalysisPlot
from grok_tui.tui.widgets.footer import KeysFooter

LOG_LINES = 3  # of analyze.log, shown when an analysis fails


class AnalysisLoaded(Message):
    """analysis.json and the run's summary, read off the UI thread."""

    def __init__(self, analysis: dict[str, Any] | None, summary: dict[str, Any]) -> None:
        super().__init__()
        self.analysis, self.summary = analysis, summary


class AnalysisFinished(Message):
    """The analysis process ended: its exit status and the end of its log."""

    def __init__(self, code: int, log: list[str]) -> None:
        super().__init__()
        self.code, self.log = code, log


def start_analysis(run_path: Path, *options: str) -> subprocess.Popen[bytes]:
    """Start ``grok-tui analyze RUN_DIR`` in its own process, its output in analysis/analyze.log."""
    folder = analysis_dir(run_path)
    files.mkdir(folder)  # a planted link is refused, never written through
    return spawn(analysis_command(run_path, *options), folder / ANALYSIS_LOG, fresh_log=True)


class AnalysisScreen(Screen):
    """The analysis of one run: a view at a time, switched with the number keys or ←/→."""

    DEFAULT_CSS = """
    AnalysisScreen #analysis-head { height: auto; max-height: 3; }
    """

    BINDINGS = [
        Binding(
            "escape",
            "app.pop_screen",
            "Back",
            id="analysis.back",
            tooltip="Back\nLeave the analysis for the run's page or History",
        ),
        Binding(
            "right,l",
            "next_view(1)",
            "Next view",
            id="analysis.next",
            tooltip="Next analysis view\nNorms, projection, embedding, spectrum, Nanda, ...",
        ),
        Binding(
            "left,h",
            "next_view(-1)",
            "Prev view",
            show=False,
            id="analysis.prev",
            tooltip="Previous analysis view\nThe view before this one",
        ),
        Binding(
            "o",
            "toggle_option",
            "Option",
            id="analysis.option",
            tooltip="Toggle view option\nWeights or gradient, PCA or t-SNE, train or test, ...",
        ),
        Binding(
            "a",
            "analyse",
            "Analyse",
            id="analysis.run",
            tooltip="Analyse run\nRun grok-tui analyze on its latest weights, in its own process",
        ),
        Binding(
            "n",
            "notes",
            "Notes",
            id="analysis.notes",
            tooltip="Analysis notes\nThe whole headline and the notes the header cuts",
        ),
        *(
            Binding(
                str(i + 1),
                f"view('{view}')",
                title,
                show=False,
                id=f"analysis.{view}",
                tooltip=f"Analysis: {title}\nShow the {title.lower()} view",
            )
            for i, (view, title, _, _) in enumerate(VIEWS)
        ),
    ]

    def __init__(self, run: store.RunDir) -> None:
        super().__init__()
        self.run = run
        self.analysis: dict[str, Any] | None = None
        self.summary: dict[str, Any] = {}
        self.view = VIEW_IDS[0]
        self.options = {view: choices[0] for view, _, _, choices in VIEWS}
        self.running = False
        self.status = ""

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble((safe_text(self.run.run_id), "bold"), " · analysis · loading…"),
            id="analysis-head",
        )
        yield AnalysisPlot(id="analysis-plot")
        yield AnalysisLegend(id="analysis-legend")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.load()

    def on_resize(self) -> None:
        self.draw_head()  # the header is fitted to the width

    @work(thread=True, exclusive=True, exit_on_error=False, group="analysis-load")
    def load(self) -> None:
        self.post_message(AnalysisLoaded(read_analysis(self.run.path), self.run.summary()))

    def on_analysis_loaded(self, message: AnalysisLoaded) -> None:
        self.analysis, self.summary = message.analysis, message.summary
        self.draw()

    def draw_head(self) -> None:
        """Three lines at most: the tabs, the run and what was found, the status or notes."""
        width = max(20, self.size.width)
        head = Text(no_wrap=True, overflow="ellipsis")
        for i, (label, current) in enumerate(tabs(self.view, width)):
            head.append("  " if i else "")
            head.append(label, "reverse" if current else "")
        top, second = header_lines(self.run.run_id, self.analysis, self.summary, self.status, width)
        head.append("\n" + top)
        if second:
            style = ("yellow" if self.running else "red") if self.status else "dim"
            head.append("\n" + second, style)
        self.query_one("#analysis-head", Static).update(head)

    def draw(self) -> None:
        self.draw_head()
        option = self.options[self.view]
        self.query_one(AnalysisPlot).show(self.analysis, self.view, option)
        self.query_one(AnalysisLegend).show(self.analysis, self.view, option)

    def action_view(self, view: str) -> None:
        self.view = view
        self.draw()

    def action_next_view(self, delta: int) -> None:
        self.view = VIEW_IDS[(VIEW_IDS.index(self.view) + delta) % len(VIEW_IDS)]
        self.draw()

    def action_toggle_option(self) -> None:
        choices = option_list(self.view)
        self.options[self.view] = choices[
            (choices.index(self.options[self.view]) + 1) % len(choices)
        ]
        self.draw()

    def action_notes(self) -> None:
        text = headline(self.analysis, self.summary)
        if self.status:
            text += "\n" + safe_text(self.status, multiline=True)
        self.notify(text, title="analysis", timeout=15, markup=False)

    def action_analyse(self) -> None:
        if self.running:
            self.notify("an analysis of this run is already running")
            return
        self.running = True
        self.status = (
            f"analysing in its own process… (log: {analysis_dir(self.run.path) / ANALYSIS_LOG})"
        )
        self.draw()
        self.analyse()

    @work(thread=True, exclusive=True, exit_on_error=False, group="analysis-run")
    def analyse(self) -> None:
        try:
            code = start_analysis(self.run.path).wait()
        except OSError as exc:
            self.post_message(AnalysisFinished(-1, [str(exc)]))
            return
        log = tail(analysis_dir(self.run.path) / ANALYSIS_LOG, LOG_LINES)
        self.post_message(AnalysisFinished(code, log))

    def on_analysis_finished(self, message: AnalysisFinished) -> None:
        self.running = False
        if message.code == 0:
            self.status = ""
            self.notify("analysis written")
        else:
            self.status = "analysis failed: " + " · ".join(message.log or ["no output"])
        self.load()
