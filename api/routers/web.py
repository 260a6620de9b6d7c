"""The web page for checking a pair by hand: plain HTML, CSS and JavaScript, no build step, no CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse

STATIC = Path(__file__).resolve().parent.parent / "static"
_ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}

# Routes rather than a StaticFiles mount, so the API key dependency covers the page like everything else.
router = APIRouter(include_in_schema=False)


@router.get("/")
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/static/{name}")
def asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return FileResponse(STATIC / name, media_type=_ASSETS[name])
