"""Input records for `a64eq grade`, read from JSONL, a JSON list, CSV, or a directory of `.s` files.

A record has `id`, `source`, `candidate`, and optionally `reference`, `model` and `options` (a dict of
`verifier.result.Options` fields that override the command line's for that record). Any other field is
kept and copied to the output untouched.

Everything that can be wrong with the input (unreadable lines, missing fields, duplicate ids, bad
options) is found here, before any checking starts, and reported all at once.

Directory layout: every `NAME.source.s` with a `NAME.candidate.s` next to it is one record, id
`NAME`; an optional `NAME.reference.s` is its reference. Files one directory down belong to the
model named by that directory: `gpt-4o/NAME.source.s` has id `gpt-4o/NAME` and model `gpt-4o`.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from ..pool import validate_options

REQUIRED = ("id", "source", "candidate")
TEXT_FIELDS = ("source", "candidate", "reference", "model")
RESERVED = ("result", "reference_result")  # fields the output adds


class InputError(Exception):
    """The input cannot be graded as it is; the message lists every problem found."""


@dataclass(frozen=True)
class Record:
    fields: dict  # the record as read, copied to the output

    @property
    def id(self) -> str:
        return str(self.fields["id"])

    @property
    def source(self) -> str:
        return self.fields["source"]

    @property
    def candidate(self) -> str:
        return self.fields["candidate"]

    @property
    def reference(self) -> str | None:
        return self.fields.get("reference")

    @property
    def model(self) -> str:
        return self.fields.get("model") or "(no model)"


def read_records(path: str | Path, base_options: dict) -> list[Record]:
    """All records of `path`, validated; raises InputError listing every problem."""
    path = Path(path)
    if path.is_dir():
        rows = _read_directory(path)
    elif path.suffix.lower() == ".csv":
        rows = _read_csv(path)
    elif path.suffix.lower() == ".jsonl":
        rows = _read_jsonl(path)
    else:
        rows = _read_json_list(path)
    return _validate(rows, base_options)


def effective_options(record: Record, base_options: dict) -> dict:
    """The options a record is checked with: the command line's, overridden by the record's own, every field
    present. Raises ValueError for what the pool would reject (unknown names, bad values, unknown observables).
    """
    return validate_options({**base_options, **(record.fields.get("options") or {})}).model_dump(mode="json")


def _read_jsonl(path: Path) -> list[tuple[str, object]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    rows.append((f"line {number}", f"not JSON ({exc.msg})"))
    return rows


def _read_json_list(path: Path) -> list[tuple[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc}); JSON input must be a list of records, JSONL one per line")
    if not isinstance(data, list):
        raise InputError(f"{path}: JSON input must be a list of records")
    return [(f"item {index}", item) for index, item in enumerate(data)]


def _read_csv(path: Path) -> list[tuple[str, object]]:
    """CSV with a header row; empty cells are absent fields, `options` is a JSON object."""
    rows = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            where = f"row {len(rows) + 2}"
            fields = {key: value for key, value in row.items() if key and value not in (None, "")}
            if "options" in fields:
                try:
                    fields["options"] = json.loads(fields["options"])
                except json.JSONDecodeError:
                    rows.append((where, "the options cell is not a JSON object"))
                    continue
            rows.append((where, fields))
    return rows


def _read_directory(path: Path) -> list[tuple[str, object]]:
    rows = []
    for source in sorted([*path.glob("*.source.s"), *path.glob("*/*.source.s")]):
        name = source.name[: -len(".source.s")]
        candidate = source.with_name(f"{name}.candidate.s")
        reference = source.with_name(f"{name}.reference.s")
        relative = source.parent.relative_to(path)
        where = str(source.relative_to(path))
        if not candidate.exists():
            rows.append((where, f"{candidate.name} is missing"))
            continue
        fields = {"id": f"{relative}/{name}" if relative.parts else name,
                  "source": source.read_text(encoding="utf-8", errors="replace"),
                  "candidate": candidate.read_text(encoding="utf-8", errors="replace")}
        if reference.exists():
            fields["reference"] = reference.read_text(encoding="utf-8", errors="replace")
        if relative.parts:
            fields["model"] = str(relative)
        rows.append((where, fields))
    if not rows:
        raise InputError(f"{path}: no NAME.source.s files found (see `a64eq grade --help` for the layout)")
    return rows


def _validate(rows: list[tuple[str, object]], base_options: dict) -> list[Record]:
    problems: list[str] = []
    records: list[Record] = []
    first_seen: dict[str, str] = {}
    for where, fields in rows:
        problem = _record_problem(fields, base_options)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        record = Record(fields)
        if record.id in first_seen:
            problems.append(f"{where}: duplicate id {record.id!r} (first at {first_seen[record.id]})")
            continue
        first_seen[record.id] = where
        records.append(record)
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise InputError(f"{len(problems)} problem(s) in the input, nothing was graded:\n  " + "\n  ".join(shown))
    return records


def _record_problem(fields: object, base_options: dict) -> str | None:
    """What is wrong with one record (None: nothing)."""
    if isinstance(fields, str):
        return fields  # the reader's own complaint
    if not isinstance(fields, dict):
        return "a record must be an object"
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(fields["id"], (str, int)):
        return "id must be text or an integer"
    not_text = [name for name in TEXT_FIELDS if fields.get(name) is not None and not isinstance(fields[name], str)]
    if not_text:
        return f"{', '.join(not_text)} must be text"
    reserved = [name for name in RESERVED if name in fields]
    if reserved:
        return f"{', '.join(reserved)} is written by the grader"
    options = fields.get("options")
    if options is None:
        return None
    if not isinstance(options, dict):
        return "options must be an object"
    try:
        effective_options(Record(fields), base_options)
    except ValueError as exc:
        return "bad options: " + " ".join(str(exc).split())
    return None
