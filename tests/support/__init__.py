"""Helpers the tests run or import: test doubles that are no part of grok_tui."""
