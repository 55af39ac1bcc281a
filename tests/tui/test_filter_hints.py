"""History says which field a mistyped filter name meant, where its filter hint shows
(issue 35, item 5)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, Static

from tests.support.pilot import until
from tests.support.tui import TuiEnv, drive, history_env, open_history


def test_history_names_the_close_field_of_a_mistyped_one(env: TuiEnv) -> None:
    history_env(env)
    app = env.app()

    async def script(pilot: Any) -> None:
        screen = await open_history(pilot, app)
        info = screen.query_one("#history-info", Static)
        field = screen.query_one("#history-filter", Input)
        field.value = "optim.lrr=3e-3"
        await until(pilot, lambda: "did you mean optim.lr?" in str(info.render()))
        field.value = "sed=4"
        await until(pilot, lambda: "'sed' is no field: did you mean seed?" in str(info.render()))

    drive(app, script)
