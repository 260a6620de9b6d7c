"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..deps import ServiceDep
from ..models import Health, Readiness

# /healthz is the one endpoint that never needs the API key (container health checks call it).
public = APIRouter(tags=["operations"])
router = APIRouter(tags=["operations"])


@public.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the server process answers."""
    return Health()


@router.get("/readyz", response_model=Readiness,
            responses={503: {"model": Readiness, "description": "No worker is up"}})
def readyz(service: ServiceDep, response: Response) -> Readiness:
    """Readiness: at least one check worker is up (others may be restarting after a limit or a crash)."""
    pool = service.pool
    readiness = Readiness(ready=pool.workers_alive > 0, workers=pool.size, workers_alive=pool.workers_alive,
                          running=pool.running, queue_depth=pool.queue_depth, restarts=pool.restarts)
    if not readiness.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return readiness


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics(service: ServiceDep) -> Response:
    """Checks by verdict, time per stage, queue depth, workers alive and restarted, requests turned away."""
    return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
