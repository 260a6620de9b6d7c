"""`a64eq grade` and `a64eq report`: registered by verifier.cli."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the grading subcommands to the `a64eq` parser."""
