"""Solver model -> a counterexample a person can read: minimal inputs, differing observables, exits.

Following Alive2, inputs are minimised one at a time: pin a variable to 0 and keep the pin if the query
stays satisfiable, else try a small value. Before that, the search is steered to states an emulator can
replay (memory accesses and jump targets away from the replay's code page and the top page of the
address space); if no such state exists the unconstrained model is used and replay will say so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from .equivalence import Query, Summary
from .lift import Target
from .result import Difference, Exit, Inputs, MemoryBytes
from .semantics.helpers import thunk_nzcv
from .semantics.state import GPR_NAMES, VREG_NAMES, InitialState
from .symbols import GOT_SUFFIX, SymbolReference, reachable_from
from .terms import free_constants

# Where replay maps the code, and how much room it keeps there (see verifier/replay.py).
REPLAY_CODE_SPAN = 0x20000  # code and label stubs, then the callee stubs (second half)
TOP_PAGE = 0x1000
_MASK64 = (1 << 64) - 1


@dataclass
class PredictedCall:
    """One call under the model: what the callee receives, and what the replay's stub must do."""

    offset: int  # of the call instruction
    callee: int
    callee_name: str | None  # the symbol of a `bl`
    arguments: dict[str, int]  # x0..x8, v0..v7, sp
    registers_after: dict[str, int]  # clobbered registers -> value after the call
    nzcv_after: int
    memory_writes: list[tuple[int, int]]  # (address, byte) the callee writes, in order


@dataclass
class Prediction:
    """What our semantics says one snippet does from the counterexample state (compared with replay)."""

    exit: Exit
    registers: dict[str, int]  # x0..x30, sp, v0..v31
    nzcv: int
    stores: dict[int, int]  # final byte at every address the snippet stored to
    calls: list[PredictedCall] = field(default_factory=list)


def replayable(query: Query, code_base: int, references: list[SymbolReference] = (),
               callees_write: bool = False) -> z3.BoolRef:
    """States whose memory accesses and jump targets stay clear of the emulator's own pages, and whose
    symbols a linker could reach from code placed at `code_base`. Callees land in the replay's stub
    area and leave memory alone, or with `callees_write`, write a few bytes (a harder query)."""

    def clear(address: z3.BitVecRef, size: int) -> z3.BoolRef:
        end = address + size  # cannot wrap: the first conjunct keeps it below the top page
        return z3.And(
            z3.ULE(address, _MASK64 - TOP_PAGE - size),
            z3.Or(z3.ULE(end, code_base), z3.UGE(address, code_base + REPLAY_CODE_SPAN)),
        )

    conditions = [clear(query.memory_witness, 1)]
    for summary in (query.source, query.candidate):
        for access in summary.final.accesses:
            conditions.append(z3.Implies(access.guard, clear(access.address, access.size)))
        for path in summary.exits:
            if path.target.kind == "indirect":
                conditions.append(z3.Implies(path.guard, clear(path.target_value, 4)))
    conditions += reachable_from(list(references), code_base)
    for summary in (query.source, query.candidate):
        for event in summary.final.calls:
            callee_base = code_base + REPLAY_CODE_SPAN // 2
            if callees_write:
                memory = [event.memory_after_is_replayable(), *[clear(a, 1) for a, _ in event.replay_writes]]
            else:
                memory = [event.memory_after == event.memory]
            conditions.append(z3.Implies(event.guard, z3.And(
                z3.UGE(event.callee, callee_base), z3.ULT(event.callee, code_base + REPLAY_CODE_SPAN),
                event.callee & 3 == 0, *memory)))
    return z3.And(*conditions)


def _input_variables(initial: InitialState) -> list[z3.BitVecRef]:
    return ([initial.regs[n] for n in GPR_NAMES + ["sp"]] + [initial.nzcv] + [initial.regs[n] for n in VREG_NAMES]
            + [initial.symbols[n] for n in sorted(initial.symbols)])


# Each solver call of the counterexample search may take this long even past its deadline, so that a
# difference found at the last moment still gets its irrelevant inputs zeroed. Past the deadline no
# further input is pinned, so the search overruns by a few of these at most.
MIN_CALL_MS = 250


def limit_solver(solver: z3.Solver, deadline: float) -> None:
    """Let `solver`'s next check run until `deadline` (`MIN_CALL_MS` at least)."""
    solver.set("timeout", max(MIN_CALL_MS, int((deadline - time.monotonic()) * 1000)))


