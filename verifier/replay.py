"""Run a snippet on unicorn, an emulator independent of the VEX/Z3 pipeline, to confirm counterexamples.

A counterexample from the solver is only trusted once both snippets, started from its initial state on
a real emulator, really end differently. `run` does one such run; `run_isolated` does it in a worker
process, because libunicorn very rarely segfaults and must not take the caller down with it.

How the equivalence model (every 64-bit address readable and writable, no faults) is realised:

- The code is mapped read+execute at `CODE_BASE`. Data pages (4 KiB, zero-filled) are mapped on demand
  the first time any load or store touches them, so every other address behaves like ordinary memory.
- Two places cannot be modelled, and any data access touching them ends the run with exit "error":
  the reserved code region [CODE_BASE, CODE_BASE + CODE_REGION_SIZE) (except loads of the snippet's
  own bytes, e.g. literal pools, which read the code as hardware would), and the top 4 KiB page of the
  address space (unicorn silently drops stores to its last 1 KiB). Counterexample data addresses must
  therefore avoid both; an access that wraps past 2**64 always touches the top page.
- PC-relative values (`adr`, `adrp`, literal loads, the return address written by `bl`/`blr`) are
  computed from `CODE_BASE`.
- The CPU is unicorn's "max" model at EL1, FP/SIMD enabled, FPCR = 0 (round to nearest, no
  flush-to-zero, no default NaN).

Exits, as in the equivalence model: "fallthrough" when PC reaches the end of the code; "label" when a
branch to an external label is taken (each label is linked to its own stub address outside the code,
which is never mapped, so the fetch there stops the run); "indirect" after any branch-to-register
instruction (`br`, `blr`, `ret` and their pointer-authentication forms), wherever it goes, even back
into the snippet, with the target as the PC value; "error" for anything else (exceptions such as `svc`
or `udf`, the instruction limit, forbidden addresses, a crashed or timed-out worker).

Unicorn behaviour a caller comparing two runs should know: unaligned accesses and an unaligned sp do
not fault; pointer authentication is disabled (SCTLR_EL1.EnIA.. = 0), so `pac*`/`aut*` leave values
unchanged and `braa`/`retaa` act as `br`/`ret`; a failed `cas` still reports its bytes as written (with
their old value), so compare final values, not write sets; `dc zva` writes 64 bytes.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass, field

from unicorn import (
    UC_ARCH_ARM64,
    UC_ERR_FETCH_PROT,
    UC_ERR_FETCH_UNMAPPED,
    UC_HOOK_BLOCK,
    UC_HOOK_CODE,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_ARM,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import arm64_const as arm64

PAGE_SIZE = 0x1000
ADDRESS_SPACE = 1 << 64
CODE_BASE = 0x0000_7F00_0000_0000
CODE_REGION_SIZE = 0x2_0000  # code pages, a guard page, the external-label stubs; then the callee stubs
CALLEE_BASE = CODE_BASE + 0x1_0000  # calls (bl sym / blr xN) must land here: each call is a stub
CALLEE_SIZE = CODE_BASE + CODE_REGION_SIZE - CALLEE_BASE
TOP_PAGE = ADDRESS_SPACE - PAGE_SIZE

# Unicorn numbers x0..x28 consecutively but x29 and x30 are the separate FP and LR constants.
_X_REGISTERS = [arm64.UC_ARM64_REG_X0 + i for i in range(29)] + [arm64.UC_ARM64_REG_X29, arm64.UC_ARM64_REG_X30]
_Q_REGISTERS = [arm64.UC_ARM64_REG_Q0 + i for i in range(32)]
_NZCV_SHIFT = 28  # N, Z, C, V are bits 31..28 of the NZCV system register
_CPACR_FP_ENABLED = 0b11 << 20  # CPACR_EL1.FPEN: no trapping of FP/SIMD instructions


@dataclass
class MachineState:
    """Registers and memory: a counterexample's initial state, or where a run stopped."""

    x: list[int]  # x0..x30, 64-bit unsigned
    sp: int
    nzcv: int  # 4 bits: N=8, Z=4, C=2, V=1
    v: list[int]  # v0..v31, 128-bit unsigned
    memory: dict[int, int] = field(default_factory=dict)  # byte address -> byte value; unlisted bytes are 0


