"""A reproducible, realistic grading corpus: compiler-like AArch64 blocks and model-like answers.

    .venv/bin/python bench/corpus.py OUT.jsonl [--sources 250] [--seed 1]

Each source block has 4-15 instructions of the kinds compilers emit for ordinary C: loads and stores
with offsets, arithmetic with registers, immediates and shifted operands, multiplies, compares
followed by csel/cset, shifts and bit-field extracts. Its reference is a correct peephole rewrite.
Every source gets one answer from each of eight "models":

* correct rewrites (about 45 %): operands commuted, `lsl #1` as `add`, `lsl` as `ubfiz`, `cset` as
  `csinc`, `ldr` as `ldur`, `sub #n` as `add #-n`, a multiply by a power of two strength-reduced to a
  shift, adjacent stores paired into `stp`;
* subtly wrong rewrites (about 35 %): one register, immediate, opcode or condition changed;
* invalid answers (about 20 %): a misspelt mnemonic, a register or immediate out of range, an
  undefined local label, a missing operand.

A correct answer applies one to three rewrites, so models agree only sometimes, as in real runs.
The same seed gives the same file.
"""

from __future__ import annotations

import argparse
import json
import random
import re

REGISTERS = [f"x{i}" for i in range(16)]
BASES = ["x19", "x20", "x21", "sp"]
CONDITIONS = ["eq", "ne", "lt", "le", "gt", "ge", "hi", "hs", "lo", "ls"]
INVERSE = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le", "hi": "ls", "ls": "hi",
           "hs": "lo", "lo": "hs"}
MODELS = [f"model-{letter}" for letter in "abcdefgh"]


def _instruction(rng: random.Random) -> list[str]:
    """One to three instructions of a compiler-like block."""
    d, a, b = rng.sample(REGISTERS, 3)
    base = rng.choice(BASES)
    kind = rng.choices(["load", "store", "alu", "alu_imm", "shifted", "shift", "mul_pow2", "cmp_sel", "bitfield"],
                       weights=[18, 12, 18, 14, 8, 8, 6, 10, 6])[0]
    if kind == "load":
        return [f"ldr {d}, [{base}, #{8 * rng.randrange(0, 16)}]"]
    if kind == "store":
        offset = 8 * rng.randrange(0, 15)
        if rng.random() < 0.3:  # adjacent stores: a `stp` opportunity
            return [f"str {a}, [{base}, #{offset}]", f"str {b}, [{base}, #{offset + 8}]"]
        return [f"str {a}, [{base}, #{offset}]"]
    if kind == "alu":
        return [f"{rng.choice(['add', 'sub', 'and', 'orr', 'eor'])} {d}, {a}, {b}"]
    if kind == "alu_imm":
        if rng.random() < 0.5:
            return [f"{rng.choice(['add', 'sub'])} {d}, {a}, #{rng.randrange(1, 256)}"]
        return [f"{rng.choice(['and', 'orr', 'eor'])} {d}, {a}, #{rng.choice(['0xff', '0xf0', '0xffff', '0x1'])}"]
    if kind == "shifted":
        return [f"add {d}, {a}, {b}, lsl #{rng.randrange(1, 5)}"]
    if kind == "shift":
        return [f"{rng.choice(['lsl', 'lsr', 'asr'])} {d}, {a}, #{rng.randrange(1, 8)}"]
    if kind == "mul_pow2":
        return [f"mov {b}, #{1 << rng.randrange(1, 6)}", f"mul {d}, {a}, {b}"]
    if kind == "cmp_sel":
        condition = rng.choice(CONDITIONS)
        compare = f"cmp {a}, {b}" if rng.random() < 0.6 else f"cmp {a}, #{rng.randrange(0, 100)}"
        select = f"csel {d}, {a}, {b}, {condition}" if rng.random() < 0.5 else f"cset {d}, {condition}"
        return [compare, select]
    return [f"ubfx {d}, {a}, #{rng.randrange(0, 32)}, #{rng.randrange(1, 16)}"]


def source_block(rng: random.Random) -> list[str]:
    length = rng.randrange(4, 16)
    block: list[str] = []
    while len(block) < length:
        block += _instruction(rng)
    return block[:15]


# --- correct rewrites: each returns the new block, or None when the block offers no such chance ---
def _rewrite_one(block: list[str], rng: random.Random, pattern: str, rewrite) -> list[str] | None:
    spots = [i for i, line in enumerate(block) if re.fullmatch(pattern, line)]
    if not spots:
        return None
    i = rng.choice(spots)
    return block[:i] + rewrite(re.fullmatch(pattern, block[i])) + block[i + 1:]


CORRECT = [
    lambda b, r: _rewrite_one(b, r, r"(add|and|orr|eor) (x\d+), (x\d+), (x\d+)",
                              lambda m: [f"{m[1]} {m[2]}, {m[4]}, {m[3]}"]),
    lambda b, r: _rewrite_one(b, r, r"lsl (x\d+), (x\d+), #1", lambda m: [f"add {m[1]}, {m[2]}, {m[2]}"]),
    lambda b, r: _rewrite_one(b, r, r"lsl (x\d+), (x\d+), #(\d+)",
                              lambda m: [f"ubfiz {m[1]}, {m[2]}, #{m[3]}, #{64 - int(m[3])}"]),
    lambda b, r: _rewrite_one(b, r, r"cset (x\d+), (\w+)", lambda m: [f"csinc {m[1]}, xzr, xzr, {INVERSE[m[2]]}"]),
    lambda b, r: _rewrite_one(b, r, r"ldr (x\d+), \[(\w+), #(\d+)\]", lambda m: [f"ldur {m[1]}, [{m[2]}, #{m[3]}]"]),
    lambda b, r: _rewrite_one(b, r, r"sub (x\d+), (x\d+), #(\d+)", lambda m: [f"add {m[1]}, {m[2]}, #-{m[3]}"]),
    lambda b, r: _strength_reduce(b),
    lambda b, r: _pair_stores(b),
]


