"""One screen per user task: presets, live runs, history, compare, help."""