@dataclass
class CallStub:
    """What the callee of one call does in the replay: set its clobbered registers and NZCV, write its
    bytes, then return. (Counterexamples are chosen so that callees write at most a few bytes.)"""

    registers_after: dict[str, int]  # x0..x18, x30, v0..v31 -> value
    nzcv_after: int
    memory_writes: list[tuple[int, int]] = field(default_factory=list)  # (address, byte), in order
    # v8..v15 -> new high 64 bits, the low 64 bits (d8-d15, callee-saved) kept as the call left them
    high_halves: dict[str, int] = field(default_factory=dict)


@dataclass
class RunOutcome:
    """How a run exited, the state there, and which memory bytes it touched."""

    exit_kind: str  # "fallthrough" | "label" | "indirect" | "error"
    exit_label: str | None
    exit_target: int | None  # PC after an indirect branch
    state: MachineState  # registers where the run stopped; memory = final value of every written byte
    reads: set[int]  # byte addresses read by loads
    writes: set[int]  # byte addresses written by stores
    error: str | None  # why, when exit_kind == "error"
    calls: list[tuple[int, dict[str, int]]] = field(default_factory=list)  # (callee, x0..x8 v0..v7 sp) per call


@dataclass(frozen=True)
class _BranchField:
    """Where a relocation type keeps its branch offset, and which instructions may carry it."""

    encodings: tuple[tuple[int, int], ...]  # (mask, value) pairs; the instruction must match one
    shift: int  # lowest bit of the word offset field
    bits: int  # width of the (signed) word offset field


_BRANCH_FIELDS = {
    "R_AARCH64_JUMP26": _BranchField(((0xFC00_0000, 0x1400_0000),), 0, 26),  # b
    "R_AARCH64_CALL26": _BranchField(((0xFC00_0000, 0x9400_0000),), 0, 26),  # bl
    # b.cond, cbz/cbnz
    "R_AARCH64_CONDBR19": _BranchField(((0xFF00_0000, 0x5400_0000), (0x7E00_0000, 0x3400_0000)), 5, 19),
    "R_AARCH64_TSTBR14": _BranchField(((0x7E00_0000, 0x3600_0000),), 5, 14),  # tbz/tbnz
}


def _is_branch_to_register(word: int) -> bool:
    """br, ret, eret and their pointer-authentication forms: the 'unconditional branch (register)' class,
    but for the calls (blr and its forms: opc = 0001), which return to the code."""
    return word & 0xFE00_0000 == 0xD600_0000 and word >> 21 & 0xF != 0b0001