def minimise(solver: z3.Solver, model: z3.ModelRef, initial: InitialState, relevant: set[str],
             deadline: float) -> z3.ModelRef:
    """Starting from `model` of `solver`'s assertions: zero every input that does not matter (in one
    step), then pin each relevant input to 0, else to as few bits as possible (a power of two when
    one works), while they stay satisfiable. Solver calls end by `deadline` (see `MIN_CALL_MS`): a
    call that runs out keeps the model as it is, which is still a real difference."""
    variables = _input_variables(initial)  # not model.decls(): the solver may have eliminated some
    zero_memory = initial.memory == z3.K(z3.BitVecSort(64), z3.BitVecVal(0, 8))
    irrelevant = [v == 0 for v in variables if str(v) not in relevant]
    if str(initial.memory) not in relevant:
        irrelevant.append(zero_memory)
    if irrelevant:
        model = _try(solver, z3.And(*irrelevant), deadline) or model
    if str(initial.memory) in relevant:
        model = _try(solver, zero_memory, deadline) or model
    for variable in variables:
        if str(variable) not in relevant or time.monotonic() > deadline:
            continue
        model = (_try(solver, variable == 0, deadline) or _shortest(solver, variable, deadline)
                 or model)  # pinned for good
    return model


def _shortest(solver: z3.Solver, variable: z3.BitVecRef, deadline: float) -> z3.ModelRef | None:
    """Pin `variable` to a byte if one works (one solver call: the common case), else to its fewest
    significant bits (binary search, cut short at `deadline`) and then to a power of two if one works."""
    small = _try(solver, z3.ULT(variable, z3.BitVecVal(0x100, variable.size())), deadline)
    if small is not None:
        return small
    low, high = 9, variable.size()  # variable < 2**high is known to be satisfiable, < 2**8 is not
    while low < high and time.monotonic() < deadline:
        middle = (low + high) // 2
        solver.push()
        solver.add(z3.ULT(variable, z3.BitVecVal(1 << middle, variable.size())))
        limit_solver(solver, deadline)
        fits = solver.check() == z3.sat
        solver.pop()
        low, high = (low, middle) if fits else (middle + 1, high)
    bounded = (_try(solver, z3.ULT(variable, z3.BitVecVal(1 << high, variable.size())), deadline)
               if high < variable.size() else None)
    return _try(solver, variable == 1 << (high - 1), deadline) or bounded


def _try(solver: z3.Solver, constraint: z3.BoolRef, deadline: float) -> z3.ModelRef | None:
    """Keep `constraint` and return the new model if the query stays satisfiable with it (decided by
    `deadline`; undecided counts as not)."""
    solver.push()
    solver.add(constraint)
    limit_solver(solver, deadline)
    if solver.check() == z3.sat:
        return solver.model()
    solver.pop()
    return None


def relevant_inputs(model: z3.ModelRef, query: Query) -> set[str]:
    """Names of the input variables the exits and the differing observables depend on."""
    terms = [query.source.exit_code, query.candidate.exit_code, query.source.exit_target, query.candidate.exit_target]
    for observable in query.observables:
        if observable.kind == "memory":
            if _differing_memory(model, query, observable.memory_from_sp):
                terms += [query.source.final.memory, query.candidate.final.memory]
            continue
        pair = list(query.values[observable.name])
        if _value(model, pair[0]) != _value(model, pair[1]):
            terms += pair
    traces = [query.source.final.regs["trace"], query.candidate.final.regs["trace"]]
    if _value(model, traces[0]) != _value(model, traces[1]):
        terms += traces
    return _free_variables([z3.simplify(t) for t in terms])


def _free_variables(terms: list[z3.ExprRef]) -> set[str]:
    return {constant.decl().name() for constant in free_constants(terms)}


def _value(model: z3.ModelRef, term) -> int:
    return model.eval(term, model_completion=True).as_long()


def _exit(model: z3.ModelRef, summary: Summary) -> Exit:
    for path in summary.exits:
        if z3.is_true(model.eval(path.guard, model_completion=True)):
            return _exit_of_target(path.target, _value(model, path.target_value))
    raise AssertionError("exit guards do not cover the model")  # guards are exhaustive by construction


def _exit_of_target(target: Target, value: int) -> Exit:
    if target.kind == "end":
        return Exit(kind="fallthrough")
    if target.kind == "label":
        return Exit(kind="label", label=target.label)
    if target.kind == "bound":
        return Exit(kind="bound")
    return Exit(kind="indirect", target=hex(value))


