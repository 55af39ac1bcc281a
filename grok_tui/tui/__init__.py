"""The Textual app (presets, live runs, history, compare). Never imports torch."""
