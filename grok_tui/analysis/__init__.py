"""What is computed from a run's kept weights: embeddings, Fourier structure, loss landscape, norms.

``grok-tui analyze RUN_DIR`` (report.py) writes ``RUN_DIR/analysis/analysis.json`` and PNG
figures. Importing this package (and ``paths``) loads no torch: the TUI reads the results.
"""
