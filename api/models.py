"""Request and response bodies of the HTTP API (the OpenAPI contract at /docs is generated from these).

A check's answer is `verifier.result.Result` itself, so the library, the CLI's --json and the API return
the same fields. Only pydantic is imported here: the httpx client shares these models without FastAPI.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from verifier.result import Options, Result, Verdict

_EXAMPLE = {"source": "add x0, x0, x0", "candidate": "lsl x0, x0, #1", "options": {"live_out": ["x0"]}}


class CheckOptions(Options):
    """`verifier.result.Options`, refusing unknown fields: a misspelt option must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _validated(options: Options) -> Options:
    """Reject what `check` would reject, such as unknown register names in live_out, as a 422 up front."""
    from verifier.pool import validate_options

    validate_options(options.model_dump())
    return options


class CheckRequest(BaseModel):
    """One pair. Snippets may be bare blocks or whole LLM answers (fences and prose are cleaned up)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    source: str = Field(description="the original snippet")
    candidate: str = Field(description="the rewrite to check against it")
    options: CheckOptions = Field(default_factory=CheckOptions, description="what to compare and how long to try")

    @field_validator("options")
    @classmethod
    def _known_observables(cls, options: CheckOptions) -> CheckOptions:
        return _validated(options)


class BatchRequest(BaseModel):
    pairs: list[CheckRequest] = Field(min_length=1, description="checked in parallel, answered in this order")


class BatchResponse(BaseModel):
    results: list[Result] = Field(description="one result per pair, in the order of the request")


class JobRecord(BaseModel):
    """One input record of a job, as in batch grading. Fields beyond these are kept and echoed back."""

    model_config = ConfigDict(extra="allow")

    id: str | int = Field(description="unique within the job")
    source: str
    candidate: str
    reference: str | None = None
    model: str | None = None
    options: CheckOptions | None = None

    @field_validator("options")
    @classmethod
    def _known_observables(cls, options: CheckOptions | None) -> CheckOptions | None:
        return None if options is None else _validated(options)


class JobState(str, Enum):
    queued = "queued"  # accepted, nothing handed to a worker yet
    running = "running"
    done = "done"  # every record has its result
    cancelled = "cancelled"  # by DELETE; results so far are kept


class JobCreated(BaseModel):
    id: str
    total: int = Field(description="records accepted")


class JobStatus(BaseModel):
    id: str
    state: JobState
    total: int
    done: int = Field(description="records with a result")
    counts: dict[Verdict, int] = Field(description="results so far, per verdict")
    created: datetime
    started: datetime | None = None
    finished: datetime | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    ready: bool = Field(description="at least one worker is up")
    workers: int = Field(description="configured worker processes")
    workers_alive: int
    running: int = Field(description="checks being run by a worker")
    queue_depth: int = Field(description="checks waiting for a worker")
    restarts: int = Field(description="workers replaced since start (killed at a limit or crashed)")


class ErrorDetail(BaseModel):
    """The body of every error response (FastAPI's convention); 422 has a list of validation errors instead."""

    detail: str
