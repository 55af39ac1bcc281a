"""What the TUI draws, as data: curves, panels, layout and pacing, without Textual.

Pure view modules: they never import textual (an import-linter contract forbids it), so
that what a screen shows is computed and tested without an app.
"""
