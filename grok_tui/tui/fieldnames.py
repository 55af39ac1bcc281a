"""The names a History filter may use, and the close matches of a name that is none of them.

Every preset field by the dotted name that ``--set``, sweep axes and the records CSV use
(read from the schema, so a field added there is filterable at once), the short name of a
field whose last part is unique (``seed`` is ``train.seed``), and what the caller knows
besides (columns, aliases, the fields of old runs). Plain Python: no Textual.
"""

from __future__ import annotations

import difflib
import functools
import types
from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from grok_tui.config import Preset

# Free text, not experiment fields: a filter finds them as words.
_NOT_FILTERED = ("name", "description")


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's annotation may hold (``model`` is a union of three)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType, Annotated):
        return [m for arg in get_args(annotation) for m in _models(arg)]
    return []


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        nested = _models(info.annotation)
        for sub in nested:
            names |= _fields(sub, f"{prefix}{name}.")
        if not nested:
            names.add(prefix + name)
    return names


@functools.cache
def preset_fields() -> frozenset[str]:
    """Every dotted preset field of every model family (``optim.grokfast.alpha`` too)."""
    return frozenset(_fields(Preset) - set(_NOT_FILTERED))


@functools.cache
def short_names(taken: frozenset[str] = frozenset()) -> dict[str, str]:
    """``seed`` -> ``train.seed``: the last part of a field that no other field ends with,
    and that is not a name the caller uses already (``lr`` is History's column)."""
    leaves: dict[str, list[str]] = {}
    for dotted in preset_fields():
        leaves.setdefault(dotted.rsplit(".", 1)[-1], []).append(dotted)
    return {
        leaf: found[0] for leaf, found in leaves.items() if len(found) == 1 and leaf not in taken
    }


def close_fields(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names nearest ``name`` (``optim.lrr`` -> ``optim.lr``; ``sed`` -> ``seed``,
    matched on a field's last part too), closest first, the near-best only."""
    known = set(known) | preset_fields()
    if "." in name:  # optim.lrr means a dotted field, not History's column lr
        known = {k for k in known if "." in k}
    by_leaf: dict[str, str] = {}
    for dotted in sorted(known):
        by_leaf.setdefault(dotted.rsplit(".", 1)[-1], dotted)
    scored: dict[str, float] = {}
    for candidate in difflib.get_close_matches(name, known, n=n, cutoff=0.6):
        scored[candidate] = difflib.SequenceMatcher(None, name, candidate).ratio()
    leaf = name.rsplit(".", 1)[-1]
    for close in difflib.get_close_matches(leaf, by_leaf, n=n, cutoff=0.6):
        ratio = difflib.SequenceMatcher(None, leaf, close).ratio()
        scored[by_leaf[close]] = max(scored.get(by_leaf[close], 0.0), ratio)
    best = max(scored.values(), default=0.0)
    near = [k for k in scored if scored[k] >= best - 0.1]  # not every 60% likeness
    return sorted(near, key=lambda k: (-scored[k], k))[:n]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """'sed' is no field: did you mean train.seed? (or: no field is close)."""
    close = close_fields(name, known)
    if not close:
        return f"'{name}' is no field (a preset field by its dotted name: optim.lr, data.p)"
    return f"'{name}' is no field: did you mean {' or '.join(close)}?"
