"""What a trainer process runs: data, models, optimizers, losses, checkpoints, the
trainer and its loop, progress measures, sinks, the runner and vectorised groups.

Everything that imports torch for training lives here; nothing here knows a UI.
"""
