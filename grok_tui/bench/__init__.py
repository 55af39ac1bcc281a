"""What grok-tui's speed claims rest on: `grok-tui bench` measures them.

The measurements, each its own module:

- training speed (``grok-tui bench``): the engine's training loop against one written
  the common way, on the investigation report's transformer and MLP, in steps/s, and
  the engine's FLOP/s as a fraction of the machine's matmul throughput (MFU).
  ``plan.py`` (what is trained and for how long), ``loops.py`` (the two loops),
  ``timing.py`` (rounds timed alike), ``flops.py`` (FLOP counts and matmul
  throughput), ``compare.py`` (the session and its numbers), ``report.py`` (the table);
- start-up (``grok-tui bench --startup``): the TUI's time to its first frame and to a
  History of 200 runs, ``startup.py``; torch-free;
- ``grok-tui bench --startup-run``: `grok-tui run` to its first step, part by part,
  ``run_startup.py``; ``--scale``: 1,000 and 10,000 runs and a 200,000-record run,
  each figure from its process start beside issue 34's targets, ``scale.py``.

Nothing is imported here, so that the start-up timing never loads torch.
"""
