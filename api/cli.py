"""`a64eq serve`: registered by verifier.cli; imports the web stack only when the command runs."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the service's subcommands to the `a64eq` parser."""
