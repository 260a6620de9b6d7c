"""Walks over Z3 terms, shared by the stages that inspect a query (equivalence, probes, counterexamples)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import z3


def subterms(terms: Iterable[z3.ExprRef]) -> Iterator[z3.ExprRef]:
    """Every distinct node of `terms`' shared DAG, once (terms share subterms heavily: no recursion)."""
    seen, stack = set(), list(terms)
    while stack:
        term = stack.pop()
        if term.get_id() in seen:
            continue
        seen.add(term.get_id())
        yield term
        stack.extend(term.children())


def free_constants(terms: Iterable[z3.ExprRef]) -> list[z3.ExprRef]:
    """The uninterpreted constants of `terms`: the inputs (registers, flags, memory, symbols, ...)."""
    return [t for t in subterms(terms) if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED]
