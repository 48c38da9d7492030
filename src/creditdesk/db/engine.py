"""The database handle: engine, SQLite pragmas and the two kinds of transaction.

``Database.write()`` is the one way a use case opens its transaction. On PostgreSQL row
locks (``FOR UPDATE``) serialise writers; SQLite ignores ``FOR UPDATE``, so its write
transactions begin ``IMMEDIATE`` and take the database's single write lock up front.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

_IMMEDIATE = "creditdesk_sqlite_immediate"


class Database:
    """An engine plus session factory for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = create_engine(
                self.url, connect_args={"timeout": 60, "check_same_thread": False},
                pool_size=pool_size, max_overflow=max_overflow,
            )
            _configure_sqlite(self.engine)
        else:
            # No pool_pre_ping: it is a round trip on every checkout (three per API
            # request). A connection the server dropped fails its statement instead; that
            # is OperationalError (the API's 503 with Retry-After, a job's retry), and
            # SQLAlchemy then invalidates the pool, so the next checkout reconnects.
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=max_overflow, pool_recycle=3600,
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One read-write transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            if self.is_sqlite:
                session.connection(execution_options={_IMMEDIATE: True})
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """``write()`` without the ORM session, for use cases written in prebuilt Core
        statements (``db/credit_statements.py``): same transaction, same locking."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A Core connection for a one-statement read (a single statement sees one
        snapshot at any isolation level, so this skips ``read()``'s session and REPEATABLE
        READ); used on paths every request takes, such as authentication."""
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One read-only transaction over a consistent snapshot.

        SQLite WAL readers see one snapshot per transaction already; PostgreSQL needs
        REPEATABLE READ for that (its default gives each statement its own snapshot, and a
        page built from several queries could mix two moments).
        """
        with self._sessions() as session, session.begin():
            if not self.is_sqlite:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own
        # transaction handling would defer it and could not do IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE)
        # Straight to the driver: SQLAlchemy's execute() machinery (events, result set-up)
        # costs more than the BEGIN itself, once per transaction of every use case.
        connection.connection.driver_connection.execute(
            "BEGIN IMMEDIATE" if immediate else "BEGIN")
