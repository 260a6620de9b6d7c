"""The FastAPI application: `create_app(settings)` wires the routers, limits, API key and CORS together.

Run it with `a64eq serve` (uvicorn). The workers start in the lifespan, before the server accepts
connections, and stop when it shuts down; unfinished job records then run again on the next start.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from verifier import __version__

from .deps import require_api_key
from .routers import checks, jobs, ops, web
from .service import Service
from .settings import Settings

DESCRIPTION = """
Is an AArch64 rewrite equivalent to the original? Each check answers with a proof (`equivalent`), a
counterexample replayed on unicorn (`not_equivalent`), or says why not (`unknown`, `unsupported`,
`invalid`). Results have the same fields as the Python library and `a64eq check --json`.

Every check runs in a worker process under a hard wall-clock limit (its `timeout` + `fp_timeout` + 5 s,
capped by the server's per-check limit: floating-point queries have their own budget, not charged to
`timeout`) and a memory limit; past either the worker is killed and the check is `unknown`.
When too many checks are waiting, requests get 429 with `Retry-After`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.service = Service(settings)
        try:
            yield
        finally:
            app.state.service.close()

    guarded = [Depends(require_api_key)] if settings.api_key else []
    app = FastAPI(title="a64eq", version=__version__, description=DESCRIPTION, lifespan=lifespan,
                  max_body_size=settings.max_body_bytes, **({"openapi_url": None} if guarded else {}))
    if guarded:  # the contract, too, is behind the key: serve /openapi.json and /docs ourselves
        app.include_router(_guarded_docs(app, guarded))
    app.include_router(ops.public)
    app.include_router(ops.router, dependencies=guarded)
    app.include_router(checks.router, dependencies=guarded)
    app.include_router(jobs.router, dependencies=guarded, max_body_size=settings.max_job_bytes)
    app.include_router(web.router, dependencies=guarded)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Content-Type", "X-API-Key", "Authorization"], expose_headers=["Retry-After"])
    return app


def _guarded_docs(app: FastAPI, guarded: list) -> APIRouter:
    docs = APIRouter(include_in_schema=False, dependencies=guarded)

    @docs.get("/openapi.json")
    def openapi() -> dict:
        return app.openapi()

    @docs.get("/docs")
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="a64eq")

    return docs
