"""Service configuration: defaults, overridden by environment variables, overridden by `a64eq serve` flags.

Each setting's environment variable is its name in capitals with an `A64EQ_` prefix (`workers` ->
`A64EQ_WORKERS`). The API key is read from the environment only, so that it never shows in `ps`.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field, field_validator, model_validator

ENV_PREFIX = "A64EQ_"


class Settings(BaseModel):
    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="port to listen on")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1,
                         description="check worker processes (default: one per core)")
    check_limit: float = Field(default=60.0, gt=0,
                               description="hard wall-clock limit of one check, seconds; a check's own limit is "
                                           "its timeout + fp_timeout + 5 s, capped at this")
    memory_limit_mb: int = Field(default=4096, ge=64, description="resident memory limit per worker, MB")
    queue_size: int = Field(default=256, ge=1, description="checks that may wait for a worker before 429")
    job_store: str = Field(default="a64eq-jobs.sqlite", description="SQLite file holding batch jobs")
    api_key: str | None = Field(default=None, description="when set, required by every endpoint but /healthz")
    cors_origins: list[str] = Field(default=[], description="origins allowed by CORS (comma-separated); default none")
    max_batch: int = Field(default=100, ge=1, description="pairs per POST /v1/check/batch")
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="request body limit, bytes (413 above)")
    max_job_bytes: int = Field(default=64 << 20, ge=1024, description="body limit of a job upload, bytes")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split(cls, value):
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("api_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return value or None

    @model_validator(mode="after")
    def _batch_fits_queue(self):
        if self.max_batch > self.queue_size:
            raise ValueError(f"max_batch ({self.max_batch}) cannot exceed queue_size ({self.queue_size}): "
                             "such a batch could never be accepted")
        return self

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> Settings:
        """Settings from `A64EQ_*` variables, then `overrides` (those that are not None) on top."""
        values = {name: environ[ENV_PREFIX + name.upper()]
                  for name in cls.model_fields if ENV_PREFIX + name.upper() in environ}
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)
