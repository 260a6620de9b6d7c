"""The equivalence query: same arbitrary start, same exit, same observables — or a model that differs.

Both snippets start from one `InitialState` (shared free variables). Each snippet's exits are folded into
one summary: an exit code (fall-through, which external label, or indirect), the indirect target, and
the final state, each an ITE over the mutually exclusive exit guards. The solver looks for an initial
state under which the exits or any observable differ: `unsat` is the proof of equivalence.
"""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import z3

from .lift import Target
from .probe import find_difference
from .terms import subterms
from .semantics.execute import ExitPath, merge_states
from .semantics.helpers import thunk_nzcv
from .semantics.state import GPR_NAMES, VREG_NAMES, InitialState, State

EXIT_END = 0
EXIT_INDIRECT = 0xFFFF
EXIT_BOUND = 0xFFFE  # a loop ran past the unroll bound: nothing is known beyond it

# ---------------------------------------------------------------------------------------------------
# Observables


@dataclass(frozen=True)
class Observable:
    """A part of the final state that must agree: the low `bits` of a register, NZCV, or memory."""

    name: str  # as the user wrote it: x0, w1, sp, v2, d8, flags, memory
    register: str | None  # underlying register (x0..x30, sp, v0..v31); None for nzcv / memory
    bits: int
    kind: Literal["register", "nzcv", "memory"] = "register"
    memory_from_sp: bool = False  # aapcs64: only memory at or above the exit sp counts

    def value(self, state: State) -> z3.BitVecRef:
        if self.kind == "nzcv":
            return thunk_nzcv(*(state.regs[f] for f in ("cc_op", "cc_dep1", "cc_dep2", "cc_ndep")))
        whole = state.regs[self.register]
        return whole if self.bits == whole.size() else z3.Extract(self.bits - 1, 0, whole)


_VIEW_BITS = {"x": 64, "w": 32, "v": 128, "q": 128, "d": 64, "s": 32, "h": 16, "b": 8}
_REGISTER_RE = re.compile(r"^(?P<view>[xwvqdshb])(?P<index>\d{1,2})$")


def parse_observable(name: str) -> Observable:
    """`x3`, `w3`, `sp`, `v0`/`q0`/`d0`/`s0`/`h0`/`b0`, `flags`/`nzcv`, `memory`/`mem`; ValueError otherwise."""
    key = name.strip().lower()
    if key in ("flags", "nzcv"):
        return Observable(key, None, 4, "nzcv")
    if key in ("memory", "mem"):
        return Observable(key, None, 8, "memory")
    if key in ("sp", "wsp"):
        return Observable(key, "sp", 64 if key == "sp" else 32)
    match = _REGISTER_RE.match(key)
    if match:
        view, index = match["view"], int(match["index"])
        limit = 31 if view in "xw" else 32
        if index < limit:
            register = f"x{index}" if view in "xw" else f"v{index}"
            return Observable(key, register, _VIEW_BITS[view])
    raise ValueError(
        f"unknown observable {name!r}: use x0-x30, w0-w30, sp, v0-v31 (or q/d/s/h/b views), flags, memory"
    )


def observables_for(live_out: list[str] | None, preset: str) -> list[Observable]:
    if live_out is not None:
        return [parse_observable(name) for name in live_out]
    if preset == "aapcs64":
        return (
            [parse_observable(n) for n in ["x0", "x1", "v0", "v1", "v2", "v3"]]
            + [parse_observable(f"x{i}") for i in range(19, 30)]
            + [parse_observable("sp")]
            + [parse_observable(f"d{i}") for i in range(8, 16)]
            + [Observable("memory", None, 8, "memory", memory_from_sp=True)]
        )
    if preset == "all":
        return (
            [parse_observable(n) for n in GPR_NAMES + ["sp", "nzcv"] + VREG_NAMES]
            + [parse_observable("memory")]
        )
    raise ValueError(f"unknown preset {preset!r}: use 'all' or 'aapcs64'")


# AAPCS64 describes a real call: sp is 16-byte aligned and the stack does not wrap around the address
# space, so memory just below sp (dead at exit: signal handlers may clobber it) never aliases memory above.
AAPCS64_STACK_FLOOR = 0x10000


def preconditions_for(preset: str, initial: InitialState) -> list[z3.BoolRef]:
    """Assumptions on the initial state that a preset makes (none for `all`)."""
    if preset == "aapcs64":
        sp = initial.regs["sp"]
        return [sp & 15 == 0, z3.UGE(sp, AAPCS64_STACK_FLOOR)]
    return []


