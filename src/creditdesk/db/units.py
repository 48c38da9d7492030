"""A request-wide transaction: every write of one request joins it, and its owner commits
it once, after adding the request's answer (E2).

``web/idempotency`` opens a ``Unit`` for each POST carrying an Idempotency-Key and binds it
once the request is known to run an API operation for a partner. From then on every
``Database.write()`` and ``write_connection()`` of that request — in whichever thread the
route runs: the context is copied — is a SAVEPOINT inside one transaction. The first one
begins it and runs the binder's ``on_begin`` (the key's claim) as its first statement. The
owner then writes the answer into that transaction and commits, so the effect and its answer
are committed together or not at all: a crash at any instant leaves "done, with this
answer" or "never happened", nothing in between.

Each write stays a savepoint so that a use case refused half-way rolls back alone, exactly
as its own transaction would have; reads after a write see it (the same connection).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from creditdesk import faults

if TYPE_CHECKING:
    from creditdesk.db.engine import Database

log = logging.getLogger("creditdesk.db")

OnBegin = Callable[[Connection], None]


class Unit:
    """One request's transaction, opened by its first write and ended by ``commit`` or
    ``close``. Used by one request at a time (its threads take turns, never overlap)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._on_begin: OnBegin | None = None
        self._conn: Connection | None = None
        self._after_commit: list[Callable[[], None]] = []
        self.finished = False

    # -- the owner's side ---------------------------------------------------------------
    def bind(self, on_begin: OnBegin) -> None:
        """From now on the request's writes join this unit; ``on_begin`` runs first in it."""
        self._on_begin = on_begin

    @property
    def joining(self) -> bool:
        return self._on_begin is not None and not self.finished

    @property
    def has_effect(self) -> bool:
        """Something was written (and is waiting for the answer to be committed)."""
        return self._conn is not None

    def commit(self, last: Callable[[Connection], None]) -> None:
        """Run ``last`` (the answer's write) in the transaction, commit, then the callbacks
        deferred with ``after_commit``. Anything raised before COMMIT rolls it all back."""
        conn = self._conn
        assert conn is not None, "nothing to commit"
        callbacks, self._after_commit = self._after_commit, []
        try:
            last(conn)
            faults.point("unit.before_commit")
            conn.commit()
        finally:
            self.close()
        faults.point("unit.committed")
        for callback in callbacks:
            try:
                callback()
            except Exception:  # committed already: the answer stands, whatever this did
                log.exception("an after-commit callback failed")

    def close(self) -> None:
        """Roll back whatever was not committed and give the connection back; the request's
        later writes (if any) run on their own."""
        self.finished = True
        conn, self._conn = self._conn, None
        self._after_commit = []
        if conn is not None:
            conn.close()  # rolls back an open transaction

    # -- the Database's side ------------------------------------------------------------
    def after_commit(self, callback: Callable[[], None]) -> None:
        if self._conn is None:
            callback()
        else:
            self._after_commit.append(callback)

    @contextmanager
    def step(self) -> Iterator[Connection]:
        """One use case's transaction as a savepoint of the unit's."""
        conn = self._begin()
        with conn.begin_nested():
            yield conn
            faults.point("unit.step_written")

    @contextmanager
    def reading(self) -> Iterator[Connection | None]:
        """The unit's connection once it has written (reads must see those writes), else
        None: a read before any write needs no part in the unit."""
        if self._conn is None:
            yield None
            return
        with self._conn.begin_nested():
            yield self._conn

    def _begin(self) -> Connection:
        if self._conn is not None:
            return self._conn
        assert self._on_begin is not None
        conn = self.db.connect_for_write()
        try:
            conn.begin()
            self._on_begin(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        faults.point("unit.claimed")
        return conn


_current: ContextVar[Unit | None] = ContextVar("creditdesk_unit", default=None)


@contextmanager
def opened(db: Database) -> Iterator[Unit]:
    """A new unit for the current request (context), forgotten when the block ends."""
    unit = Unit(db)
    token = _current.set(unit)
    try:
        yield unit
    finally:
        _current.reset(token)


def current() -> Unit | None:
    return _current.get()


def joining(db: Database) -> Unit | None:
    """The bound, unfinished unit of the current request on ``db``, if any."""
    unit = _current.get()
    return unit if unit is not None and unit.db is db and unit.joining else None
