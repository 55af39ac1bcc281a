"""The help screen: what each screen is for and its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# grok-tui

Train small models on algorithmic tasks and watch them grok. Every run is its own
process writing a run directory; closing this app (or losing SSH) leaves runs going,
and the next `grok-tui` finds them again.

## Everywhere
| key | |
|---|---|
| F2 / F3 / F4 | Presets / Live runs / History |
| F1 or ? | this help |
| Ctrl+P | command palette: every action by name |
| Tab / Shift+Tab | move between fields and panes |
| Ctrl+Q (q on Live, Compare, a run) | quit (asks about live runs: leave them running, or stop them) |

## Presets (F2)
Pick a preset on the left (✓ valid, ✗ invalid: its error is shown). Edit the common
fields on the right: values are checked as you type (TOML syntax: `1e-3`, `true`,
`[256, 256]`). **Ctrl+R** runs it, **Ctrl+S** saves it as a new preset file.
The *Resolved* tab shows every field of the preset. New, changed and removed preset
files show up by themselves; **F5** reads the folders again at once. Unsaved edits mark
the *Edit* tab, and nothing discards them without asking.

## Live (F3)
Accuracy (0..1) and loss (log scale) of the followed runs; vertical marks at
fit_step (train accuracy reached) and grok_step (test accuracy reached).
**s** stop (checkpoint, then status stopped) · **r** resume · **[ ]** previous / next
run · **m** smoothing (raw stays visible) · **t** x axis: steps or wall time.

## History (F4)
Every run of the runs directory. **/** filter (words; `op=add`, `p=97` match one
column), status selector beside it · **o** sort by a column (again: reverse) ·
**Enter** open (curves, preset, log) · **Space** mark · **c** compare the marked runs ·
**d** delete · **t** a note on the run (kept in note.txt, searched by /) · **n** re-run the same preset · **e** copy the preset into the editor ·
**x** export the table to CSV (all, filtered or marked) · **w** write a run's records to
CSV · **g** group by sweep · **v** (or Enter on a sweep's row) the sweep's table and
heatmap; Space on it marks its runs · **a** the run's analysis (also from a run's page) ·
**s** / **r** stop / resume · **F5** reload.

## Compare
Test accuracy and test loss of the marked runs, one colour per run (the same each
time), and the preset fields in which they differ. **m**, **t** as above.

## Over SSH
OpenSSH does not forward `COLORTERM`: set `COLORTERM=truecolor` (or
`TEXTUAL_COLOR_SYSTEM=truecolor`) on the remote side for full colours. If the
terminal goes away, the app exits; runs keep going.
"""


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
        Binding("f1", "dismiss", "Close", show=False),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()
