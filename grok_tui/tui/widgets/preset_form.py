"""A form over the common fields of a preset, validated as the user types.

The form keeps the full resolved preset it was loaded from (``base``) and applies its
fields to it as ``--set``-style overrides, so the fields it does not show (dropout,
schedule, ...) are kept, and a value is parsed exactly as on the command line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import MountError, Widget
from textual.widgets import Input, Label, Select, Static

from grok_tui.text import safe_text
from grok_tui.tui.widgets.ordered_input import OrderedInput
from grok_tui.tui.widgets.steady_select import SteadySelect

if TYPE_CHECKING:
    from pydantic import BaseModel

    from grok_tui.config import Preset, PresetError

# grok_tui.config (pydantic) is imported when the form is built, after the first frame:
# it is a third of the app's import time.

BOOL_CHOICES = ("true", "false")
# Prose, taken as typed (never parsed as TOML: "42" stays a string). A multi-line
# description is shown on one line; left as shown, the field keeps the original text.
VERBATIM_KEYS = frozenset({"description"})
# Left empty, these fields set nothing: the budget is steps or epochs, whichever is filled.
OPTIONAL_KEYS = frozenset({"train.steps", "train.epochs"})
FAMILIES = {
    "transformer": "transformer",
    "mlp": "mlp",
    "lstm": "recurrent",
    "gru": "recurrent",
    "rnn": "recurrent",
}


def family_models() -> dict[str, type[BaseModel]]:
    from grok_tui import config

    return {
        "transformer": config.TransformerConfig,
        "mlp": config.MLPConfig,
        "recurrent": config.RecurrentConfig,
    }


@dataclass(frozen=True)
class FormField:
    key: str  # the dotted preset field
    label: str
    choices: tuple[str, ...] | None = None  # a Select instead of an Input
    family: str | None = None  # shown only for this model family

    @property
    def widget_id(self) -> str:
        return "f-" + self.key.replace(".", "-") + (f"-{self.family}" if self.family else "")


@cache
def form_fields() -> tuple[FormField, ...]:
    """The fields of the form, in order (the choices come from the schema)."""
    from grok_tui import config

    return (
        FormField("name", "name"),
        FormField("description", "description"),
        FormField("data.operation", "operation", tuple(config.OPERATIONS)),
        FormField("data.p", "p"),
        FormField("data.k", "k"),
        FormField("data.train_fraction", "train_fraction"),
        FormField("data.include_op_tokens", "op tokens", BOOL_CHOICES),
        FormField("data.equals_token", "= token", BOOL_CHOICES),
        FormField("model.type", "model", config.MODEL_TYPES),
        FormField("model.layers", "layers", family="transformer"),
        FormField("model.d_model", "d_model", family="transformer"),
        FormField("model.heads", "heads", family="transformer"),
        FormField("model.d_ff", "d_ff", family="transformer"),
        FormField("model.embed_dim", "embed_dim", family="mlp"),
        FormField("model.widths", "widths", family="mlp"),
        FormField("model.embed_dim", "embed_dim", family="recurrent"),
        FormField("model.hidden_size", "hidden_size", family="recurrent"),
        FormField("model.layers", "layers", family="recurrent"),
        FormField("model.bidirectional", "bidirectional", BOOL_CHOICES, family="recurrent"),
        FormField("optim.name", "optimizer", config.OPTIMIZERS),
        FormField("optim.lr", "lr"),
        FormField("optim.weight_decay", "weight_decay"),
        FormField("train.batch_size", "batch_size"),
        FormField("train.steps", "steps"),
        FormField("train.epochs", "epochs"),
        FormField("train.seed", "seed"),
        FormField("train.device", "device"),
    )


def describe(field: FormField) -> str:
    """The field's description from the schema (pydantic Field(description=...))."""
    from grok_tui import config

    if field.key == "model.type":
        return "model family: " + ", ".join(config.MODEL_TYPES)
    section, _, name = field.key.rpartition(".")
    sections: dict[str, type[BaseModel]] = {
        "": config.Preset,
        "data": config.DataConfig,
        "optim": config.OptimConfig,
        "train": config.TrainConfig,
    }
    model = sections.get(section) or family_models()[field.family or "transformer"]
    info = model.model_fields.get(name)
    return (info.description or "") if info else ""


def default_preset_dict() -> dict[str, Any]:
    from grok_tui.config import Preset

    return Preset().to_dict()


