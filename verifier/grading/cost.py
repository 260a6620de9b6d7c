"""How expensive a snippet is: its instruction count and a latency estimate per instruction class.

The estimate is deliberately coarse: the sum of each instruction's result latency, in cycles, as a
typical out-of-order Armv8 core documents it (figures in the range of the Cortex-A72 and Neoverse N1
software optimisation guides). It ignores dependencies and issue width, so it ranks rewrites of one
basic block rather than predicting run time. Snippets are compared by (latency, instruction count):
the latency decides, and at equal latency fewer instructions is cheaper.

| class           | examples                                                    | cycles |
|-----------------|-------------------------------------------------------------|--------|
| alu             | add, sub, and, mov, cmp, csel, lsl, ubfx, sxtw, rev; others | 1      |
| shifted operand | add x0, x1, x2, lsl #2                                      | 2      |
| multiply        | mul, madd, msub, smull, umaddl                              | 3      |
| multiply high   | smulh, umulh                                                | 5      |
| divide          | sdiv, udiv                                                  | 12     |
| load            | ldr, ldur, ldp, ldrsw, ld1                                  | 4      |
| store           | str, stur, stp, st1                                         | 1      |
| branch          | b, b.cond, cbz, tbz, bl, ret                                | 1      |
| fp/simd         | fadd, fmul, fmov, add v0.4s, ...                            | 3      |
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..result import SnippetReport

LATENCY = {"alu": 1, "shifted operand": 2, "multiply": 3, "multiply high": 5, "divide": 12, "load": 4,
           "store": 1, "branch": 1, "fp/simd": 3}
_CLASS_BY_MNEMONIC = {
    **dict.fromkeys("mul madd msub mneg smull umull smaddl umaddl smsubl umsubl smnegl umnegl".split(), "multiply"),
    **dict.fromkeys("smulh umulh".split(), "multiply high"),
    **dict.fromkeys("sdiv udiv".split(), "divide"),
}
_BRANCH = re.compile(r"b(?:l|r|lr)?$|b\.|ret$|cbn?z$|tbn?z$")
_VECTOR_OPERAND = re.compile(r"(?:^|[\s,{\[])[vqdshb]\d", re.IGNORECASE)
_SHIFTED_OPERAND = re.compile(r",\s*(?:lsl|lsr|asr|ror)\s+#?\s*[1-9]", re.IGNORECASE)


class Cost(NamedTuple):
    """Compared as a tuple: latency first, then instruction count."""

    latency: int
    instructions: int


def instruction_class(statement: str) -> str:
    """The latency class of one instruction (see the table in the module docstring)."""
    mnemonic, _, operands = statement.strip().partition(" ")
    mnemonic = mnemonic.lower()
    if mnemonic in _CLASS_BY_MNEMONIC:
        return _CLASS_BY_MNEMONIC[mnemonic]
    if mnemonic.startswith("ld"):
        return "load"
    if mnemonic.startswith("st"):
        return "store"
    if _BRANCH.match(mnemonic):
        return "branch"
    if mnemonic.startswith("f") or _VECTOR_OPERAND.search(operands):
        return "fp/simd"
    if _SHIFTED_OPERAND.search(operands):
        return "shifted operand"
    return "alu"


def cost(snippet: SnippetReport) -> Cost | None:
    """The cost of an assembled snippet; None if it did not assemble."""
    if snippet.error is not None or not snippet.instructions:
        return None
    return Cost(sum(LATENCY[instruction_class(i.text)] for i in snippet.instructions), len(snippet.instructions))
