"""Grading throughput: pairs per second of `a64eq grade`, cold cache and warm cache. Prints figures.

    .venv/bin/python bench/bench_grade.py [--sources 250] [--workers N] [--keep DIR]

Generates the realistic corpus of `bench/corpus.py` (8 answers per source block, a reference each;
250 sources = 2,000 records), then runs the real command line twice, in fresh processes:

* cold: an empty result cache, so every distinct check runs on the worker pool;
* warm: the same cache and a new output file, so every check is answered from the cache.

A "pair" is one record (its candidate check, plus its share of the reference check).
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import generate


def run(corpus: Path, output: Path, cache: Path, workers: int | None) -> tuple[float, str]:
    """Seconds from start to exit of one `a64eq grade` process, and its closing summary line."""
    command = [sys.executable, "-m", "verifier.cli", "grade", str(corpus), "-o", str(output), "--cache", str(cache)]
    if workers:
        command += ["--workers", str(workers)]
    log = output.with_suffix(".log")
    with open(log, "w") as stderr:  # a file, not a pipe: timing stops when the grader exits
        start = time.perf_counter()
        status = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr).wait()
        seconds = time.perf_counter() - start
    lines = log.read_text().strip().splitlines()
    if status != 0:
        raise SystemExit(f"a64eq grade failed ({status}):\n" + "\n".join(lines[-20:]))
    return seconds, lines[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", type=int, default=250, help="source blocks; 8 records each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    parser.add_argument("--keep", metavar="DIR", help="keep the corpus, results and cache here")
    args = parser.parse_args()

    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="a64eq-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    corpus, cache = directory / "corpus.jsonl", directory / "cache.sqlite"
    records = generate(args.sources, args.seed)
    corpus.write_text("".join(json.dumps(record) + "\n" for record in records))
    for stale in (directory / "cold.jsonl", directory / "warm.jsonl", cache):
        stale.unlink(missing_ok=True)
    print(f"corpus: {len(records)} records, {args.sources} source blocks of 4-15 instructions ({corpus})")

    cold_seconds, cold_summary = run(corpus, directory / "cold.jsonl", cache, args.workers)
    print(f"cold cache: {cold_seconds:7.1f} s  {len(records) / cold_seconds:8.1f} pairs/s   [{cold_summary}]")
    warm_seconds, warm_summary = run(corpus, directory / "warm.jsonl", cache, args.workers)
    print(f"warm cache: {warm_seconds:7.1f} s  {len(records) / warm_seconds:8.1f} pairs/s   [{warm_summary}]")

    verdicts = collections.Counter(json.loads(line)["result"]["verdict"]
                                   for line in (directory / "cold.jsonl").read_text().splitlines())
    print("verdicts:", ", ".join(f"{name} {count}" for name, count in verdicts.most_common()))


if __name__ == "__main__":
    main()
