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
| F2 / F3 / F4 / F6 | Presets / Live runs / History / Queue |
| F1 or ? | this help |
| Ctrl+P | command palette: every action by name |
| Tab / Shift+Tab | move between fields and panes |
| Ctrl+Q (q on Live, Compare, a run) | quit (asks about live runs: leave them running, or stop them) |

## Presets (F2)
Pick a preset on the left (✓ valid, ✗ invalid: its error is shown). Edit the common
fields on the right: values are checked as you type (TOML syntax: `1e-3`, `true`,
`[256, 256]`). **Ctrl+R** runs it · **Ctrl+N** runs it with N seeds x M split seeds as
one sweep (trained as vectorised groups where that pays) · **Ctrl+E** edits every field
in `$EDITOR` (checked on return; text that does not load is kept, and Ctrl+E reopens it)
· **Ctrl+S** saves it as a new preset file that `extends` this one and writes only what
differs. The description is a field of the form.
The *TOML* tab edits the preset file's own text (any field, comments, `extends`),
checked as you type with the errors of the list (`file:line: field: message`);
**Ctrl+S** there writes the file, only when it loads (otherwise nothing is written and
your text stays). The form and the TOML tab are one preset: entering the tab shows the
file's text, or, after edits in the form, the form's preset as it would be saved
(`extends` plus what differs; comments are not kept); leaving it puts edited text that
loads into the form (text that does not load keeps you on the tab: fix it, or F5 to
discard it). Letters, digits and Space typed there are text, never commands (Ctrl and F
keys keep their meaning); Tab leaves it.
The *Resolved* tab shows every field of the preset. New, changed and removed preset
files show up by themselves; **F5** reads the folders again at once. Unsaved edits mark
the *Edit* and *TOML* tabs, and nothing discards them without asking. **Ctrl+T** queues
the preset instead of running it now (see Queue).

## Live (F3)
Accuracy (0..1) and loss (log scale) of the followed runs; vertical marks at
fit_step (train accuracy reached) and grok_step (test accuracy reached).
**s** stop (checkpoint, then status stopped) · **r** resume · **[ ]** previous / next
run · **m** smoothing (raw stays visible; **< >** its EMA weight) · **t** x axis.
The status line follows every poll (about once a second); the curves are redrawn every
2 s, or less often (up to 10 s) where drawing them would keep the TUI above 2.5% of a
core. A run that starts, stops or ends, and every key, redraws at once. The status line
ends with the run's CPU and RSS (from /proc) and, on a GPU, its device's use and memory
(nvidia-smi, every 5 s); the bar lists the live runs, the ended ones fold into "+N ended",
and when the run shown ends Live moves on to the next live one (not from a failed run).

**v** the overview: every live run (each point of a running sweep too) and every pinned
run, as small multiples (each on its own run's x range) or (**g**) overlaid (one x range,
each line ending in its run's number), test solid and train dim; new runs appear by
themselves. The list beside it: **↑ ↓** pick a run · **p** pin (a pinned run stays after
it ends) · **Space** hide / show · **Enter** that run alone · **s** / **r** stop / resume it.

## Curves (Live, a run, Compare)
| key | |
|---|---|
| 1 / 2 | what the first / second pane plots: accuracy, loss, param_norm, grad_norm, lr or any numeric field of the records (progress measures: key_frequency_share, restricted_loss, …) |
| o | weight norm (param_norm) in the second pane; again: back |
| ← → (Shift: ×10) | the cursor: it stops at records; the values at it show under the plots (a run read at another step, one that ended before it say, names that step: `@2000`) |
| + / - | zoom the x axis in / out, around the cursor (else on the latest steps), every pane alike |
| 0 | whole run, no cursor (the line under the plots follows the latest record) |
| l | log x axis (step 0 has no place on it) |
| m / t | smoothing (its EMA weight: < lighter, > heavier) / steps or wall time |
| x | export the panes as PNG and SVG under RUNS/exports/ (needs matplotlib: `pip install 'grok-tui[analysis]'`) |
| b | group seeds (Compare, the overview, a sweep): runs that differ only in `train.seed` and `data.split_seed` drawn as one setting, its mean line tagged A, B, … and its band dotted: min–max of the seeds, again the 95% t interval of the mean (the pane names which), again each run |

## History (F4)
Every run of the runs directory. **/** filter (words; `op=add`, `p=97` match one
column), status selector beside it · **o** sort by a column (again: reverse) ·
**Enter** open (curves, preset, log) · **Space** mark (the cursor stays) · **c** compare the marked runs ·
**d** delete · **t** a note on the run (kept in note.txt, searched by /) · **n** re-run the same preset · **e** copy the preset into the editor ·
**x** export the table to CSV (all, filtered or marked), or every record · **w** the
records of the marked runs (else the run under the cursor) in one CSV, with the run id
and the varying preset fields as columns · **g** group by sweep · **v** (or Enter on a sweep's row) the sweep's table and
heatmap; Space on it marks its runs · **a** the run's analysis (also from a run's page) ·
**s** / **r** stop / resume · **Q** queue a re-run · **F5** reload. A queued run has
status *queued* until the queue starts it.

## Queue (F6)
Runs that wait for a free slot on their device (cpu, cuda:N, mps), first line first.
A device has 1 slot unless changed: that many runs live on it at once, runs started by
hand included. A runner process of its own starts the next run as a slot frees, so the
queue goes on after this app closes (and the app starts a runner again when runs wait
and none serves them). The queue lives in RUNS/queue.json; `grok-tui queue` edits it too.
**K** / **J** (or **Shift+↑ ↓**) move the entry up / down · **d** (or **Delete**) remove
it, after asking (its never-trained run directory goes too) · **r** run it now, whatever the slots ·
**+** / **-** one slot more / fewer on its device (**0** pauses the device).

## A sweep (v on History)
Its table (a row per point: coordinates, status, fit_step, grok_step, accuracies), the
spread over seeds with 95% intervals (a two-level bootstrap; Wilson for the grokked fraction), and a heatmap of two varying fields.
**m** the metric · **a** swap the axes · **x** the table as CSV · **w** every point's
records in one CSV. **b** group seeds: a row per setting with its grokked fraction and Wilson 95%
interval (`4/5 0.80 [0.38, 0.96]`, as History's row of a sweep of seeds), and each setting's mean test accuracy with its band.

## Compare
Accuracy and loss of the marked runs, one colour per run (the same each time): test
solid, train dim, each line ending in its run's number; the legend gives each run's fit
and grok steps. Below, the preset
fields in which they differ (**f** focuses that table). The curve keys above apply.

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
