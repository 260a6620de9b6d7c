"""A real `a64eq serve` in a subprocess on a loopback port, for the tests and the benchmark.

    with LocalServer("--workers", "2") as server:
        httpx.get(server.url + "/readyz")

The server runs in its own session (process group), so that cleaning up can take its workers too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # exited meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class LocalServer:
    def __init__(self, *flags: str, env: dict[str, str] | None = None, job_store: str | None = None,
                 port: int | None = None, startup_timeout: float = 120.0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.flags = list(flags)
        self.env = {**os.environ, **(env or {})}
        self.job_store = job_store
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.log = tempfile.NamedTemporaryFile(prefix="a64eq-serve-", suffix=".log", delete=False)

    def start(self) -> LocalServer:
        executable = Path(sys.executable).with_name("a64eq")
        command = [str(executable)] if executable.exists() else [sys.executable, "-m", "verifier.cli"]
        command += ["serve", "--host", "127.0.0.1", "--port", str(self.port), *self.flags]
        if self.job_store:
            command += ["--job-store", self.job_store]
        self.process = subprocess.Popen(command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        headers = {"X-API-Key": self.env["A64EQ_API_KEY"]} if self.env.get("A64EQ_API_KEY") else {}
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"a64eq serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/readyz", headers=headers, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"a64eq serve was not ready within {self.startup_timeout:g} s:\n{self.output()}")

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """The server's check workers (its multiprocessing children, not their own replay processes)."""
        pids = []
        for child in _children(self.pid):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                pids.append(child)
        return pids

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the server alone, as a crash would (its workers notice and exit on their own)."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM), then make sure nothing of the session is left."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