def get_dotted(data: dict[str, Any], key: str) -> Any:
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def to_text(value: Any) -> str:
    """A value as the user types it (TOML syntax, bare words for strings)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_text(v) for v in value) + "]"
    return str(value)


def parse_text(key: str, text: str) -> Any:
    """What a typed value means: TOML (1e-3, true, [1, 2]), else the bare text as a string."""
    text = text.strip()
    if key == "model.widths" and text and not text.startswith("["):
        text = f"[{text}]"  # "256, 256" is accepted as a list
    from grok_tui.config import PresetError, parse_override

    try:
        return parse_override(f"{key}={text}")[1]
    except PresetError:
        return text


def drop_inapplicable(raw: dict[str, Any]) -> dict[str, Any]:
    """Leave out the optimizer options the chosen optimizer does not take.

    Switching adamw to sgd in the form must not fail on the betas the base preset had.
    """
    optim = dict(raw.get("optim") or {})
    name = optim.get("name", "adamw")
    if name not in ("adam", "adamw", "nadam"):
        optim.pop("betas", None)
    if name not in ("sgd", "rmsprop"):
        optim.pop("momentum", None)
    if name != "sgd":
        optim.pop("nesterov", None)
    return {**raw, "optim": optim}


def _toml_ready(value: Any) -> Any:
    """A raw dict tomli-w can write: no None (unset), tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_toml_ready(v) for v in value]
    return value


def error_lines(exc: PresetError) -> list[PresetError]:
    from grok_tui.config import PresetErrors

    return list(exc.errors) if isinstance(exc, PresetErrors) else [exc]


class FormSelect(SteadySelect):
    """The form's Select: its ~50 fields are mounted after the first frame, so an app
    closing (or a busy machine) can prune them mid-mount (SteadySelect)."""


