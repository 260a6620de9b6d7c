"""Exceptions that stop the pipeline early; `check` turns each into a verdict, never a traceback."""

from __future__ import annotations

from .result import ErrorKind


class SnippetError(Exception):
    """The snippet is not valid input (verdict `invalid`). `line`/`column` are in the user's text, 1-based."""

    def __init__(self, kind: ErrorKind, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column


class NotModelled(Exception):
    """Something the encoding does not model exactly (verdict `unsupported`).

    `what` names it (an instruction, a VEX op, a helper call); `offset` is the byte offset of the
    instruction it came from, when known, so the caller can name the user's line. Stages that know
    the statement itself (the assembler) fill in `line` and `instruction` too.
    """

    def __init__(self, what: str, offset: int | None = None):
        super().__init__(what)
        self.what = what
        self.offset = offset
        self.line: int | None = None
        self.instruction: str | None = None