# ---------------------------------------------------------------------------------------------------
# Summaries


@dataclass
class Summary:
    """A snippet's exits folded into single terms."""

    exits: list[ExitPath]
    exit_code: z3.BitVecRef  # 16 bits: EXIT_END, a label id, EXIT_INDIRECT or EXIT_BOUND
    exit_target: z3.BitVecRef  # indirect target (0 unless the exit is indirect)
    final: State


def exit_code_of(target: Target, label_ids: dict[str, int]) -> int:
    if target.kind == "end":
        return EXIT_END
    if target.kind == "label":
        return label_ids[target.label]
    if target.kind == "bound":
        return EXIT_BOUND
    return EXIT_INDIRECT


def summarize(exits: list[ExitPath], label_ids: dict[str, int]) -> Summary:
    code = z3.BitVecVal(exit_code_of(exits[-1].target, label_ids), 16)
    target = exits[-1].target_value if exits[-1].target.kind == "indirect" else z3.BitVecVal(0, 64)
    for path in reversed(exits[:-1]):
        code = z3.If(path.guard, z3.BitVecVal(exit_code_of(path.target, label_ids), 16), code)
        if path.target.kind == "indirect":
            target = z3.If(path.guard, path.target_value, target)
    final = merge_states([(p.guard, p.state) for p in exits])
    return Summary(exits, code, target, final)


def label_ids_for(*exit_lists: list[ExitPath]) -> dict[str, int]:
    labels = sorted({p.target.label for exits in exit_lists for p in exits if p.target.kind == "label"})
    return {label: i + 1 for i, label in enumerate(labels)}


# ---------------------------------------------------------------------------------------------------
# The query


def _differs(source_term, candidate_term, witness: z3.BitVecRef | None = None) -> z3.BoolRef:
    """`source != candidate` (at `witness` for memories), or False when both normalise to the same term.

    Normalising to a sum of monomials first decides most equal observables without the solver: a
    rewrite such as `3 * x` for `x + (x << 1)` then shares one term, and what reaches the solver is
    only what truly needs a proof. (Bit-blasted multipliers are where SAT solvers struggle.)
    """
    source_term, candidate_term = z3.simplify(source_term, som=True), z3.simplify(candidate_term, som=True)
    if source_term.eq(candidate_term):
        return z3.BoolVal(False)
    if witness is not None:
        return z3.Select(source_term, witness) != z3.Select(candidate_term, witness)
    return source_term != candidate_term


@dataclass(frozen=True)
class Theories:
    """What a query needs beyond bit-vectors and arrays: the floating-point theory (a term of FP or
    rounding-mode sort occurs: every FP operation has one among its arguments or as its result), and
    uninterpreted functions (calls, semantics/calls.py)."""

    floating_point: bool = False
    functions: bool = False

    def __or__(self, other: Theories) -> Theories:
        return Theories(self.floating_point or other.floating_point, self.functions or other.functions)

    @property
    def logic(self) -> str | None:
        """The narrowest logic: QF_ABV, QF_ABVFP or QF_AUFBV; None when both theories are needed (the
        general solver)."""
        if self.floating_point and self.functions:
            return None
        return "QF_ABVFP" if self.floating_point else "QF_AUFBV" if self.functions else "QF_ABV"


def theories_of(terms: list[z3.ExprRef]) -> Theories:
    """The theories `terms` need (a walk over their shared DAG)."""
    floating_point = functions = False
    for term in subterms(terms):
        if z3.is_fp(term) or z3.is_fprm(term):
            floating_point = True
        elif z3.is_app(term) and term.num_args() and term.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            functions = True
    return Theories(floating_point, functions)


# ---------------------------------------------------------------------------------------------------
# Time budgets


