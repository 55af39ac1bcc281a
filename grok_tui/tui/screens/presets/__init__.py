"""The Presets screen, one module per concern (see screen.py); ``PresetsScreen`` is the
name the app imports."""

from grok_tui.tui.screens.presets.check import check_preset_text
from grok_tui.tui.screens.presets.listing import FOLDER_CHECK_S, PresetsLoaded, folders_signature
from grok_tui.tui.screens.presets.screen import PresetsScreen
from grok_tui.tui.screens.presets.toml_tab import TOML_CHECK_S

__all__ = [
    "FOLDER_CHECK_S",
    "TOML_CHECK_S",
    "PresetsLoaded",
    "PresetsScreen",
    "check_preset_text",
    "folders_signature",
]
