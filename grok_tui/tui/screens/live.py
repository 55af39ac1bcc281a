"""The Live screen: the followed runs, one at a time or all at once (the overview).

One run: its status and two panes, each plotting the metric the user chose. The
overview: every live run (each point of a running sweep too) and every pinned one,
overlaid in two panes or as small multiples, with a list beside them to pick, pin and
hide runs. Runs the app starts following appear by themselves.

Names, statuses, errors and log lines come from run directories, which may come from
someone else (a run found in the runs directory): all go through grok_tui.text.
"""

from __future__ import annotations

import math
import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal
from textual.timer import Timer
from textual.widgets import ContentSwitcher, OptionList, Static
from textual.widgets.option_list import Option

from grok_tui.rundirs.watch import LIVE_STATUSES, RunFollower, tail
from grok_tui.text import safe_markup, safe_text
from grok_tui.tui.messages import ResumeRequested, StopRequested
from grok_tui.tui.screens.live_status import SystemFigures, bar_line
from grok_tui.tui.seed_bands import SEED_BANDS_BINDING, SeedBands
from grok_tui.tui.status_line import SYSTEM_RANK, status_parts
from grok_tui.tui.status_line import status_text as status_text  # where tests look for it
from grok_tui.tui.views import runs_bar
from grok_tui.tui.views.curves import event_marks, run_colours, x_axis
from grok_tui.tui.views.downsample import view_panels
from grok_tui.tui.views.layout import cut, grid_shape, stack_panes, thin
from grok_tui.tui.views.pacing import RedrawPace
from grok_tui.tui.views.panels import Panel, runs_panel, small_multiples
from grok_tui.tui.views.status_fit import fit_parts
from grok_tui.tui.widgets.curve_pane import CurvePane, swatch
from grok_tui.tui.widgets.footer import KeysFooter
from grok_tui.tui.widgets.lines import update_line
from grok_tui.tui.widgets.run_table import STATUS_STYLES
from grok_tui.tui.workbench import CURVE_BINDINGS, CurvesScreen

SIDE_NAME = 13  # characters of a run's name in the list beside the overview
SHORT_STATUS = {"running": "run", "starting": "start", "completed": "done", "stopped": "stop"}
LABEL_NAME = 12  # characters of a run's name in the cursor line


def run_name(follower: RunFollower) -> str:
    """The name a run goes by (a sweep point's with its index), terminal-safe."""
    s = follower.summary
    name = safe_text(s.get("name") or follower.run_id)
    sweep = s.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("index"), int):
        name = f"#{sweep['index']} {name}"
    return name


