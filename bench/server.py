"""A real ``creditdesk serve --workers N`` as a subprocess on a free localhost port.

It is started with ``CREDITDESK_DATABASE_URL`` pointing at a bench database, in a scratch
working directory (the server may write its secret file there), and stopped by its own
process id only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Context manager: starts the server, waits for /healthz, stops it on exit."""

    def __init__(self, database_url: str, workers: int, workdir: Path, *,
                 command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        """``command``: another server to run instead (``{port}`` is replaced by the port);
        ``env``: extra environment variables."""
        self.database_url, self.workers, self.workdir = database_url, workers, workdir
        self.command, self.extra_env = command, env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, "CREDITDESK_DATABASE_URL": self.database_url,
               "CREDITDESK_SECRET_KEY": "bench-secret-not-for-production", **self.extra_env}
        self.log = open(self.workdir / f"server-{self.port}.log", "wb")
        command = ([part.replace("{port}", str(self.port)) for part in self.command]
                   if self.command else
                   [sys.executable, "-m", "creditdesk.cli", "serve", "--host", "127.0.0.1",
                    "--port", str(self.port), "--workers", str(self.workers)])
        self.proc = subprocess.Popen(command, cwd=self.workdir, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}); see {self.log.name}")
            try:
                up = httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200
                if up and len(self.processes()) >= 1 + (self.workers > 1) * self.workers:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("server did not become ready in 90 s")

    def processes(self) -> list[psutil.Process]:
        """The server's own process and its workers (with one worker there is one process)."""
        assert self.proc is not None
        root = psutil.Process(self.proc.pid)
        return [root] + [c for c in root.children(recursive=True)
                         if "multiprocessing.resource_tracker" not in " ".join(c.cmdline())]

    def rss_mb(self) -> dict[str, float]:
        """Resident memory: the largest single process and the whole tree, in MB."""
        sizes = [p.memory_info().rss / 2**20 for p in self.processes()]
        return {"processes": len(sizes), "max_process_mb": round(max(sizes), 1),
                "total_mb": round(sum(sizes), 1)}

    def __exit__(self, *_exc) -> None:
        if self.proc and self.proc.poll() is None:
            children = self.processes()[1:]
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                for p in [self.proc, *children]:  # only the processes this bench started
                    with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
                        p.kill()
                self.proc.wait()
        self.log.close()
