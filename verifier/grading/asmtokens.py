"""Assembly text as classified tokens: the common ground of EMR, BLEU and the error taxonomy.

An answer is first run through the checker's own clean-up (`verifier.text.clean`: fences, prose,
comments and harmless directives go), so that what is compared is what the assembler would see. Each
statement is then split into tokens, and each token gets the class the taxonomy names:

* ``opcode``    the mnemonic (``b.eq`` included), a condition operand (``csel x0, x1, x2, eq``: the same
                choice ``b.eq``/``b.ne`` makes in its mnemonic) and a shift/extend operator (``lsl``, ``uxtw``);
* ``register``  x0-x30, w0-w30, sp, wsp, xzr, wzr, the aliases fp/lr/ip0/ip1, and b/h/s/d/q/v/z/p registers
                (``v0.4s`` is one token);
* ``immediate`` numbers, with or without ``#``;
* ``label``     any other name: branch targets, symbols, label definitions;
* ``other``     punctuation and anything else.

`normalise` gives the canonical text used for exact match and BLEU: one statement per line, tokens
separated by single spaces, mnemonics, registers and operators lower-cased, and the register aliases replaced by
their architectural names (fp -> x29, lr -> x30, ip0 -> x16, ip1 -> x17).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ..errors import SnippetError
from ..text import clean

ALIASES = {"fp": "x29", "lr": "x30", "ip0": "x16", "ip1": "x17"}
CONDITIONS = frozenset("eq ne cs hs cc lo mi pl vs vc hi ls ge lt gt le al nv".split())
OPERATORS = frozenset("lsl lsr asr ror msl uxtb uxth uxtw uxtx sxtb sxth sxtw sxtx".split())

_REGISTER = re.compile(
    r"(?:[xw](?:[12]?\d|30)|w?sp|[xw]zr|fp|lr|ip[01]"
    r"|[bhsdqvz](?:[12]?\d|3[01])(?:\.\d*[bhsdq])?|p(?:1[0-5]|\d)(?:/[zm]|\.[bhsd])?)",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"(?P<label>\d+[fb]\b)"  # a numeric label reference: `b 1f`
    r"|(?P<immediate>#?[-+]?(?:0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[-+]?\d+)?)\b|#[^\s,\]]*)"
    r"|(?P<name>[A-Za-z_.$][\w.$]*(?:/[zm])?)"
    r"|(?P<other>\S)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    text: str  # normalised spelling
    kind: str  # opcode, register, immediate, label, other


def statements(answer: str) -> list[str]:
    """The statements of an answer as the checker reads them; raw non-blank lines if clean-up rejects it."""
    try:
        return [statement.text for statement in clean(answer).statements]
    except SnippetError:
        return [line.strip() for line in answer.splitlines() if line.strip()]


def tokenise(statement: str) -> list[Token]:
    """One statement -> classified, normalised tokens (the first name is the mnemonic)."""
    if statement.endswith(":"):  # a label definition, as clean-up splits them off
        return [Token(statement[:-1], "label"), Token(":", "other")]
    tokens: list[Token] = []
    for match in _TOKEN.finditer(statement):
        text, group = match.group(), match.lastgroup
        if group == "name":
            lower = text.lower()
            if not tokens:
                tokens.append(Token(lower, "opcode"))
            elif _REGISTER.fullmatch(text):
                tokens.append(Token(ALIASES.get(lower, lower), "register"))
            elif lower in CONDITIONS or lower in OPERATORS:
                tokens.append(Token(lower, "opcode"))
            else:
                tokens.append(Token(text, "label"))
        else:
            tokens.append(Token(text.lower() if group == "immediate" else text, group))
    return tokens


@functools.lru_cache(maxsize=65536)
def answer_tokens(answer: str) -> tuple[tuple[Token, ...], ...]:
    """Tokens per statement of a whole answer (cached: a report meets each reference many times)."""
    return tuple(tuple(tokenise(statement)) for statement in statements(answer))


def normalise(answer: str) -> str:
    """The answer in canonical form, one statement per line (the text exact match compares)."""
    return "\n".join(" ".join(token.text for token in tokens) for tokens in answer_tokens(answer))
