"""What every benchmark shares: bench databases, a partner to act as, timing statistics,
result files and the one-line figures printed to the terminal.

Benchmarks only ever create, use and drop PostgreSQL databases whose names start with
``creditdesk_bench`` (other databases on the server belong to tests and are never touched),
after ``CREDITDESK_BENCH_PG_TAG`` when set (``hbench_``: sessions sharing a server).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from argon2 import PasswordHasher

from creditdesk.db import migrate
from creditdesk.db.engine import Database
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor

RESULTS = Path(__file__).resolve().parent / "results"
PG_SERVER = os.environ.get("CREDITDESK_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PG_PREFIX = "creditdesk_bench"
# put before every bench database's name on a server shared between sessions ("hbench_")
PG_TAG = os.environ.get("CREDITDESK_BENCH_PG_TAG", "")


# --- databases -----------------------------------------------------------------

def pg_dsn(name: str) -> str:
    """A libpq DSN for one bench database (psycopg and COPY)."""
    return f"{PG_SERVER}/{_real(name)}"


def pg_url(name: str) -> str:
    """The SQLAlchemy URL of one bench database."""
    return pg_dsn(name).replace("postgresql://", "postgresql+psycopg://", 1)


def _real(name: str) -> str:
    """The name on the server: ``name`` (checked) with ``PG_TAG`` before it."""
    bad_tag = PG_TAG and not PG_TAG.replace("_", "").isalnum()
    if bad_tag or not name.startswith(PG_PREFIX) or not name.replace("_", "").isalnum():
        raise ValueError(f"bench databases must be named {PG_PREFIX}*, not {name!r}")
    return PG_TAG + name


def pg_recreate(name: str) -> str:
    """Drop (if there) and create an empty bench database; returns its SQLAlchemy URL."""
    real = _real(name)
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{real}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{real}"')
    return pg_url(name)


def pg_drop(name: str) -> None:
    real = _real(name)
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{real}" WITH (FORCE)')


def pg_available() -> bool:
    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory (SQLite files, server working directory), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"creditdesk-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sqlite_url(directory: Path, name: str) -> str:
    return f"sqlite:///{directory / name}.db"


def migrated(url: str, **kwargs: Any) -> Database:
    """Bring ``url`` to the schema head with Alembic (as `creditdesk db upgrade` does)."""
    migrate.upgrade(url)
    return Database(url, **kwargs)


def new_partner(db: Database, name: str = "Bench Co") -> tuple[Actor, str]:
    """A partner and its API key, acting as its admin (cheap argon2: setup only)."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    saved, partners._hasher = partners._hasher, fast
    try:
        made = partners.create_partner(db, name=name, admin_email=f"admin@{time.time_ns()}.bench",
                                       admin_password="bench-password")
    finally:
        partners._hasher = saved
    return Actor(made.partner_id, f"user:{made.admin_email}"), made.api_key


# --- statistics ------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """n, mean, p50, p90, p99 and max in milliseconds."""
    ms = [s * 1e3 for s in seconds]
    return {"n": len(ms), "mean_ms": round(sum(ms) / len(ms), 3),
            "p50_ms": round(percentile(ms, 50), 3), "p90_ms": round(percentile(ms, 90), 3),
            "p99_ms": round(percentile(ms, 99), 3), "max_ms": round(max(ms), 3)}


def ratio(value: float, baseline: float) -> float:
    return round(value / baseline, 4) if baseline else float("nan")


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def say(text: str) -> None:
    print(text, flush=True)


# --- results ---------------------------------------------------------------------

def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "loadavg_at_start": [round(x, 2) for x in load]}


def is_dev(opts: Any) -> bool:
    """A development run: --quick, or a size or backend other than the full run's."""
    return bool(opts.quick or opts.n is not None or getattr(opts, "backend", None))


def write_result(name: str, data: dict[str, Any], *, dev: bool) -> Path:
    """bench/results/<name>.json: a small summary, no raw samples. Development runs write
    ``<name>-dev.json`` (git-ignored), so they never overwrite the full run's figures."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}{'-dev' if dev else ''}.json"
    body = {"benchmark": name, "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(), **data}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)
    return path


def interleaved_samples(calls: dict[str, Callable[[int], object]], k: int,
                        warmup: int = 20) -> dict[str, list[float]]:
    """Seconds per call of ``k`` calls of each, taken round-robin (request i of every kind,
    then i+1...), so a burst of load on the shared machine hits baseline and cases alike."""
    for i in range(warmup):
        for fn in calls.values():
            fn(i)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(k):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn(i)
            samples[name].append(time.perf_counter() - t0)
    return samples