@dataclass
class Budget:
    """The solver time of one check, in two budgets that do not draw on each other.

    - `timeout` covers everything but floating-point queries. It runs from the start of the check
      (clean-up, assembly, lifting and encoding included), and the time spent in floating-point queries
      is not charged to it: its deadline moves later by exactly that time.
    - `fp_timeout` covers the check's floating-point queries together (every query whose assertions
      contain a floating-point term, see `Theories`), and the counterexample search after a
      floating-point difference.

    A check's solver work therefore ends within `timeout + fp_timeout` (the worker pool's hard limit
    adds both). A query that runs out of its budget is `unknown`, never a guess.
    """

    timeout: float
    fp_timeout: float
    started: float = field(default_factory=time.monotonic)
    fp_spent: float = 0.0  # seconds spent in floating-point queries so far

    def deadline(self, floating_point: bool = False) -> float:
        """When this kind of query's budget runs out if it is spent from now on (the integer deadline
        moves later whenever floating-point time is spent)."""
        if floating_point:
            return time.monotonic() + self.fp_timeout - self.fp_spent
        return self.started + self.timeout + self.fp_spent

    def ms_left(self, floating_point: bool = False) -> int:
        return int((self.deadline(floating_point) - time.monotonic()) * 1000)

    @contextmanager
    def spending(self, floating_point: bool):
        """Charge the time spent inside to the floating-point budget (when `floating_point`)."""
        start = time.monotonic()
        try:
            yield
        finally:
            if floating_point:
                self.fp_spent += time.monotonic() - start


@dataclass
class Obligation:
    """One thing that must not differ: the exit or one observable. `differs` is False when the two
    terms normalise to the same term (no solver needed)."""

    what: str
    differs: z3.BoolRef


@dataclass(frozen=True)
class Lemma:
    """A proved obligation: `fact` holds in every state (under the preconditions)."""

    fact: z3.BoolRef
    theories: Theories


@dataclass
class Query:
    source: Summary
    candidate: Summary
    observables: list[Observable]
    memory_witness: z3.BitVecRef  # an address where memories differ, when they do
    preconditions: list[z3.BoolRef]
    obligations: list[Obligation]
    beyond_bound: z3.BoolRef  # some snippet's loop runs past the unroll bound (False without loops)
    values: dict[str, tuple[z3.BitVecRef, z3.BitVecRef]]  # register/flag observable -> (source, candidate) term

    def open_obligations(self) -> list[Obligation]:
        return [o for o in self.obligations if not z3.is_false(o.differs)]

    def solver_for(self, obligation: Obligation, budget: Budget,
                   lemmas: list[Lemma] = ()) -> tuple[z3.Solver, Theories]:
        """A fresh solver per obligation: small problems, and the solver's non-incremental
        preprocessing (which push/pop would switch off) stays on. `lemmas` are facts already proved.

        The obligation's own assertions (preconditions and the difference) decide whether it is a
        floating-point query; an integer query is given only the integer lemmas, so that it stays in
        the integer logic and under the integer budget. Its time limit is what is left of its budget."""
        theories = theories_of([*self.preconditions, obligation.differs])
        usable = [lemma for lemma in lemmas if theories.floating_point or not lemma.theories.floating_point]
        for lemma in usable:
            theories = theories | lemma.theories
        # QF_ABV would treat floating-point operations as uninterpreted functions: sound for proofs,
        # but its models would not be real FP behaviour. FP terms need the FP theory.
        logic = theories.logic
        solver = z3.SolverFor(logic) if logic else z3.Solver()
        solver.set("timeout", max(1, budget.ms_left(theories.floating_point)))
        solver.add(*self.preconditions, *(lemma.fact for lemma in usable), obligation.differs)
        return solver, theories


def build_query(source_exits: list[ExitPath], candidate_exits: list[ExitPath],
                observables: list[Observable], preconditions: list[z3.BoolRef] = ()) -> Query:
    labels = label_ids_for(source_exits, candidate_exits)
    source, candidate = summarize(source_exits, labels), summarize(candidate_exits, labels)
    witness = z3.BitVec("memory_witness", 64)

    exit_differs = z3.simplify(z3.Or(
        _differs(source.exit_code, candidate.exit_code),
        z3.And(source.exit_code == EXIT_INDIRECT, _differs(source.exit_target, candidate.exit_target)),
    ))
    obligations = [Obligation("exit", exit_differs),
                   Obligation("calls", _differs(source.final.regs["trace"], candidate.final.regs["trace"]))]
    values = {}
    for observable in observables:
        if observable.kind == "memory":
            differs = _differs(source.final.memory, candidate.final.memory, witness)
            if observable.memory_from_sp and not z3.is_false(differs):
                differs = z3.And(differs, z3.UGE(witness, source.final.regs["sp"]))
        else:
            values[observable.name] = (observable.value(source.final), observable.value(candidate.final))
            differs = _differs(*values[observable.name])
        obligations.append(Obligation(observable.name, differs))
    beyond_bound = z3.simplify(z3.Or(
        source.exit_code == EXIT_BOUND, candidate.exit_code == EXIT_BOUND))
    return Query(source, candidate, observables, witness, list(preconditions), obligations, beyond_bound, values)