class PresetForm(VerticalScroll):
    """Edits the common fields; posts Validated after each change.

    The fields are mounted on the first load(), after the first frame: they are most of
    the widgets of the first screen, and the app should show itself before building them.
    """

    DEFAULT_CSS = """
    PresetForm { height: 1fr; padding: 0 1; }
    PresetForm #form-grid { layout: grid; grid-size: 2; grid-columns: 16 1fr; grid-rows: 1; height: auto; }
    PresetForm .form-label { padding: 0 1 0 0; color: $text-muted; }
    PresetForm Input, PresetForm Select { width: 1fr; }
    PresetForm .-bad { background: $error 25%; }
    PresetForm #form-help { dock: bottom; color: $text-muted; height: auto; padding: 0; }
    /* a focused Select shows it without colour too (NO_COLOR): reversed, as a cursor */
    PresetForm FormSelect:focus > SelectCurrent { text-style: reverse; }
    """
    # Not a Tab stop of its own: focus goes to its fields (each shows it), which it
    # scrolls into view; a stop on the form itself showed nothing.
    can_focus = False

    class Validated(Message):
        """The form changed: the preset it now describes, or its errors."""

        def __init__(
            self, form: PresetForm, preset: Preset | None, errors: list[PresetError]
        ) -> None:
            super().__init__()
            self.form = form
            self.preset = preset
            self.errors = errors

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.base: dict[str, Any] = {}
        self.preset: Preset | None = None
        self.errors: list[PresetError] = []
        self._grid: Widget | None = None  # the fields' grid, once mounted
        self._building = False
        self._focus_when_built = False
        self._pending_base: dict[str, Any] | None = None
        self._validation_pending = False
        # the fields' values right after the last load: edits are what differs from them
        self._baseline: list[tuple[str, Any]] | None = None
        self._baseline_pending = False
        # what the last load from a file (or a run) showed: an edit made in $EDITOR is
        # loaded as a new base, and still counts as unsaved against this
        self.pristine: dict[str, Any] = {}
        self._shown_text: dict[str, str] = {}  # VERBATIM_KEYS: the text each load showed

    def compose(self) -> ComposeResult:
        yield Static("", id="form-help")

    def on_mount(self) -> None:
        # the help follows focus in the very step focus moves (a watch, not a message
        # that keys typed ahead would overtake)
        self.watch(self.screen, "focused", self._show_help, init=False)

    async def _build(self) -> None:
        grid = Widget(id="form-grid")
        try:
            await self._mount_fields(grid)
        except MountError:
            # the screen was left while the fields were being mounted (a key pressed
            # right after start-up): built again at the next load
            self._building = False
            if grid.is_attached:
                await grid.remove()
            return
        self._grid = grid
        self._building = False
        if self._focus_when_built:
            self.focus_first()
        if self._pending_base is not None:
            self.load(self._pending_base)

    def on_show(self) -> None:
        if not self.built and not self._building and self._pending_base is not None:
            self.load(self._pending_base)  # a build cut short by leaving the screen

    async def _mount_fields(self, grid: Widget) -> None:
        await self.mount(grid, before="#form-help")
        widgets: list[Widget] = []
        for field in form_fields():
            widget: Widget
            if field.choices:
                widget = FormSelect(
                    [(c, c) for c in field.choices],
                    allow_blank=False,
                    compact=True,
                    id=field.widget_id,
                )
            else:
                widget = OrderedInput(compact=True, id=field.widget_id, select_on_focus=False)
            widget.tooltip = describe(field)
            widgets += [
                Label(field.label, classes="form-label", id="label-" + field.widget_id),
                widget,
            ]
        await grid.mount_all(widgets)

    @property
    def built(self) -> bool:
        """Whether the fields were mounted (the first load builds them)."""
        return self._grid is not None

    @property
    def whole(self) -> bool:
        """Built, and no field gone yet.

        An app that closes under load prunes the fields (the leaves first) while the
        form's own handlers still run: a Select's first Changed, a validation after the
        refresh, the fill after the build. They find the fields gone and do nothing. The
        prune flags every widget before it removes any, and a field's inner parts go
        before the field, so the flag is checked besides the count.
        """
        grid = self._grid
        return (
            grid is not None and not self._pruning and len(grid.children) == 2 * len(form_fields())
        )

    def focus_first(self) -> None:
        """Put the cursor in the first field (once the fields exist)."""
        if self.whole:
            self._focus_when_built = False
            self.screen.set_focus(self.query_one("#f-name"))
        else:
            self._focus_when_built = True

    def fields(self) -> Iterator[tuple[FormField, Input | Select]]:
        for field in form_fields():
            yield field, self.query_one("#" + field.widget_id)  # type: ignore[misc]

    @property
    def family(self) -> str:
        widget = self.query_one("#f-model-type", Select)
        return FAMILIES.get(str(widget.value), "transformer")

    def load(self, base: dict[str, Any], *, edited: bool = False) -> None:
        """Show a resolved preset (Preset.to_dict()) in the form.

        ``edited``: the preset the user wrote in $EDITOR from this form; the form shows it
        and stays modified (unsaved) when it differs from what was loaded before.
        """
        self.base = base
        if not edited:
            self.pristine = base
        if not self.built:
            # Built on the first load, which comes after the first frame (the presets
            # are listed by a worker): the first frame does not wait for ~50 widgets.
            self._pending_base = base
            if not self._building:
                self._building = True
                self.call_later(self._build)
            return
        self._pending_base = None
        if not self.whole:
            return
        family = FAMILIES.get(get_dotted(base, "model.type") or "transformer", "transformer")
        for field, widget in self.fields():
            if field.family and field.family != family:
                source = family_models()[field.family]().model_dump(mode="json")
                value = source.get(field.key.split(".", 1)[1])
            else:
                value = get_dotted(base, field.key)
            text = to_text(value)
            if field.key in VERBATIM_KEYS:
                text = " ".join(text.splitlines())
                self._shown_text[field.key] = safe_text(text)
            self._set_widget(widget, text)
            if field.key in VERBATIM_KEYS and isinstance(widget, Input):
                widget.cursor_position = 0  # prose: show its beginning, not its end
        self._show_family(family)
        self._baseline_pending = True  # taken once the loaded values are in the fields
        self.schedule_validation()

    @property
    def modified(self) -> bool:
        """Whether the user changed a field since the last load (unsaved edits)."""
        if not self.whole or self._baseline is None or self._baseline_pending:
            return False
        if self.base != self.pristine:  # an edit made in $EDITOR
            return True
        try:
            return self.values() != self._baseline
        except ValueError:  # a field that does not parse yet: certainly an edit
            return True

    def raw(self) -> dict[str, Any]:
        """The preset the form describes, as a raw dict, valid or not."""
        from grok_tui.config import apply_overrides

        return drop_inapplicable(apply_overrides(self.base, self.values()))

    def toml_text(self) -> str:
        """The whole preset the form describes as TOML, every field: what $EDITOR opens."""
        preset = self.validate()
        if preset is not None:
            return preset.to_toml()
        import tomli_w

        from grok_tui.config import PresetError

        try:  # not valid yet: the user's values as they stand, to fix in the editor
            return tomli_w.dumps(_toml_ready(self.raw()))
        except (PresetError, TypeError, ValueError):
            return tomli_w.dumps(_toml_ready(self.base))

    def _set_widget(self, widget: Input | Select, text: str) -> None:
        if isinstance(widget, Select):
            widget.value = text
        else:
            # A run's frozen preset may come from someone else: an Input shows control
            # characters raw, so they are shown (and kept, if saved) as their escapes.
            widget.value = safe_text(text)

    def _show_family(self, family: str) -> None:
        for field in form_fields():
            if field.family:
                shown = field.family == family
                self.query_one("#label-" + field.widget_id).display = shown
                self.query_one("#" + field.widget_id).display = shown

    def values(self) -> list[tuple[str, Any]]:
        """The overrides the visible fields make, model.type first among the model ones."""
        family = self.family
        overrides = []
        for field, widget in self.fields():
            if field.family and field.family != family:
                continue
            if isinstance(widget, Select):
                overrides.append((field.key, parse_text(field.key, str(widget.value))))
            elif field.key in OPTIONAL_KEYS and not widget.value.strip():
                continue
            elif field.key in VERBATIM_KEYS:
                if widget.value != self._shown_text.get(field.key):
                    overrides.append((field.key, widget.value.strip()))
            else:
                overrides.append((field.key, parse_text(field.key, widget.value)))
        return overrides

    def validate(self) -> Preset | None:
        """Validate the form against its base; mark the fields in error."""
        if not self.whole:
            return None
        from grok_tui.config import PresetError, apply_overrides, validate_preset

        try:
            raw = drop_inapplicable(apply_overrides(self.base, self.values()))
            preset = validate_preset(raw)
            errors: list[PresetError] = []
        except PresetError as exc:
            preset, errors = None, error_lines(exc)
        bad = {e.field for e in errors}
        family = self.family
        for field, widget in self.fields():
            is_bad = (not field.family or field.family == family) and field.key in bad
            if widget.has_class("-bad") != is_bad:
                widget.set_class(is_bad, "-bad")
        self.preset, self.errors = preset, errors
        self.post_message(self.Validated(self, preset, errors))
        return preset

    def schedule_validation(self) -> None:
        """Validate once after the changes of this refresh (loading sets every field)."""
        if not self._validation_pending:
            self._validation_pending = True
            self.call_after_refresh(self._validate_now)

    def _validate_now(self) -> None:
        self._validation_pending = False
        if not self.whole:
            return
        if self._baseline_pending:
            self._baseline_pending = False
            try:
                self._baseline = self.values()
            except ValueError:
                self._baseline = None
        self.validate()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.schedule_validation()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if not self.whole:
            return
        if event.select.id == "f-model-type":
            family = FAMILIES.get(str(event.value), "transformer")
            base_family = FAMILIES.get(get_dotted(self.base, "model.type") or "", "")
            source = (
                self.base["model"]
                if base_family == family
                else family_models()[family]().model_dump(mode="json")
            )
            for field, widget in self.fields():
                if field.family == family:
                    self._set_widget(widget, to_text(source.get(field.key.split(".", 1)[1])))
            self._show_family(family)
        self.schedule_validation()

    def _show_help(self, focused: Widget | None) -> None:
        """The help line names the focused field (its Select's menu too); nothing when
        focus is outside the fields."""
        # form_fields() imports grok_tui.config (pydantic): only when focus is in the form,
        # never for the first frame's focus on the presets list (bench/startup.py)
        inside = focused is not None and self in focused.ancestors
        fields = {field.widget_id: field for field in form_fields()} if inside else {}
        help_text = ""
        for node in focused.ancestors_with_self if focused is not None else ():
            if node is self:
                break
            field = fields.get(node.id or "")
            if field is not None:
                help_text = f"{field.key}: {describe(field)}"
                break
        with contextlib.suppress(NoMatches):  # the form is being taken down
            self.query_one("#form-help", Static).update(help_text)
