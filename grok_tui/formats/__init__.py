"""File formats other tools read, written through the one door: CSV that no spreadsheet
evaluates (csvfile.py) and TensorBoard event files (tfevents.py). Leaves: they know no
run directory, so the exports, the sweep report and live logging share them."""
