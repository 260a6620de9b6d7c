"""/v1/jobs: large batches, stored on disk and graded in the background; results streamed as NDJSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError

from ..deps import ServiceDep
from ..models import ErrorDetail, JobCreated, JobRecord, JobState, JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_RECORDS = TypeAdapter(list[JobRecord])
_NOT_FOUND = {404: {"model": ErrorDetail, "description": "No such job"}}
_FOLLOW_POLL_SECONDS = 0.25


def _upload_schema() -> dict:
    """The three accepted request bodies, for OpenAPI (the handler parses the body itself)."""
    record = JobRecord.model_json_schema(ref_template="#/components/schemas/{model}")
    record.pop("$defs", None)
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": record}},
        "application/x-ndjson": {"schema": {"type": "string", "description": "one record (JSON object) per line"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "a JSON list or JSONL file"}}}},
    }}}


def _parse(text: str) -> list:
    """A JSON list of records, or one record per line (JSONL); 422 pointing at the bad line otherwise."""
    if text.lstrip().startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=f"invalid JSON: {exc}") from None
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                    detail=f"line {number} is not JSON: {exc}") from None
    return records


def _validate(raw: list) -> list[dict]:
    try:
        records = _RECORDS.validate_python(raw)
    except ValidationError as exc:  # FastAPI's own 422 format; loc = ("body", record index, field)
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from None
    if not records:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="no records")
    first_of: dict = {}
    for index, record in enumerate(records):
        if record.id in first_of:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail=f"duplicate id {record.id!r} (records {first_of[record.id]} and {index})")
        first_of[record.id] = index
    return [record.model_dump(mode="json", exclude_none=True) for record in records]


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=JobCreated, openapi_extra=_upload_schema(),
             responses={413: {"model": ErrorDetail, "description": "Upload larger than the server's max_job_bytes"}})
async def create_job(request: Request, response: Response, service: ServiceDep) -> JobCreated:
    """Accept a batch of records (JSON list, JSONL body, or a file upload) and return its id at once.

    Records are as in batch grading: `id` (unique), `source`, `candidate`, optional `reference`, `model`,
    `options`; any other fields are kept and echoed in the results. Once this returns, every record is
    on disk and will get exactly one result, across server restarts.
    """
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        upload = (await request.form()).get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="multipart upload needs a `file` field")
        body = await upload.read()
    else:
        body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="the upload is not UTF-8") from None
    records = _validate(_parse(text))
    job_id = await asyncio.to_thread(service.store.create, records)
    service.jobs.wake()
    response.headers["Location"] = str(request.url_for("job_status", job_id=job_id))
    return JobCreated(id=job_id, total=len(records))


@router.get("/{job_id}", response_model=JobStatus, responses=_NOT_FOUND)
def job_status(job_id: str, service: ServiceDep) -> JobStatus:
    """State and progress: done / total, and the results so far per verdict."""
    found = service.store.status(job_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id}")
    return found


@router.get("/{job_id}/results", response_class=StreamingResponse, responses=_NOT_FOUND | {
    200: {"content": {"application/x-ndjson": {}},
          "description": "One line per finished record, in completion order: the input record plus `result`"}})
async def job_results(
    job_id: str,
    service: ServiceDep,
    offset: Annotated[int, Query(ge=0, description="skip this many lines (the number already received)")] = 0,
    follow: Annotated[bool, Query(description="keep the stream open until the job is done or cancelled")] = False,
) -> StreamingResponse:
    """The results as NDJSON. Resume an interrupted download with `offset` = lines received so far."""
    if await asyncio.to_thread(service.store.status, job_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id}")

    async def lines() -> AsyncIterator[str]:
        position = offset
        while True:
            # Read the state before the lines: a job that is over then has all its lines in the read.
            state = (await asyncio.to_thread(service.store.status, job_id)).state
            batch = await asyncio.to_thread(service.store.results, job_id, position)
            for line in batch:
                yield line + "\n"
            position += len(batch)
            if batch:
                continue
            if not follow or state in (JobState.done, JobState.cancelled):
                return
            await asyncio.sleep(_FOLLOW_POLL_SECONDS)

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.delete("/{job_id}", response_model=JobStatus, responses=_NOT_FOUND)
def cancel_job(job_id: str, service: ServiceDep) -> JobStatus:
    """Cancel: records not yet graded never will be; results so far stay available."""
    if not service.jobs.cancel(job_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no job {job_id}")
    return service.store.status(job_id)
