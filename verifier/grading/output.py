"""The results file: one JSON line per record, appended and flushed as each completes.

A line is the input record's fields plus `result` (the `Result` of candidate against source) and, when
the record has a reference, `reference_result` (reference against source, for the reference audit and
the cost comparison).

Crash safety: a line is written with a single `write` and flushed, so a killed grader leaves at most
one partial last line. `resume` cuts that off and tells the grader which ids are already done.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..result import Result
from .records import InputError, Record


@dataclass(frozen=True)
class Graded:
    """One line of a results file, as the report reads it."""

    id: str
    model: str
    source: str
    candidate: str
    reference: str | None
    result: Result
    reference_result: Result | None


def output_line(record: Record, result: Result, reference_result: Result | None) -> dict:
    line = dict(record.fields)
    line["result"] = result.model_dump(mode="json")
    if reference_result is not None:
        line["reference_result"] = reference_result.model_dump(mode="json")
    return line


def resume(path: Path, options_by_id: dict[str, dict], version: str) -> set[str]:
    """Ids already graded in `path` with the same options and tool version; a partial last line is removed.

    Raises InputError if `path` holds an id graded differently (other options or version): appending would
    put that id in the file twice, so the user must choose another output file.
    """
    if not path.exists():
        return set()
    done: set[str] = set()
    conflicts: list[str] = []
    with open(path, "rb+") as handle:
        complete_up_to = 0
        for raw in iter(handle.readline, b""):
            if not raw.endswith(b"\n"):
                break  # cut short by a crash
            complete_up_to += len(raw)
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                record_id, result = str(line["id"]), line["result"]
            except (ValueError, KeyError, TypeError):
                raise InputError(f"{path}: a line at byte {complete_up_to - len(raw)} is not a grading result; "
                                 "is this the right output file?") from None
            if record_id in options_by_id and (result.get("options") != options_by_id[record_id]
                                               or result.get("version") != version):
                conflicts.append(record_id)
            done.add(record_id)
        handle.truncate(complete_up_to)
    if conflicts:
        raise InputError(f"{path} already holds {len(conflicts)} id(s) graded with other options or another "
                         f"a64eq version (e.g. {conflicts[0]!r}); write to a new output file")
    return done


class ResultWriter:
    """Appends result lines; each is flushed before the next record is reported done."""

    def __init__(self, path: Path):
        self._handle: IO[str] = open(path, "a", encoding="utf-8")

    def write(self, line: dict) -> None:
        self._handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


def read_results(path: Path) -> list[Graded]:
    """Every complete line of a results file (a partial last line, from a crash, is ignored)."""
    graded = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith("\n") or not line.strip():
                continue
            try:
                fields = json.loads(line)
                reference_result = fields.get("reference_result")
                graded.append(Graded(
                    id=str(fields["id"]), model=Record(fields).model, source=fields["source"],
                    candidate=fields["candidate"], reference=fields.get("reference"),
                    result=Result.model_validate(fields["result"]),
                    reference_result=Result.model_validate(reference_result) if reference_result else None,
                ))
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path} line {number}: not a grading result ({exc})") from None
    return graded
