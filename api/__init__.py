"""a64eq HTTP service: FastAPI app, worker processes with hard limits, job store, web page."""
