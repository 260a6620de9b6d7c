"""POST /v1/check and /v1/check/batch: answered while the client waits."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, HTTPException, status

from verifier.result import Result

from ..deps import ServiceDep
from ..models import BatchRequest, BatchResponse, CheckRequest, ErrorDetail

router = APIRouter(prefix="/v1", tags=["checks"])

_BUSY = {
    429: {"model": ErrorDetail, "description": "The queue is full; retry after `Retry-After` seconds"},
    503: {"model": ErrorDetail, "description": "The server is shutting down; retry after `Retry-After` seconds"},
}


@router.post("/check", response_model=Result, responses=_BUSY)
async def check(request: CheckRequest, service: ServiceDep) -> Result:
    """Is `candidate` equivalent to `source`?

    Problems with a snippet are results (verdict `invalid`, HTTP 200): the request was fine, the snippet
    was not. A check that runs past the server's hard limit, or whose worker crashes, is `unknown`.
    """
    service.admit(1)
    return await service.check(request)


_TOO_MANY = {413: {"model": ErrorDetail, "description": "Too many pairs (see the server's max_batch)"}}


@router.post("/check/batch", response_model=BatchResponse, responses=_BUSY | _TOO_MANY)
async def check_batch(batch: BatchRequest, service: ServiceDep) -> BatchResponse:
    """Several pairs, checked in parallel and answered together in order (use /v1/jobs for large batches)."""
    if len(batch.pairs) > service.settings.max_batch:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE,
                            detail=f"{len(batch.pairs)} pairs; this server answers at most "
                                   f"{service.settings.max_batch} per batch: split it, or submit a job (POST /v1/jobs)")
    service.admit(len(batch.pairs))
    results = await asyncio.gather(*(service.check(pair) for pair in batch.pairs))
    return BatchResponse(results=results)