def _strength_reduce(block: list[str]) -> list[str] | None:
    """`mov xB, #2^k; mul xD, xA, xB` -> `lsl xD, xA, #k; mov xB, #2^k` (xB keeps its value)."""
    for i in range(len(block) - 1):
        mov = re.fullmatch(r"mov (x\d+), #(\d+)", block[i])
        mul = re.fullmatch(r"mul (x\d+), (x\d+), (x\d+)", block[i + 1])
        if mov and mul and mul[3] == mov[1] and mul[2] != mov[1] and mul[1] != mov[1]:
            shift = int(mov[2]).bit_length() - 1
            return block[:i] + [f"lsl {mul[1]}, {mul[2]}, #{shift}", block[i]] + block[i + 2:]
    return None


def _pair_stores(block: list[str]) -> list[str] | None:
    for i in range(len(block) - 1):
        first = re.fullmatch(r"str (x\d+), \[(\w+), #(\d+)\]", block[i])
        second = re.fullmatch(r"str (x\d+), \[(\w+), #(\d+)\]", block[i + 1])
        if first and second and first[2] == second[2] and int(second[3]) == int(first[3]) + 8:
            return block[:i] + [f"stp {first[1]}, {second[1]}, [{first[2]}, #{first[3]}]"] + block[i + 2:]
    return None


# --- wrong rewrites: one token changed ---
def _wrong(block: list[str], rng: random.Random) -> list[str]:
    i = rng.randrange(len(block))
    line = block[i]
    mnemonic, _, operands = line.partition(" ")
    choice = rng.choice(["register", "immediate", "opcode", "condition"])
    registers = re.findall(r"\bx\d+\b", operands)
    if choice == "condition" and re.search(r"\b(" + "|".join(CONDITIONS) + r")$", operands):
        operands = re.sub(r"\b(\w+)$", lambda m: rng.choice([c for c in CONDITIONS if c != m[1]]), operands)
    elif choice == "immediate" and re.search(r"#\d+", operands):
        operands = re.sub(r"#(\d+)", lambda m: f"#{int(m[1]) + rng.choice([1, 8])}", operands, count=1)
    elif choice == "opcode" and mnemonic in ("add", "sub", "and", "orr", "eor", "lsl", "lsr", "asr"):
        swap = {"add": "sub", "sub": "add", "and": "orr", "orr": "eor", "eor": "and", "lsl": "lsr", "lsr": "asr",
                "asr": "lsl"}
        mnemonic = swap[mnemonic]
    else:  # every instruction here names an x register
        old = rng.choice(registers)
        new = rng.choice([r for r in REGISTERS if r != old])
        operands = re.sub(rf"\b{old}\b", new, operands, count=1)
    return block[:i] + [f"{mnemonic} {operands}"] + block[i + 1:]


def _invalid(block: list[str], rng: random.Random) -> list[str]:
    i = rng.randrange(len(block))
    mnemonic, _, operands = block[i].partition(" ")
    kind = rng.choice(["opcode", "register", "immediate", "label", "operand"])
    if kind == "opcode":
        broken = f"{mnemonic}{mnemonic[-1]} {operands}"  # `addd`, `ldrr`
    elif kind == "register":
        broken = f"{mnemonic} " + re.sub(r"\bx\d+\b", "x32", operands, count=1)
    elif kind == "immediate":
        broken = f"add x0, x1, #{rng.randrange(5000, 9000)}"  # beyond the 12-bit immediate
    elif kind == "label":
        broken = "b.ne 1b"  # no `1:` before it
    else:
        broken = f"{mnemonic} {operands.rsplit(',', 1)[0]}"  # last operand missing
    return block[:i] + [broken] + block[i + 1:]


def _correct(block: list[str], rng: random.Random, rewrites: int = 1) -> list[str] | None:
    """`block` with up to `rewrites` correct rewrites applied one after the other (None: no chance for any)."""
    changed = None
    for _ in range(rewrites):
        for rewrite in rng.sample(CORRECT, len(CORRECT)):
            rewritten = rewrite(changed or block, rng)
            if rewritten is not None:
                changed = rewritten
                break
    return changed


def generate(sources: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for number in range(sources):
        block = source_block(rng)
        reference = _correct(block, rng) or block
        for model in MODELS:
            roll = rng.random()
            if roll < 0.45:
                answer = _correct(block, rng, rng.randrange(1, 4)) or reference
            elif roll < 0.80:
                answer = _wrong(block, rng)
            else:
                answer = _invalid(block, rng)
            records.append({"id": f"{model}/{number:05d}", "model": model, "source": "\n".join(block),
                            "candidate": "\n".join(answer), "reference": "\n".join(reference)})
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--sources", type=int, default=250, help="source blocks (8 records each)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    records = generate(args.sources, args.seed)
    with open(args.output, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    print(f"{len(records)} records from {args.sources} source blocks -> {args.output}")


if __name__ == "__main__":
    main()
