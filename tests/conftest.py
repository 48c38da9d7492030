"""Shared fixtures: a fresh database per test on SQLite always, and on PostgreSQL whenever
CREDITDESK_TEST_POSTGRES_URL is set (CI sets it and requires it).

SQLite tests copy a migrated template file; PostgreSQL tests share one migrated database
and empty every table after each test. Services commit for real (one use case, one
transaction), so isolation is by fresh data rather than by an outer rollback.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import text

from creditdesk import config
from creditdesk.db import migrate
from creditdesk.db.engine import Database
from creditdesk.db.models import Base
from creditdesk.jobs import queue
from creditdesk.services.access import partners
from creditdesk.services.common.context import Actor
from creditdesk.web.app import create_app

pytest_plugins = ["tests.qbo_fixtures", "tests.xero_fixtures",  # fakes over real HTTP
                  "tests.intacct_fixtures", "tests.qbwc_fixtures",
                  "tests.books_fixtures",  # the four behind one face
                  "tests.smtp_server"]  # a real local SMTP server (D2)

PG_URL = os.environ.get("CREDITDESK_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])

if os.environ.get("CREDITDESK_REQUIRE_POSTGRES") and not PG_URL:
    raise pytest.UsageError("CREDITDESK_REQUIRE_POSTGRES is set but CREDITDESK_TEST_POSTGRES_URL "
                            "is not: CI must run the suite on PostgreSQL too")


@pytest.fixture(autouse=True)
def _secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # A known key: nothing writes .creditdesk-secret into the working tree during tests.
    monkeypatch.setenv("CREDITDESK_SECRET_KEY", "test-secret-key")


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    # Settings are cached per process; a test that sets CREDITDESK_* variables must not
    # leak them into later tests through that cache.
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real argon2, cheap parameters: the hash format and verification are what tests need.
    monkeypatch.setattr(partners, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    Database(f"sqlite:///{path}").engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_ready() -> str:
    assert PG_URL
    migrate.upgrade(PG_URL)
    return PG_URL


def _truncate_all(db: Database) -> None:
    names = ", ".join([t.name for t in Base.metadata.sorted_tables] + list(queue.TABLES))
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} CASCADE"))


def make_database(backend: str, request: pytest.FixtureRequest,
                  tmp_path: Path) -> Iterator[Database]:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "creditdesk.db"
        shutil.copy(template, path)
        db = Database(f"sqlite:///{path}")
        yield db
        db.dispose()
    else:
        if not PG_URL:  # a test that asks for PostgreSQL alone, on a machine without it
            pytest.skip("CREDITDESK_TEST_POSTGRES_URL is not set")
        url = request.getfixturevalue("postgres_ready")
        db = Database(url, pool_size=40, max_overflow=10)
        _truncate_all(db)
        yield db
        _truncate_all(db)
        db.dispose()


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated database on each backend."""
    yield from make_database(request.param, request, tmp_path)


@pytest.fixture
def pg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """PostgreSQL only: for tests that prove row locking with real threads."""
    yield from make_database("postgres", request, tmp_path)


@pytest.fixture
def partner(db: Database) -> partners.NewPartner:
    return partners.create_partner(db, name="Acme MSP", admin_email="admin@acme.test",
                                   admin_password="correct horse")


@pytest.fixture
def actor(db: Database, partner: partners.NewPartner) -> Actor:
    return partners.authenticate_api_key(db, partner.api_key)


@pytest.fixture
def other_actor(db: Database) -> Actor:
    other = partners.create_partner(db, name="Other MSP", admin_email="admin@other.test",
                                    admin_password="correct horse")
    return partners.authenticate_api_key(db, other.api_key)


@pytest.fixture
def client(db: Database, partner: partners.NewPartner) -> Iterator[TestClient]:
    with TestClient(create_app(db), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {partner.api_key}"
        yield c
