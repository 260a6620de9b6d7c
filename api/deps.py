"""Dependencies shared by the routers: the service object, and the API key check."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer

from .service import Service


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]

# Three ways to present the key, so that every kind of client can: scripts send a header; a browser opening
# the web page answers the Basic challenge (any user name, the key as password) and then sends it itself.
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the server's API key")
_bearer = HTTPBearer(auto_error=False, description="the server's API key as a bearer token")
_basic = HTTPBasic(auto_error=False, realm="a64eq", description="any user name, the API key as password")


def require_api_key(
    service: ServiceDep,
    header: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    basic: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> None:
    """401 unless the request carries the configured key (nothing to check when none is configured)."""
    expected = service.settings.api_key
    if expected is None:
        return
    offered = header or (bearer.credentials if bearer else None) or (basic.password if basic else None)
    if offered is None or not secrets.compare_digest(offered.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="a valid API key is required (X-API-Key header)",
                            headers={"WWW-Authenticate": 'Basic realm="a64eq"'})