class LiveScreen(SeedBands, CurvesScreen):
    """One followed run ([ and ] switch), or the overview of them all (v)."""

    DEFAULT_CSS = """
    LiveScreen #live-body { height: 1fr; }
    LiveScreen #live-side {
        width: 27; height: 1fr; border: none; padding: 0;
        border-right: vkey $panel-lighten-2; display: none;
    }
    LiveScreen.overview #live-side { display: block; }
    LiveScreen #live-views { width: 1fr; height: 1fr; }
    LiveScreen #live-views > Container { height: 1fr; }
    LiveScreen #live-grid { layout: grid; grid-size: 2 2; grid-gutter: 0; }
    LiveScreen #live-cursor {
        height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

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
        Binding(
            "v",
            "toggle_overview",
            "Overview",
            id="live.overview",
            tooltip="Overview or one run\nEvery live and pinned run at once, or the current one",
        ),
        Binding(
            "g",
            "toggle_grid",
            "Grid/overlay",
            show=False,
            id="live.grid",
            tooltip="Small multiples or overlay\nThe overview as a pane per run, or runs overlaid",
        ),
        Binding(
            "p",
            "pin",
            "Pin",
            show=False,
            id="live.pin",
            tooltip="Pin the run\nA pinned run stays in the overview after it ends",
        ),
        Binding(
            "space",
            "hide",
            "Hide",
            show=False,
            id="live.hide",
            tooltip="Hide or show the run\nA hidden run is listed but not drawn",
        ),
        *CURVE_BINDINGS,
        SEED_BANDS_BINDING,
    ]

    def __init__(self) -> None:
        super().__init__()
        self._drawn: tuple[Any, ...] | None = None
        self._last_data_draw = -math.inf
        self._pending_draw: Timer | None = None
        self.pace = RedrawPace()
        self._statuses: tuple[tuple[str, str, bool], ...] = ()
        self.overview = False
        self.grid = True  # the overview as small multiples (else overlaid)
        self.pinned: set[str] = set()
        self.hidden: set[str] = set()
        self._side: list[str] = []  # run ids, in the order of the list beside the overview
        self._panels: list[Panel] = []
        self._side_shown: list[tuple[str, Text]] = []
        self.system = SystemFigures(self)  # the status line's CPU, memory and GPU figures
        self.following = runs_bar.Following()  # moves on when the shown run ends

    def compose(self) -> ComposeResult:
        yield Static("", id="live-runs")
        yield Static("", id="live-status")
        with Horizontal(id="live-body"):
            yield OptionList(id="live-side")
            with ContentSwitcher(initial="live-single", id="live-views"):
                with Container(id="live-single", classes="plots"):
                    yield CurvePane("accuracy", id="live-acc")
                    yield CurvePane("loss", id="live-loss")
                with Container(id="live-overlay", classes="plots"):
                    yield CurvePane("accuracy", id="live-ov1")
                    yield CurvePane("loss", id="live-ov2")
                yield Container(id="live-grid")
        yield Static("", id="live-cursor")
        yield Static("", id="live-log")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.pace = RedrawPace(self.workbench.pacing)
        self.redraw(force=True)

    def on_screen_resume(self) -> None:
        self.redraw(force=True)

    def on_resize(self) -> None:
        self.set_class(stack_panes(self.size.width, self.size.height), "narrow")
        self.call_after_refresh(self.redraw)  # the grid's shape follows its size

    # -- told by the app: after each poll, and when the curves' options change ----------

    def runs_changed(self, changed: list[str]) -> None:
        """New records: redrawn at most every pace.interval (the last change is never
        lost); a run that starts, stops or ends, or brings its first record, at once."""
        followers = self.workbench.followers.values()
        statuses = tuple((f.run_id, f.status, bool(f.records)) for f in followers)
        wait = self._last_data_draw + self.pace.interval - time.monotonic()
        if statuses != self._statuses:  # a run started, stopped, ended or has its first record
            self._statuses = statuses
            wait = 0
        if wait <= 0:
            self._draw_data()
            return
        if self._pending_draw is None:
            self._pending_draw = self.set_timer(wait, self._draw_data)
        # the status line (step, rate, accuracies) is one line: it follows every poll
        follower = self._highlighted() if self.overview else self.current()
        if follower is not None:
            self.show_status(follower)

    def show_status(self, follower: RunFollower) -> None:
        widget = self.query_one("#live-status", Static)
        parts = [*status_parts(follower), (self.system.text(follower), SYSTEM_RANK)]
        # one row (its least used parts left out): no jump between one and two rows
        width = 0 if follower.summary.get("error") else widget.content_size.width
        update_line(widget, fit_parts(parts, width))

    def _draw_data(self) -> None:
        self._pending_draw = None
        self.pace.drawing()
        self._last_data_draw = time.monotonic()
        self.redraw()

    def redraw_curves(self) -> None:
        self.redraw()

    def current(self) -> RunFollower | None:
        bench = self.workbench
        return bench.followers.get(bench.current_run_id or "")

    def in_overview(self, follower: RunFollower) -> bool:
        """Listed and drawable in the overview: live, or pinned (a pinned run stays)."""
        return follower.status in LIVE_STATUSES or follower.run_id in self.pinned

    def drawn(self) -> list[RunFollower]:
        """The overview's runs that are drawn: live or pinned, and not hidden."""
        followers = self.workbench.followers
        return [
            followers[i]
            for i in self._side
            if i in followers and self.in_overview(followers[i]) and i not in self.hidden
        ]

    def redraw(self, force: bool = False) -> None:
        """Redraw only when the followed runs, the options or what is shown moved."""
        grids = self.query("#live-grid")
        if not grids:
            # On a busy machine a Mount or a resize can be handled after the app began
            # closing and took the screen's children away: there is nothing to draw.
            return
        grid = grids.first(Container)
        followers = list(self.workbench.followers.values())
        runs = [(f.run_id, f.status) for f in followers]
        shown = self.following.look(runs, self.workbench.current_run_id, LIVE_STATUSES)
        self.workbench.current_run_id = shown  # the next live run, where the shown one ended
        follower = self.current()
        if follower is None and followers:
            follower = followers[-1]
            self.workbench.current_run_id = follower.run_id
        key = (
            tuple((f.run_id, f.status, f.version) for f in followers),
            follower.run_id if follower else None,
            self.workbench.axis_options,
            self.overview,
            self.grid,
            tuple(self.metrics),
            self.view,
            frozenset(self.pinned),
            frozenset(self.hidden),
            (grid.size.width, grid.size.height),
        )
        if key == self._drawn and not force:
            return
        self._drawn = key
        self.set_class(self.overview, "overview")
        self._side = [f.run_id for f in followers]
        if self.overview:
            self._draw_overview(followers)
        else:
            self._draw_single(followers, follower)
        cursor = self.query_one("#live-cursor", Static)
        update_line(cursor, Text(self.cursor_text(self._panels)))

    # -- one run ------------------------------------------------------------------

    def _draw_single(self, followers: list[RunFollower], follower: RunFollower | None) -> None:
        self.query_one("#live-views", ContentSwitcher).current = "live-single"
        self._draw_run_list(followers, follower)
        panes = [self.query_one("#live-acc", CurvePane), self.query_one("#live-loss", CurvePane)]
        log = self.query_one("#live-log", Static)
        if follower is None:
            update_line(
                self.query_one("#live-status", Static),
                Text(
                    "No live run. Start one from Presets (F2, then Ctrl+R) or History (F4, n), "
                    "or in a shell: grok-tui --run PRESET — it shows up here."
                ),
            )
            for pane in panes:
                pane.show([])
            self._panels = []
            log.display = False
            return
        self.show_status(follower)
        options = self.workbench.axis_options  # a long run: its downsampled view
        zoomed = self.view.zoom > 0
        self._panels = view_panels(
            follower.columns, follower.summary, self.metrics, options, zoomed, self.window
        )
        window = self.window(self._panels)
        for pane, panel in zip(panes, self._panels, strict=True):
            pane.show_panel(panel, log_x=options.log_x, window=window, cursor=self.view.cursor)
        if follower.status in ("crashed", "failed"):
            lines = tail(follower.run.log_path, 4)
            log.update("[b]log.txt:[/b]\n" + "\n".join(safe_markup(line) for line in lines))
            log.display = bool(lines)
        else:
            log.display = False

    def _draw_run_list(self, followers: list[RunFollower], current: RunFollower | None) -> None:
        update_line(self.query_one("#live-runs", Static), bar_line(followers, current, run_name))

    # -- the overview ---------------------------------------------------------------

    def _draw_overview(self, followers: list[RunFollower]) -> None:
        self.query_one("#live-log", Static).display = False
        colours = run_colours(self._side)
        self._fill_side(followers, colours)
        drawn = self.drawn()
        options = self.workbench.axis_options
        numbers = {run_id: n for n, run_id in enumerate(self._side, start=1)}
        runs = [
            (f.run_id, f"{numbers[f.run_id]}:{cut(run_name(f), LABEL_NAME)}", thin(f.records))
            for f in drawn
        ]
        overlays = self.overview_bands(runs, self.metrics, options) or [
            runs_panel(runs, colours, m, options) for m in self.metrics
        ]  # b: seeds grouped into each setting's mean and band, overlaid
        switcher = self.query_one("#live-views", ContentSwitcher)
        shown = len(drawn)
        if self.grid and not self.seed_bands:
            switcher.current = "live-grid"
            shown = self._draw_grid(drawn, runs, overlays[0], colours)
        else:
            switcher.current = "live-overlay"
            self._panels = overlays
            window = self.window(overlays)
            for pane, panel in zip(
                self.query("#live-overlay CurvePane").results(CurvePane), overlays, strict=False
            ):
                pane.empty_text = "no run to draw: pin (p) or show (Space) one"
                pane.show_panel(
                    panel,
                    log_x=options.log_x,
                    window=window,
                    cursor=self.view.cursor,
                    legend=self.seed_bands,  # names each setting's mean and band
                )
        live = sum(f.status in LIVE_STATUSES for f in followers)
        counts = [f"{live} live"] + [
            f"{len(ids)} {what}"
            for ids, what in ((self.pinned, "pinned"), (self.hidden, "hidden"))
            if ids
        ]
        head = [
            ("overview", "bold"),
            f" {' · '.join(counts)} · ",
            f"{shown}/{len(drawn)} drawn",
            ("  p pin · Space hide · g " + ("overlay" if self.grid else "grid"), "dim"),
        ]
        if shown < len(drawn):
            head.insert(3, (" (no room: hide some, or g)", "yellow"))
        line = Text.assemble(*head)
        if line.cell_len > self.size.width - 2:  # the keys are in the help: one line at 80
            line = Text.assemble(*head[:-1])
        update_line(self.query_one("#live-runs", Static), line)
        highlighted = self._highlighted()
        if highlighted is None:
            update_line(self.query_one("#live-status", Static), Text("No run followed yet."))
        else:
            self.show_status(highlighted)

    def _draw_grid(
        self,
        drawn: list[RunFollower],
        runs: list[tuple[str, str, list[dict[str, Any]]]],
        overlay: Panel,
        colours: dict[str, tuple[int, int, int]],
    ) -> int:
        """A small pane per drawn run, as many as fit; how many were drawn."""
        grid = self.query_one("#live-grid", Container)
        width, height = grid.size.width or 56, grid.size.height or 16
        cols, rows = grid_shape(width, height, len(drawn))
        count = min(len(drawn), cols * rows)
        grid.styles.grid_size_columns, grid.styles.grid_size_rows = cols, rows
        panes = list(grid.query(CurvePane).results(CurvePane))
        if len(panes) < count:
            new = [CurvePane("accuracy", classes="small") for _ in range(count - len(panes))]
            grid.mount(*new)
            panes += new
        options = self.workbench.axis_options
        divisor, _ = x_axis([r for _, _, records in runs for r in records], options)
        titles = []
        for follower, (run_id, label, records) in zip(drawn[:count], runs, strict=False):
            marks = event_marks(records, follower.summary, options, divisor)
            status = "" if follower.status in LIVE_STATUSES else f" {follower.status}"
            titles.append((run_id, label + status, marks))
        self._panels = small_multiples(overlay, titles)
        self._cursor_panels = [overlay]
        windows = self.pane_windows(self._panels)  # each pane spans its own run
        for n, pane in enumerate(panes):
            pane.display = n < count
            if n < count:
                panel = self._panels[n]
                pane.show_panel(
                    panel,
                    log_x=options.log_x,
                    window=windows[n],
                    cursor=self.view.cursor,
                    legend=False,
                    title=f"{swatch(colours[titles[n][0]], titles[n][1])} {overlay.title}",
                )
        if not count:
            self._panels = []
        return count

    def cursor_text(self, panels: list[Panel] | None = None) -> str:
        # small multiples: one line naming each run, from the panel they were cut from
        if self.overview and self.grid and self._panels:
            return super().cursor_text(self._cursor_panels)
        return super().cursor_text(panels)

    _cursor_panels: list[Panel] = []

    def own_ranges(self) -> bool:
        return self.overview and self.grid  # small multiples: each its own x range

    def _fill_side(
        self, followers: list[RunFollower], colours: dict[str, tuple[int, int, int]]
    ) -> None:
        side = self.query_one("#live-side", OptionList)
        highlighted = side.highlighted
        keep = side.get_option_at_index(highlighted).id if highlighted is not None else None
        options: list[tuple[str, Text]] = []
        for n, follower in enumerate(followers, start=1):
            run_id = follower.run_id
            r, g, b = colours[run_id]
            listed = self.in_overview(follower)
            drawn = listed and run_id not in self.hidden
            name = f"{n}:{cut(run_name(follower), SIDE_NAME)}"
            status = SHORT_STATUS.get(follower.status, follower.status[:5])
            text = Text.assemble(
                ("●" if drawn else "○", f"rgb({r},{g},{b})"),
                ("*" if run_id in self.pinned else " ", "bold"),
                (f"{name:<{SIDE_NAME + 3}} ", "" if drawn else "dim"),
                (status, STATUS_STYLES.get(follower.status, "") or "dim"),
            )
            options.append((run_id, text))
        if options == self._side_shown:
            return  # rebuilding the list re-renders it, and its highlight stays where it is
        self._side_shown = options
        side.set_options([Option(text, id=run_id) for run_id, text in options])
        ids = [f.run_id for f in followers]
        if keep in ids:
            side.highlighted = ids.index(keep)
        elif ids:
            side.highlighted = 0

    def _highlighted(self) -> RunFollower | None:
        side = self.query_one("#live-side", OptionList)
        if side.highlighted is None or side.highlighted >= len(self._side):
            return None
        return self.workbench.followers.get(self._side[side.highlighted])

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        follower = self._highlighted()
        if self.overview and follower is not None:
            self.show_status(follower)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on a run of the list: that run alone."""
        if event.option.id:
            self.workbench.current_run_id = event.option.id
            self.overview = False
            self.redraw()

    # -- what CurvesScreen asks -------------------------------------------------------

    def panels(self) -> list[Panel]:
        return self._panels

    def norm_pane(self) -> int:
        return 0 if self.overview and self.grid else 1  # small multiples plot the first

    def metric_records(self) -> list[dict[str, Any]]:
        if not self.overview:
            follower = self.current()
            return follower.records if follower else []
        return [r for f in self.drawn() for r in (*f.records[:20], *f.records[-50:])]

    def export_name(self) -> str:
        if self.overview:
            return f"live-overview-{self.metrics[0]}"
        follower = self.current()
        return run_name(follower) if follower else "live"

    # -- actions ------------------------------------------------------------------

    def target(self) -> RunFollower | None:
        """The run that p and Space act on: the list's in the overview, else the current."""
        return self._highlighted() if self.overview else self.current()

    def action_toggle_overview(self) -> None:
        self.overview = not self.overview
        self.redraw()
        if self.overview:
            self.query_one("#live-side", OptionList).focus()

    def action_toggle_grid(self) -> None:
        if self.overview:
            self.grid = not self.grid
        self.overview = True
        self.redraw()
        self.query_one("#live-side", OptionList).focus()

    def action_pin(self) -> None:
        follower = self.target()
        if follower is None:
            return
        self.pinned ^= {follower.run_id}
        pinned = follower.run_id in self.pinned
        self.notify(
            safe_markup(f"{run_name(follower)} {'pinned' if pinned else 'unpinned'}"), timeout=2
        )
        self.redraw()

    def action_hide(self) -> None:
        follower = self.target()
        if follower is None:
            return
        self.hidden ^= {follower.run_id}
        self.redraw()

    def action_cycle(self, delta: int) -> None:
        bench = self.workbench
        runs = [(f.run_id, f.status) for f in bench.followers.values()]
        shown = runs_bar.cycled(runs, bench.current_run_id, delta, LIVE_STATUSES)
        if shown is not None:  # the runs of the bar: the live ones, and the one shown
            bench.current_run_id = shown
            self.redraw()

    def action_stop(self) -> None:
        follower = self.target()
        if follower is None:
            self.notify("No run to stop.", severity="warning")
            return
        self.post_message(StopRequested(follower.run))

    def action_resume(self) -> None:
        follower = self.target()
        if follower is None:
            self.notify("No run to resume.", severity="warning")
            return
        self.post_message(ResumeRequested(follower.run))