@dataclass(frozen=True)
class Undecided:
    """An obligation the solver gave up on: what it compared, the solver's reason, and whether it was a
    floating-point query (decided under `fp_timeout`) or not (under `timeout`)."""

    what: str
    why: str
    floating_point: bool

    def __str__(self) -> str:
        return f"{self.what} ({self.why})"


@dataclass
class Decision:
    outcome: z3.CheckSatResult  # unsat: equivalent; sat: `solver` holds a distinguishing model
    solver: z3.Solver | None = None
    undecided: list[Undecided] | None = None  # obligations the solver gave up on
    bounded: bool = False  # the proof only covers inputs whose loops stay within the unroll bound
    floating_point: bool = False  # sat: the distinguishing query was a floating-point one
    probed: bool = False  # sat: a concrete probe state (probe.py) is pinned on `solver`; no inputs are free


# At most this share of what is left of the FP budget goes to the concrete probes (probe.py) of one
# obligation before the solvers search.
PROBE_SHARE = 0.05


def _probe(query: Query, obligation: Obligation, budget: Budget) -> z3.Solver | None:
    """A solver whose model is a concrete probe state (probe.py) where `obligation` differs, or None.

    The probe found the state by simplifying the obligation with every input fixed (Z3's own
    evaluation of the FP operations), so the solver only checks the preconditions for that state —
    no bit-blasting — and the model's evaluation of the obligation is checked again to be true."""
    deadline = time.monotonic() + PROBE_SHARE * budget.ms_left(True) / 1000
    pins = find_difference(obligation.differs, deadline)
    if pins is None:
        return None
    theories = theories_of(query.preconditions)
    solver = z3.SolverFor(theories.logic) if theories.logic else z3.Solver()
    solver.set("timeout", max(1, budget.ms_left(True)))
    solver.add(*query.preconditions, *pins)
    if solver.check() != z3.sat or not z3.is_true(solver.model().eval(obligation.differs, model_completion=True)):
        return None  # the state breaks a precondition (or the solver gave up): search as usual
    return solver


def decide(query: Query, budget: Budget) -> Decision:
    """Check each open obligation; a difference found anywhere wins over a solver that gave up.

    Each query runs under what is left of its own budget (`Budget`): floating-point queries under
    `fp_timeout`, the others under `timeout`. With loops, first ask whether any input runs past the
    unroll bound. If none can, the unrolled snippets are the whole truth; otherwise the obligations are
    checked for the inputs within the bound only, and an `unsat` means "equivalent up to the bound",
    never plain equivalent.
    """
    bounded = False
    if not z3.is_false(query.beyond_bound):
        solver, theories = query.solver_for(Obligation("loop bound", query.beyond_bound), budget)
        with budget.spending(theories.floating_point):
            outcome = solver.check()
        if outcome == z3.unknown:
            return Decision(z3.unknown, undecided=[Undecided("whether loops stay within the bound",
                                                             solver.reason_unknown(), theories.floating_point)])
        if outcome == z3.sat:
            bounded = True
            query.preconditions.append(z3.Not(query.beyond_bound))
    for obligation in query.open_obligations():  # cheap concrete probes of every FP obligation first
        if theories_of([obligation.differs]).floating_point:
            with budget.spending(True):
                solver = _probe(query, obligation, budget)
            if solver is not None:
                return Decision(z3.sat, solver, bounded=bounded, floating_point=True, probed=True)
    undecided: list[Undecided] = []
    proved: list[Lemma] = []
    for obligation in query.open_obligations():
        solver, theories = query.solver_for(obligation, budget, proved)
        with budget.spending(theories.floating_point):
            outcome = solver.check()
        if outcome == z3.sat:
            # Lemmas hold in every state (under the preconditions), so the model is a real difference.
            return Decision(z3.sat, solver, bounded=bounded, floating_point=theories.floating_point)
        if outcome == z3.unknown:
            undecided.append(Undecided(obligation.what, solver.reason_unknown(), theories.floating_point))
        else:  # proved: what it compared is equal in every state, a fact the next proofs may use
            proved.append(Lemma(z3.Not(obligation.differs), theories))
    if undecided:
        return Decision(z3.unknown, undecided=undecided, bounded=bounded)
    return Decision(z3.unsat, bounded=bounded)