def _accessed_bytes(model: z3.ModelRef, summary: Summary, kinds: tuple[str, ...]) -> set[int]:
    addresses = set()
    for access in summary.final.accesses:
        if access.kind in kinds and z3.is_true(model.eval(access.guard, model_completion=True)):
            start = _value(model, access.address)
            addresses.update((start + i) & _MASK64 for i in range(access.size))
    return addresses


def _byte_runs(values: dict[int, int]) -> list[tuple[int, list[int]]]:
    """Group byte addresses into contiguous runs: [(first address, [byte, ...]), ...]."""
    runs: list[tuple[int, list[int]]] = []
    for address in sorted(values):
        if runs and runs[-1][0] + len(runs[-1][1]) == address:
            runs[-1][1].append(values[address])
        else:
            runs.append((address, [values[address]]))
    return runs


def format_nzcv(nzcv: int) -> str:
    return "".join(flag if nzcv & bit else flag.lower() for flag, bit in zip("NZCV", (8, 4, 2, 1)))


def initial_memory(model: z3.ModelRef, query: Query, initial: InitialState) -> dict[int, int]:
    """Initial bytes that matter: those either snippet loads, and those where final memories differ."""
    addresses = set()
    for summary in (query.source, query.candidate):
        addresses |= _accessed_bytes(model, summary, ("load",))
    for observable in query.observables:
        if observable.kind == "memory":
            addresses |= set(_differing_memory(model, query, observable.memory_from_sp))
    return {a: _value(model, z3.Select(initial.memory, z3.BitVecVal(a, 64))) for a in addresses}


def inputs(model: z3.ModelRef, initial: InitialState, relevant: set[str], memory: dict[int, int]) -> Inputs:
    registers = {
        name: hex(_value(model, initial.regs[name]))
        for name in GPR_NAMES + ["sp"] + VREG_NAMES
        if name in relevant
    }
    nzcv = _value(model, initial.nzcv) if "nzcv" in relevant else None
    flags = None if nzcv is None else {f: int(bool(nzcv & b)) for f, b in zip("NZCV", (8, 4, 2, 1))}
    runs = [MemoryBytes(address=hex(a), bytes=bytes(b).hex()) for a, b in _byte_runs(memory)]
    # a GOT entry that matters brings its symbol along (its address is what the entry holds)
    wanted = {name for name, variable in initial.symbols.items() if str(variable) in relevant}
    wanted |= {name.removesuffix(GOT_SUFFIX) for name in wanted if name.endswith(GOT_SUFFIX)}
    symbols = {name: hex(_value(model, initial.symbols[name])) for name in sorted(wanted) if name in initial.symbols}
    return Inputs(registers=registers, flags=flags, memory=runs, symbols=symbols)


def predict(model: z3.ModelRef, summary: Summary) -> Prediction:
    state = summary.final
    registers = {name: _value(model, state.regs[name]) for name in GPR_NAMES + ["sp"] + VREG_NAMES}
    nzcv = _value(model, thunk_nzcv(*(state.regs[f] for f in ("cc_op", "cc_dep1", "cc_dep2", "cc_ndep"))))
    stores = {
        a: _value(model, z3.Select(state.memory, z3.BitVecVal(a, 64)))
        for a in _accessed_bytes(model, summary, ("store",))
    }
    return Prediction(_exit(model, summary), registers, nzcv, stores, [
        PredictedCall(event.offset, _value(model, event.callee), _callee_name(event),
                      {name: _value(model, term) for name, term in event.arguments.items()},
                      {name: _value(model, term) for name, term in event.after.items()},
                      _value(model, event.nzcv_after), _callee_writes(model, event))
        for event in _calls_made(model, summary)
    ])


def _callee_writes(model: z3.ModelRef, event) -> list[tuple[int, int]]:
    """The bytes the callee writes, when the model made them the whole difference (else none)."""
    if z3.is_true(model.eval(event.memory_after == event.memory, model_completion=True)):
        return []
    if not z3.is_true(model.eval(event.memory_after_is_replayable(), model_completion=True)):
        return []
    return [(_value(model, address), _value(model, byte)) for address, byte in event.replay_writes]


def _calls_made(model: z3.ModelRef, summary: Summary) -> list:
    """The calls on the path the model takes, in order."""
    return [event for event in summary.final.calls if z3.is_true(model.eval(event.guard, model_completion=True))]


