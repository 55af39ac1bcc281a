"""Run directories and the processes around them: the torch-free side of the core.

The store and its layout, who owns a directory, starting and signalling processes,
following run directories as they grow, the queue, CPU threads and curve figures.
Nothing here imports torch (an import contract in pyproject.toml): the TUI, the sweep
driver and the queue runner use it without paying torch's import. (It is not called
``runs`` because ``grok_tui.runs()`` is the notebook API.)
"""
