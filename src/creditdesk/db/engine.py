"""The database handle: engine, SQLite pragmas and the two kinds of transaction.

``Database.write()`` is the one way a use case opens its transaction. On PostgreSQL row
locks (``FOR UPDATE``) serialise writers; SQLite ignores ``FOR UPDATE``, so its write
transactions begin ``IMMEDIATE`` and take the database's single write lock up front.

Inside a request that carries an Idempotency-Key (``db/units.py``) a write is instead a
savepoint of the request's one transaction, committed with the request's answer; reads
after it see it. The use cases can't tell the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from creditdesk.db import units

_IMMEDIATE = "creditdesk_sqlite_immediate"

# Called as each write transaction's block ends without error: a hook answers what to run
# once that write is committed (None: nothing). The event outbox uses it to wake the
# delivery job only after its events are visible (``services.events.outbox``).
CommitHook = Callable[["Database"], Callable[[], None] | None]
_commit_hooks: list[CommitHook] = []


def add_commit_hook(hook: CommitHook) -> None:
    if hook not in _commit_hooks:
        _commit_hooks.append(hook)


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
        unit = units.joining(self)
        if unit is not None:
            with unit.step() as conn, self._joined(conn) as session:
                yield session
            self._after_step(unit)
            return
        with self._sessions() as session, session.begin():
            if self.is_sqlite:
                session.connection(execution_options={_IMMEDIATE: True})
            yield session
        self._committed()

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """``write()`` without the ORM session, for use cases written in prebuilt Core
        statements (``db/credit_statements.py``): same transaction, same locking."""
        unit = units.joining(self)
        if unit is not None:
            with unit.step() as conn:
                yield conn
            self._after_step(unit)
            return
        with self.connect_for_write() as conn, conn.begin():
            yield conn
        self._committed()

    def _committed(self) -> None:
        for hook in _commit_hooks:
            callback = hook(self)
            if callback is not None:
                callback()

    def _after_step(self, unit: units.Unit) -> None:
        for hook in _commit_hooks:
            callback = hook(self)
            if callback is not None:
                unit.after_commit(callback)

    def connect_for_write(self) -> Connection:
        """A connection whose next BEGIN takes SQLite's write lock (``IMMEDIATE``)."""
        conn = self.engine.connect()
        if self.is_sqlite:
            conn.execution_options(**{_IMMEDIATE: True})
        return conn

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once what this request wrote is committed: now, unless the
        request's writes wait in a unit for its answer (then right after that commit)."""
        unit = units.joining(self)
        if unit is None:
            callback()
        else:
            unit.after_commit(callback)

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A Core connection for a one-statement read (a single statement sees one
        snapshot at any isolation level, so this skips ``read()``'s session and REPEATABLE
        READ); used on paths every request takes, such as authentication."""
        unit = units.joining(self)
        if unit is not None:
            with unit.reading() as joined:
                if joined is not None:
                    yield joined
                    return
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Session]:
        """One read-only transaction over a consistent snapshot.

        SQLite WAL readers see one snapshot per transaction already; PostgreSQL needs
        REPEATABLE READ for that (its default gives each statement its own snapshot, and a
        page built from several queries could mix two moments).
        """
        unit = units.joining(self)
        if unit is not None:
            with unit.reading() as joined:
                if joined is not None:
                    with self._joined(joined) as session:
                        yield session
                    return
        with self._sessions() as session, session.begin():
            if not self.is_sqlite:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    @contextmanager
    def _joined(self, conn: Connection) -> Iterator[Session]:
        """A session on a unit's connection, inside the savepoint its caller opened: its
        flush happens here, the savepoint and the transaction stay the unit's."""
        with self._sessions(bind=conn, join_transaction_mode="rollback_only") as session:
            yield session
            session.flush()

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