def _callee_name(event) -> str | None:
    return str(event.callee).removeprefix("&") if z3.is_const(event.callee) and str(event.callee).startswith("&") else None


def _describe_call(model: z3.ModelRef, event) -> str:
    name = _callee_name(event)
    address = hex(_value(model, event.callee))
    return f"bl {name} ({address})" if name else f"blr to {address}"


def _call_differences(model: z3.ModelRef, query: Query) -> list[Difference]:
    """The first call where the snippets part ways: a missing call, another callee, an argument, memory."""
    source_calls, candidate_calls = _calls_made(model, query.source), _calls_made(model, query.candidate)
    for number, (s_call, c_call) in enumerate(zip(source_calls, candidate_calls), start=1):
        where = f"call {number}"
        if _value(model, s_call.callee) != _value(model, c_call.callee):
            return [Difference(location=f"{where} callee", source=_describe_call(model, s_call),
                               candidate=_describe_call(model, c_call))]
        found = []
        for name, s_term in s_call.arguments.items():
            s_val, c_val = _value(model, s_term), _value(model, c_call.arguments[name])
            if s_val != c_val:
                found.append(Difference(location=f"{where} {name}", source=hex(s_val), candidate=hex(c_val)))
        stored = _accessed_bytes(model, query.source, ("store",)) | _accessed_bytes(model, query.candidate, ("store",))
        for address in sorted(stored):
            cell = z3.BitVecVal(address, 64)
            s_byte, c_byte = _value(model, z3.Select(s_call.memory, cell)), _value(model, z3.Select(c_call.memory, cell))
            if s_byte != c_byte:
                found.append(Difference(location=f"{where} mem[{address:#x}]", source=f"{s_byte:02x}", candidate=f"{c_byte:02x}"))
        if found:
            return found
    if len(source_calls) != len(candidate_calls):
        number = min(len(source_calls), len(candidate_calls)) + 1
        describe = lambda calls: _describe_call(model, calls[number - 1]) if len(calls) >= number else "no call"  # noqa: E731
        return [Difference(location=f"call {number}", source=describe(source_calls), candidate=describe(candidate_calls))]
    return []


def differences(model: z3.ModelRef, query: Query) -> list[Difference]:
    """Every observable that differs under the model, exit first, then in the observables' order."""
    found = []
    source_exit, candidate_exit = _exit(model, query.source), _exit(model, query.candidate)
    if source_exit != candidate_exit:
        found.append(Difference(location="exit", source=source_exit.describe(), candidate=candidate_exit.describe()))
    found.extend(_call_differences(model, query))
    for observable in query.observables:
        if observable.kind == "memory":
            found.extend(_memory_differences(model, query, observable.memory_from_sp))
            continue
        s_term, c_term = query.values[observable.name]
        s_val, c_val = _value(model, s_term), _value(model, c_term)
        if s_val != c_val:
            fmt = format_nzcv if observable.kind == "nzcv" else hex
            found.append(Difference(location=observable.name, source=fmt(s_val), candidate=fmt(c_val)))
    return found


def _differing_memory(model: z3.ModelRef, query: Query, from_sp: bool) -> dict[int, tuple[int, int]]:
    """Byte address -> (source byte, candidate byte) wherever the final memories differ."""
    addresses = _accessed_bytes(model, query.source, ("store",)) | _accessed_bytes(model, query.candidate, ("store",))
    addresses.add(_value(model, query.memory_witness))
    floor = _value(model, query.source.final.regs["sp"]) if from_sp else 0
    differing = {}
    for address in addresses:
        if address < floor:
            continue
        cell = z3.BitVecVal(address, 64)
        s_byte = _value(model, z3.Select(query.source.final.memory, cell))
        c_byte = _value(model, z3.Select(query.candidate.final.memory, cell))
        if s_byte != c_byte:
            differing[address] = (s_byte, c_byte)
    return differing


def _memory_differences(model: z3.ModelRef, query: Query, from_sp: bool) -> list[Difference]:
    found = []
    for start, pairs in _byte_runs(_differing_memory(model, query, from_sp)):
        end = start + len(pairs) - 1
        location = f"mem[{start:#x}]" if end == start else f"mem[{start:#x}..{end:#x}]"
        found.append(Difference(
            location=location,
            source=bytes(p[0] for p in pairs).hex(),
            candidate=bytes(p[1] for p in pairs).hex(),
        ))
    return found