def _round_up_to_page(size: int) -> int:
    return (size + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE


def _byte_addresses(address: int, size: int) -> list[int]:
    return [(address + i) % ADDRESS_SPACE for i in range(size)]


@dataclass
class _Layout:
    """Where one snippet lives: its code (linked to its stubs) and the stub address of each external label."""

    code: bytes
    mapped_code_size: int
    label_at_stub: dict[int, str]
    pool: bytes = b""  # the literal pool, right after the code: read by literal loads, never run

    @property
    def end(self) -> int:
        """Where the instructions end: reaching it is falling off the snippet."""
        return CODE_BASE + len(self.code)

    @property
    def image_end(self) -> int:
        return self.end + len(self.pool)


def _link(code: bytes, branches_to_external: dict[int, tuple[str, str]], pool: bytes = b"") -> _Layout:
    """Point each branch to an external label at that label's stub. Raises ValueError for what cannot be linked."""
    if len(code) % 4:
        raise ValueError(f"code length {len(code)} is not a multiple of 4")
    mapped_code_size = _round_up_to_page(max(len(code) + len(pool), 1))
    stub_base = CODE_BASE + mapped_code_size + PAGE_SIZE  # a guard page keeps stubs apart from the fall-through address
    labels = list(dict.fromkeys(label for _, label in branches_to_external.values()))
    stub_of_label = {label: stub_base + 4 * k for k, label in enumerate(labels)}
    if labels and stub_of_label[labels[-1]] >= CALLEE_BASE:
        raise ValueError(f"code of {len(code)} bytes with {len(labels)} external labels is too large to replay")

    linked = bytearray(code)
    for offset, (relocation_type, label) in branches_to_external.items():
        branch_field = _BRANCH_FIELDS.get(relocation_type)
        if branch_field is None:
            raise ValueError(f"cannot replay relocation {relocation_type} (to {label}) at offset {offset:#x}")
        if offset % 4 or not 0 <= offset < len(code):
            raise ValueError(f"relocation {relocation_type} at offset {offset:#x} is not at an instruction")
        word = int.from_bytes(linked[offset : offset + 4], "little")
        if not any(word & mask == value for mask, value in branch_field.encodings):
            raise ValueError(f"instruction {word:#010x} at offset {offset:#x} cannot carry {relocation_type}")
        word_offset = (stub_of_label[label] - (CODE_BASE + offset)) // 4  # positive: stubs follow the code
        if word_offset >= 1 << (branch_field.bits - 1):
            raise ValueError(f"branch at offset {offset:#x} to {label}: {relocation_type} cannot reach past the code")
        field_mask = ((1 << branch_field.bits) - 1) << branch_field.shift
        word = (word & ~field_mask) | ((word_offset << branch_field.shift) & field_mask)
        linked[offset : offset + 4] = word.to_bytes(4, "little")
    return _Layout(bytes(linked), mapped_code_size, {stub: label for label, stub in stub_of_label.items()}, pool)


def _forbidden_access(address: int, size: int, layout: _Layout, is_write: bool) -> str | None:
    """Why a data access cannot be replayed faithfully, or None when it can."""
    last = address + size - 1  # may exceed 2**64 when the access wraps: that touches the top page too
    if last >= TOP_PAGE:
        return (
            f"access to {size} bytes at {address:#x} touches the top 4 KiB page of the address space, "
            "where unicorn loses stores"
        )
    reads_own_code = not is_write and CODE_BASE <= address and last < layout.image_end
    if address < CODE_BASE + CODE_REGION_SIZE and last >= CODE_BASE and not reads_own_code:
        return (
            f"access to {size} bytes at {address:#x} touches the replay's reserved code region "
            f"[{CODE_BASE:#x}, {CODE_BASE + CODE_REGION_SIZE:#x})"
        )
    return None


class _Replay:
    """One emulation: the unicorn instance, the hooks that realise the memory model, and what they saw."""

    def __init__(self, layout: _Layout, initial: MachineState, call_stubs: list[CallStub] = ()):
        self.layout = layout
        self.call_stubs = list(call_stubs)
        self.calls: list[tuple[int, dict[str, int]]] = []
        self.mapped_pages: set[int] = set()
        self.reads: set[int] = set()
        self.writes: set[int] = set()
        self.violation: str | None = None  # set by a hook that refused an access
        self.after_branch_to_register = False
        self.indirect_target: int | None = None

        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.ctl_set_cpu_model(arm64.UC_CPU_ARM64_MAX)  # newest instructions (LSE, etc.)
        self.uc.mem_map(CODE_BASE, layout.mapped_code_size, UC_PROT_READ | UC_PROT_EXEC)
        self.uc.mem_write(CODE_BASE, layout.code + layout.pool)
        self._set_registers(initial)
        for address, value in initial.memory.items():
            self._map_pages(address, 1)
            self.uc.mem_write(address, bytes([value]))

        self.uc.mem_map(CALLEE_BASE, CALLEE_SIZE, UC_PROT_READ | UC_PROT_EXEC)
        self.uc.hook_add(UC_HOOK_CODE, self._on_call, begin=CALLEE_BASE, end=CALLEE_BASE + CALLEE_SIZE - 1)
        self.uc.hook_add(UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED, self._on_unmapped)
        self.uc.hook_add(UC_HOOK_MEM_READ, self._on_read)
        self.uc.hook_add(UC_HOOK_MEM_WRITE, self._on_write)
        branch_to_register_addresses = [
            CODE_BASE + offset
            for offset in range(0, len(layout.code), 4)
            if _is_branch_to_register(int.from_bytes(layout.code[offset : offset + 4], "little"))
        ]
        for address in branch_to_register_addresses:
            self.uc.hook_add(UC_HOOK_CODE, self._on_branch_to_register, begin=address, end=address)
        if branch_to_register_addresses:
            # Targets outside the code fail to fetch; targets inside it start a new block, caught here.
            code_last = CODE_BASE + layout.mapped_code_size - 1
            self.uc.hook_add(UC_HOOK_BLOCK, self._on_block, begin=CODE_BASE, end=code_last)

    def _set_registers(self, state: MachineState) -> None:
        for register, value in zip(_X_REGISTERS, state.x, strict=True):
            self.uc.reg_write(register, value)
        for register, value in zip(_Q_REGISTERS, state.v, strict=True):
            self.uc.reg_write(register, value)
        self.uc.reg_write(arm64.UC_ARM64_REG_SP, state.sp)
        self.uc.reg_write(arm64.UC_ARM64_REG_NZCV, state.nzcv << _NZCV_SHIFT)
        self.uc.reg_write(arm64.UC_ARM64_REG_CPACR_EL1, _CPACR_FP_ENABLED)
        self.uc.reg_write(arm64.UC_ARM64_REG_FPCR, 0)

    def _map_pages(self, address: int, size: int) -> None:
        for page in {byte & ~(PAGE_SIZE - 1) for byte in _byte_addresses(address, size)}:
            if page not in self.mapped_pages:
                self.uc.mem_map(page, PAGE_SIZE, UC_PROT_READ | UC_PROT_WRITE)
                self.mapped_pages.add(page)

    def _refuse(self, address: int, size: int, is_write: bool) -> bool:
        """Stop the run if this access cannot be replayed faithfully; True when refused."""
        reason = _forbidden_access(address, size, self.layout, is_write)
        if reason is not None and self.violation is None:
            self.violation = reason
            self.uc.emu_stop()
        return reason is not None

    def _on_unmapped(self, uc, access, address, size, value, user_data) -> bool:
        if self._refuse(address, size, access == UC_MEM_WRITE_UNMAPPED):
            return False
        self._map_pages(address, size)
        return True

    def _on_read(self, uc, access, address, size, value, user_data) -> None:
        self._refuse(address, size, is_write=False)
        self.reads.update(_byte_addresses(address, size))

    def _on_write(self, uc, access, address, size, value, user_data) -> None:
        self._refuse(address, size, is_write=True)
        self.writes.update(_byte_addresses(address, size))

    def _on_call(self, uc, address, size, user_data) -> None:
        """A callee stub: record what the call passed, apply the next stub's effects, return to x30."""
        arguments = {f"x{i}": uc.reg_read(_X_REGISTERS[i]) for i in range(9)}
        arguments |= {f"v{i}": uc.reg_read(_Q_REGISTERS[i]) for i in range(8)}
        arguments["sp"] = uc.reg_read(arm64.UC_ARM64_REG_SP)
        self.calls.append((address, arguments))
        if len(self.calls) > len(self.call_stubs):
            if self.violation is None:
                self.violation = f"call number {len(self.calls)} (to {address:#x}) was not predicted"
            uc.emu_stop()
            return
        stub = self.call_stubs[len(self.calls) - 1]
        return_address = uc.reg_read(arm64.UC_ARM64_REG_X30)
        for name, value in stub.registers_after.items():
            index = int(name[1:])
            uc.reg_write(_X_REGISTERS[index] if name[0] == "x" else _Q_REGISTERS[index], value)
        for name, high in stub.high_halves.items():
            register = _Q_REGISTERS[int(name[1:])]
            uc.reg_write(register, (high << 64) | (uc.reg_read(register) & ((1 << 64) - 1)))
        uc.reg_write(arm64.UC_ARM64_REG_NZCV, stub.nzcv_after << _NZCV_SHIFT)
        for byte_address, value in stub.memory_writes:
            if self._refuse(byte_address, 1, is_write=True):
                return
            self._map_pages(byte_address, 1)
            uc.mem_write(byte_address, bytes([value]))
        uc.reg_write(arm64.UC_ARM64_REG_PC, return_address)

    def _on_branch_to_register(self, uc, address, size, user_data) -> None:
        self.after_branch_to_register = True

    def _on_block(self, uc, address, size, user_data) -> None:
        if self.after_branch_to_register:
            self.indirect_target = address
            uc.emu_stop()

    def final_state(self) -> MachineState:
        # A refused store may name bytes on pages never mapped; nothing was stored there.
        readable_writes = sorted(a for a in self.writes if a & ~(PAGE_SIZE - 1) in self.mapped_pages)
        return MachineState(
            x=[self.uc.reg_read(register) for register in _X_REGISTERS],
            sp=self.uc.reg_read(arm64.UC_ARM64_REG_SP),
            nzcv=(self.uc.reg_read(arm64.UC_ARM64_REG_NZCV) >> _NZCV_SHIFT) & 0xF,
            v=[self.uc.reg_read(register) for register in _Q_REGISTERS],
            memory={address: self.uc.mem_read(address, 1)[0] for address in readable_writes},
        )


def _check_state(state: MachineState) -> None:
    """Reject malformed states here: unicorn would silently truncate out-of-range register values."""
    if len(state.x) != 31 or len(state.v) != 32:
        raise ValueError(f"need 31 x registers and 32 v registers, got {len(state.x)} and {len(state.v)}")
    fields = [("sp", state.sp, 64), ("nzcv", state.nzcv, 4)]
    fields += [(f"x{i}", value, 64) for i, value in enumerate(state.x)]
    fields += [(f"v{i}", value, 128) for i, value in enumerate(state.v)]
    fields += [(f"memory[{address:#x}]", value, 8) for address, value in state.memory.items()]
    fields += [("memory address", address, 64) for address in state.memory]
    for name, value, bits in fields:
        if not 0 <= value < 1 << bits:
            raise ValueError(f"{name} = {value:#x} does not fit in {bits} unsigned bits")


def run(
    code: bytes,
    initial: MachineState,
    branches_to_external: dict[int, tuple[str, str]] | None = None,
    *,
    max_instructions: int = 10_000,
    call_stubs: list[CallStub] = (),
    pool: bytes = b"",
) -> RunOutcome:
    """Run `code` at CODE_BASE from `initial` until it exits; see the module docstring for the model.

    `branches_to_external` maps the offset of each branch to an external label, assembled with a zero
    offset, to (relocation type, label). `pool`: the literal pool, placed right after the code. Raises ValueError for inputs that cannot be replayed at all
    (unknown relocation type, malformed state); problems of the run itself come back as exit "error".
    """
    _check_state(initial)
    if max_instructions <= 0:
        raise ValueError("max_instructions must be positive")
    layout = _link(code, branches_to_external or {}, pool)
    for address in initial.memory:
        reason = _forbidden_access(address, 1, layout, is_write=True)
        if reason is not None:
            return RunOutcome("error", None, None, initial, set(), set(), f"initial memory: {reason}")

    replay = _Replay(layout, initial, call_stubs)
    emulator_error: UcError | None = None
    try:
        replay.uc.emu_start(CODE_BASE, layout.end, count=max_instructions)
    except UcError as error:
        emulator_error = error
    pc = replay.uc.reg_read(arm64.UC_ARM64_REG_PC)
    state = replay.final_state()

    def outcome(kind: str, label: str | None = None, target: int | None = None, error: str | None = None) -> RunOutcome:
        return RunOutcome(kind, label, target, state, replay.reads, replay.writes, error, replay.calls)

    if replay.violation is not None:
        return outcome("error", error=replay.violation)
    if replay.indirect_target is not None:
        return outcome("indirect", target=replay.indirect_target)
    fetch_failed = emulator_error is not None and emulator_error.errno in (UC_ERR_FETCH_UNMAPPED, UC_ERR_FETCH_PROT)
    where = f"pc {pc:#x}" + (f" (offset {pc - CODE_BASE:#x})" if CODE_BASE <= pc <= layout.end else "")
    if emulator_error is not None and not fetch_failed:
        return outcome("error", error=f"unicorn: {emulator_error} at {where}")  # svc reports the pc after it
    if replay.after_branch_to_register:
        return outcome("indirect", target=pc)  # the target is outside the code, or is its end
    if pc == layout.end:
        return outcome("fallthrough")
    if pc in layout.label_at_stub:
        return outcome("label", label=layout.label_at_stub[pc])
    if fetch_failed:
        return outcome("error", error=f"a direct branch left the snippet for {where}")
    return outcome("error", error=f"instruction limit ({max_instructions}) reached, stopped at {where}")


# ---- process isolation -------------------------------------------------------------------------------

_WORKER_STARTUP_TIMEOUT = 60.0
_PR_SET_PDEATHSIG = 1  # prctl option: signal this process when its parent dies  # importing unicorn in a fresh interpreter; not charged to a run's timeout


def _detach_from_parent(keep_fd: int) -> None:
    """In a forked worker: die with the parent, and drop every descriptor inherited from it.

    A forked child holds copies of all its parent's descriptors, its own pipe's other end included,
    so it would never see end-of-file when the parent dies, and it would keep the parent's other
    pipes open for whoever waits on them.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != keep_fd:
            try:
                os.close(fd)
            except OSError:
                pass  # the directory listing's own descriptor, already gone


def _serve(connection, forked: bool = False) -> None:
    """Worker process main loop: answer (args, kwargs) requests with ("ok", outcome) or ("raise", exception)."""
    if forked:
        _detach_from_parent(connection.fileno())
    connection.send("ready")
    while True:
        try:
            args, kwargs = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", run(*args, **kwargs)))
        except Exception as exception:  # noqa: BLE001 - handed to the caller, who re-raises it
            connection.send(("raise", exception))


class _Worker:
    """A persistent process running `run`, so a crash inside libunicorn kills only the worker."""

    def __init__(self):
        # Fork is ~20x faster to start, but only safe while this process runs a single thread (no lock
        # can be held by a thread that the child would not have); otherwise start a fresh interpreter.
        forked = threading.active_count() == 1
        context = multiprocessing.get_context("fork" if forked else "spawn")
        self.connection, child_connection = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_connection, forked), name="a64eq-replay",
                                       daemon=True)
        self.process.start()
        child_connection.close()
        if not self.connection.poll(_WORKER_STARTUP_TIMEOUT) or self.connection.recv() != "ready":
            self.stop()
            raise RuntimeError("the replay worker process did not start")

    def stop(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()

    def death_note(self) -> str:
        self.process.join(1.0)
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"the replay worker process died ({signal.Signals(-code).name})"
        return f"the replay worker process died (exit code {code})"


_worker: _Worker | None = None
_worker_lock = threading.Lock()


def _forget_worker_in_forked_child() -> None:
    """A forked child must not talk to its parent's worker; it starts its own when needed."""
    global _worker, _worker_lock
    _worker = None
    _worker_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_worker_in_forked_child)


