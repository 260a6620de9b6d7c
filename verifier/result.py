"""Typed result of one equivalence check, shared by the library, the CLI, the HTTP API and batch grading.

Every field is JSON-serialisable (`Result.model_dump(mode="json")`); integers that can exceed 53 bits
(register values, addresses) travel as hex strings so that JavaScript and jq do not round them.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Verdict(str, Enum):
    equivalent = "equivalent"
    bounded_equivalent = "bounded_equivalent"  # equivalent for every input whose loops stay within the unroll bound
    not_equivalent = "not_equivalent"
    unknown = "unknown"  # a time or resource limit stopped the proof
    unsupported = "unsupported"  # something in a snippet is not modelled exactly
    invalid = "invalid"  # a snippet is not valid input (assembler error, empty, too large, bad directive)


ErrorKind = Literal[
    "opcode", "register", "immediate", "operand", "label", "directive", "empty", "too_large", "other"
]

SnippetName = Literal["source", "candidate"]


class InputError(BaseModel):
    """Why a snippet was rejected, located in the user's own text (1-based line and column)."""

    kind: ErrorKind
    line: int | None = None
    column: int | None = None
    message: str


class Instruction(BaseModel):
    """One machine instruction as the assembler understood it."""

    line: int = Field(description="line in the user's text (1-based)")
    offset: int = Field(description="byte offset of the instruction in the snippet")
    text: str = Field(description="the statement as written (comments removed)")
    encoding: str = Field(description="32-bit encoding, hex")


class SnippetReport(BaseModel):
    """A snippet as understood: its instructions, what clean-up dropped, and its input error if any."""

    instructions: list[Instruction] = []
    dropped: list[str] = Field(default=[], description="what clean-up removed (prose, fences, harmless directives), with line numbers")
    labels: dict[str, int] = Field(default={}, description="internal labels: name -> byte offset")
    external_labels: list[str] = Field(default=[], description="labels branched to but not defined: exits")
    error: InputError | None = None


class Exit(BaseModel):
    """How a snippet left: falling off its end, branching to an external label, or an indirect jump."""

    kind: Literal["fallthrough", "label", "indirect", "bound"]
    label: str | None = None
    target: str | None = Field(default=None, description="indirect target value (hex)")

    def describe(self) -> str:
        if self.kind == "fallthrough":
            return "falls through"
        if self.kind == "label":
            return f"branches to {self.label}"
        if self.kind == "bound":
            return "loops past the unroll bound"
        return f"jumps to {self.target}"


class MemoryBytes(BaseModel):
    address: str = Field(description="hex address of the first byte")
    bytes: str = Field(description="hex bytes in address order")


class Inputs(BaseModel):
    """The initial state of a counterexample: only what matters, minimised (zero where zero works)."""

    registers: dict[str, str] = Field(default={}, description="x0..x30, sp, v0..v31 -> hex value")
    flags: dict[str, int] | None = Field(default=None, description="N, Z, C, V when they matter")
    memory: list[MemoryBytes] = Field(default=[], description="initial memory bytes that were read")
    symbols: dict[str, str] = Field(
        default={}, description="addresses of the symbols the snippets reference (sym@got: its GOT entry) -> hex")


class Difference(BaseModel):
    location: str = Field(description="x0, sp, nzcv, v3, mem[0x...], exit")
    source: str
    candidate: str


class Counterexample(BaseModel):
    inputs: Inputs
    differences: list[Difference]
    source_exit: Exit
    candidate_exit: Exit
    confirmed: bool = Field(description="unicorn replay of both snippets from `inputs` shows the same differences")
    replay_note: str | None = Field(default=None, description="why the replay did not confirm, when it did not")


class Unsupported(BaseModel):
    snippet: SnippetName
    line: int | None = None
    instruction: str | None = None
    what: str = Field(description="the instruction, VEX op or helper call that is not modelled")


class Options(BaseModel):
    """What to compare. `live_out` narrows the observables; `preset` picks a named set.

    Unknown names are errors: a misspelt `live_out` must not silently compare everything."""

    model_config = ConfigDict(extra="forbid")

    live_out: list[str] | None = Field(
        default=None,
        description="observables to compare, e.g. ['x0', 'w1', 'flags', 'memory']; the exit is always compared",
    )
    preset: Literal["all", "aapcs64"] = "all"
    timeout: float = Field(default=10.0, gt=0, le=3600,
                           description="time limit of the check, floating-point queries excepted, seconds")
    fp_timeout: float = Field(default=30.0, gt=0, le=3600,
                              description="time limit of the check's floating-point solver queries, all "
                                          "together, seconds; not charged to `timeout`, so a check can take "
                                          "up to timeout + fp_timeout")
    unroll: int = Field(default=8, ge=0, le=64, description="loop iterations unrolled (backward branches taken per path)")
    replay: bool = Field(default=True, description="replay counterexamples on unicorn")


class Result(BaseModel):
    verdict: Verdict
    reason: str
    source: SnippetReport
    candidate: SnippetReport
    counterexample: Counterexample | None = None
    unsupported: list[Unsupported] = []
    options: Options = Options()
    timings_ms: dict[str, float] = {}
    version: str
