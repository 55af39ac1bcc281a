"""Reusable views: the curve pane, the run table, the preset form."""
