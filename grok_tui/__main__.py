"""`python -m grok_tui` is the `grok-tui` command."""

from grok_tui.cli import main

raise SystemExit(main())
