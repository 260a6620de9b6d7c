"""`a64eq serve`: registered by verifier.cli; imports the web stack only when the command runs."""

from __future__ import annotations

import argparse
import sys

# flag -> (Settings field, type, help); every flag falls back to its A64EQ_* variable, then the default.
_FLAGS = {
    "--host": ("host", str, "address to listen on (A64EQ_HOST, default 127.0.0.1)"),
    "--port": ("port", int, "port (A64EQ_PORT, default 8000)"),
    "--workers": ("workers", int, "check worker processes (A64EQ_WORKERS, default: one per core)"),
    "--check-limit": ("check_limit", float, "hard limit of one check, seconds (A64EQ_CHECK_LIMIT, default 60)"),
    "--memory-limit-mb": ("memory_limit_mb", int, "resident memory per worker (A64EQ_MEMORY_LIMIT_MB, default 4096)"),
    "--queue-size": ("queue_size", int, "checks that may wait for a worker before 429 (A64EQ_QUEUE_SIZE, default 256)"),
    "--job-store": ("job_store", str, "SQLite file for jobs (A64EQ_JOB_STORE, default a64eq-jobs.sqlite)"),
    "--cors-origins": ("cors_origins", str, "comma-separated origins for CORS (A64EQ_CORS_ORIGINS, default none)"),
    "--max-batch": ("max_batch", int, "pairs per /v1/check/batch (A64EQ_MAX_BATCH, default 100)"),
    "--max-body-bytes": ("max_body_bytes", int, "request body limit (A64EQ_MAX_BODY_BYTES, default 1 MiB)"),
    "--max-job-bytes": ("max_job_bytes", int, "job upload limit (A64EQ_MAX_JOB_BYTES, default 64 MiB)"),
}


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add the service's subcommands to the `a64eq` parser."""
    serve = commands.add_parser("serve", help="run the HTTP API and web page",
                                description="Run the HTTP API (/docs) and the web page (/). "
                                            "Set A64EQ_API_KEY in the environment to require an API key.")
    for flag, (field, kind, text) in _FLAGS.items():
        serve.add_argument(flag, dest=field, type=kind, help=text)
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import ValidationError

    from .app import create_app
    from .settings import Settings

    try:
        settings = Settings.from_env(**{field: getattr(args, field) for field, _, _ in _FLAGS.values()})
    except ValidationError as exc:
        print(f"a64eq serve: bad setting: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level,
                timeout_graceful_shutdown=5)
    return 0
