"""The study's per-model numbers, with a proved IO column, and the audit of the references.

Definitions (counted over a model's records; EMR, BLEU and "matches or beats" only over records that
have a reference):

* **Syntactic**: the candidate assembles (no input error in the candidate).
* **EMR**: the candidate equals the reference after normalisation (`asmtokens.normalise`: whitespace,
  comments, case of mnemonics and registers, register aliases).
* **BLEU**: sacrebleu corpus BLEU-4 of the normalised candidates against the normalised references,
  `tokenize="none"` on our assembly tokens (mnemonic, register, immediate, each punctuation mark; `;`
  between statements); the exact sacrebleu signature is printed with the report.
* **Equivalent / Not equivalent / Unknown / Unsupported / Invalid**: the verdict; they add up to n.
* **Improved**: equivalent and cheaper than the source (`cost.Cost`: latency estimate, then instruction count).
* **Matches or beats the reference**: equivalent and no more expensive than the reference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..result import Verdict
from .asmtokens import normalise
from .cost import cost
from .output import Graded

ALL_MODELS = "(all models)"


@dataclass
class ModelRow:
    model: str
    n: int = 0
    syntactic: int = 0
    with_reference: int = 0
    exact_match: int = 0
    bleu: float | None = None
    verdicts: Counter = field(default_factory=Counter)  # verdict value -> count
    improved: int = 0
    matches_or_beats_reference: int = 0


def _metric():
    from sacrebleu.metrics import BLEU

    return BLEU(tokenize="none")


def bleu_signature() -> str:
    """sacrebleu's signature of our BLEU configuration (it needs one evaluation to know the reference count)."""
    metric = _metric()
    metric.corpus_score(["nop"], [["nop"]])
    return str(metric.get_signature())


def _bleu(hypotheses: list[str], references: list[str]) -> float | None:
    return _metric().corpus_score(hypotheses, [references]).score if hypotheses else None


def _bleu_text(answer: str) -> str:
    return normalise(answer).replace("\n", " ; ")


def improved(graded: Graded) -> bool:
    result = graded.result
    if result.verdict != Verdict.equivalent:
        return False
    ours, theirs = cost(result.candidate), cost(result.source)
    return ours is not None and theirs is not None and ours < theirs


def matches_or_beats_reference(graded: Graded) -> bool:
    if graded.result.verdict != Verdict.equivalent or graded.reference_result is None:
        return False
    ours, reference = cost(graded.result.candidate), cost(graded.reference_result.candidate)
    return ours is not None and reference is not None and ours <= reference


def model_rows(graded: list[Graded]) -> list[ModelRow]:
    """One row per model (sorted by name), plus a row for all models together when there are several."""
    models = sorted({g.model for g in graded})
    groups = [(model, [g for g in graded if g.model == model]) for model in models]
    if len(models) > 1:
        groups.append((ALL_MODELS, graded))
    return [_row(model, items) for model, items in groups]


def _row(model: str, items: list[Graded]) -> ModelRow:
    row = ModelRow(model, n=len(items))
    hypotheses, references = [], []
    for g in items:
        row.verdicts[g.result.verdict.value] += 1
        row.syntactic += g.result.candidate.error is None
        row.improved += improved(g)
        if g.reference is not None:
            row.with_reference += 1
            row.exact_match += normalise(g.candidate) == normalise(g.reference)
            row.matches_or_beats_reference += matches_or_beats_reference(g)
            hypotheses.append(_bleu_text(g.candidate))
            references.append(_bleu_text(g.reference))
    row.bleu = _bleu(hypotheses, references)
    return row


@dataclass
class ReferenceAudit:
    """Are the references themselves equivalent to their sources? Counted once per distinct pair."""

    pairs: int
    verdicts: Counter
    examples: list[Graded]  # records whose reference is not proved equivalent, not-equivalent ones first


def reference_audit(graded: list[Graded], examples: int = 3) -> ReferenceAudit:
    seen: dict[tuple, Graded] = {}
    for g in graded:
        if g.reference_result is not None:
            key = (g.source, g.reference, g.reference_result.options.model_dump_json())
            seen.setdefault(key, g)
    distinct = sorted(seen.values(), key=lambda g: (g.model, g.id))
    verdicts = Counter(g.reference_result.verdict.value for g in distinct)
    failing = [g for g in distinct if g.reference_result.verdict != Verdict.equivalent]
    failing.sort(key=lambda g: g.reference_result.verdict != Verdict.not_equivalent)
    return ReferenceAudit(len(distinct), verdicts, failing[:examples])
