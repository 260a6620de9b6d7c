"""What kind of mistake a wrong answer makes: opcode, register, immediate, label, multiple or other.

Only the model's own mistakes are classified: a candidate that does not assemble, or one proved not
equivalent. (An invalid *source* is a dataset problem; unknown and unsupported are not mistakes.)

* Invalid answers take the class of the assembler's error kind: opcode, register, immediate and label
  map to themselves; operand, directive, empty, too_large and other are `other`.
* Wrong answers are aligned token by token (`difflib`, over `asmtokens` tokens with `;` between
  statements) against the nearest correct text: the reference when it is proved equivalent to the
  source, or the source itself, whichever is more similar to the candidate (the reference on a tie).
  A model that copies the source and changes one register then shows one register mistake, rather
  than that change plus every way the reference differs from the source. Each differing stretch is named by the class of its first differing
  token (the candidate's, or the compared text's when the candidate left something out; punctuation
  only when the stretch is nothing but punctuation, so `[x1, #8]` -> `[x1]` is an immediate). One class for
  every stretch gives that class; stretches of different classes give `multiple`; no textual
  difference at all gives `other`.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from ..result import Verdict
from .asmtokens import Token, answer_tokens
from .output import Graded

CLASSES = ("opcode", "register", "immediate", "label", "multiple", "other")
_ASSEMBLER_KIND = {"opcode": "opcode", "register": "register", "immediate": "immediate", "label": "label"}
_SEPARATOR = Token(";", "separator")


@dataclass(frozen=True)
class Mistake:
    graded: Graded
    kind: str  # one of CLASSES
    detail: str  # what differs, for examples


def classify(graded: Graded) -> Mistake | None:
    """The candidate's mistake, or None when the record is not a mistake of the model."""
    result = graded.result
    error = result.candidate.error
    if error is not None:
        where = f"line {error.line}: " if error.line else ""
        return Mistake(graded, _ASSEMBLER_KIND.get(error.kind, "other"), f"assembler [{error.kind}] {where}{error.message}")
    if result.verdict != Verdict.not_equivalent:
        return None
    correct = [("source", _flatten(graded.source))]
    if graded.reference_result is not None and graded.reference_result.verdict == Verdict.equivalent:
        correct.insert(0, ("reference", _flatten(graded.reference)))
    got = _flatten(graded.candidate)
    name, expected = max(correct, key=lambda item: _matcher(item[1], got).ratio())  # first on a tie
    return _align(graded, expected, got, name)


def _flatten(answer: str) -> list[Token]:
    tokens: list[Token] = []
    for statement in answer_tokens(answer):
        tokens += ([_SEPARATOR] if tokens else []) + list(statement)
    return tokens


def _matcher(expected: list[Token], got: list[Token]) -> SequenceMatcher:
    return SequenceMatcher(None, [t.text for t in expected], [t.text for t in got], autojunk=False)


def _align(graded: Graded, expected: list[Token], got: list[Token], name: str) -> Mistake:
    matcher = _matcher(expected, got)
    kinds: list[str] = []
    first_detail = ""
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        stretch = [t for t in (got[j1:j2] or expected[i1:i2]) if t.kind != "separator"]
        if not stretch:
            continue  # only a statement boundary moved
        kinds.append(next((t.kind for t in stretch if t.kind != "other"), "other"))
        if not first_detail:
            was = " ".join(t.text for t in expected[i1:i2]) or "(nothing)"
            now = " ".join(t.text for t in got[j1:j2]) or "(nothing)"
            first_detail = f"{name} `{was}` -> candidate `{now}`"
    distinct = set(kinds)
    kind = distinct.pop() if len(distinct) == 1 else ("multiple" if distinct else "other")
    extra = f" (+{len(kinds) - 1} more)" if len(kinds) > 1 else ""
    return Mistake(graded, kind, (first_detail or f"same text as the {name}") + extra)


def mistakes(graded: list[Graded]) -> list[Mistake]:
    """Every model mistake, in (model, id) order."""
    found = (classify(g) for g in sorted(graded, key=lambda g: (g.model, g.id)))
    return [m for m in found if m is not None]