def _worker_pid() -> int | None:
    """The worker's process id (for tests that kill it), or None when none is running."""
    return _worker.process.pid if _worker is not None else None


def run_isolated(
    code: bytes,
    initial: MachineState,
    branches_to_external: dict[int, tuple[str, str]] | None = None,
    *,
    max_instructions: int = 10_000,
    timeout: float = 10.0,
    call_stubs: list[CallStub] = (),
    pool: bytes = b"",
) -> RunOutcome:
    """`run` in the persistent worker process: same outcome, but a crash or hang becomes exit "error".

    The worker is started on first use and reused. If it dies during a request it is replaced and the
    request retried once (so a worker that died while idle costs nothing); dying again, or exceeding
    `timeout` seconds, gives exit "error" and a fresh worker for the next call. ValueErrors from `run`
    are re-raised here.
    """
    request = ((code, initial, branches_to_external),
               {"max_instructions": max_instructions, "call_stubs": list(call_stubs), "pool": pool})
    with _worker_lock:
        status, payload = _ask_worker(request, timeout)
        if status == "died":  # perhaps while idle, before this request: try once more on a fresh worker
            status, payload = _ask_worker(request, timeout)
    if status == "ok":
        return payload
    if status == "raise":
        raise payload
    return RunOutcome("error", None, None, initial, set(), set(), payload)


def _ask_worker(request, timeout: float) -> tuple[str, object]:
    """One round trip: ("ok", outcome), ("raise", exception), or ("died" | "timeout", message)."""
    global _worker
    if _worker is None:
        _worker = _Worker()
    try:
        _worker.connection.send(request)
        if _worker.connection.poll(timeout):
            return _worker.connection.recv()
        status, message = "timeout", f"the replay did not finish within {timeout} s"
    except (EOFError, OSError):
        status, message = "died", _worker.death_note()
    except BaseException:  # e.g. KeyboardInterrupt: the worker's late answer must not reach the next caller
        _discard_worker()
        raise
    _discard_worker()
    return status, message


def _discard_worker() -> None:
    global _worker
    _worker.stop()
    _worker = None
