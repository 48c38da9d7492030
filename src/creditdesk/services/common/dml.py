"""Core DML beside the ORM: a model's table, and how many rows a statement touched."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table

from creditdesk.db import models


def table(model: type[models.Base]) -> Table:
    """The ``Table`` a model maps, for Core inserts (``__table__`` is typed as any
    FromClause, since a class may map a join or a select; each of ours maps one table)."""
    mapped = model.__table__
    assert isinstance(mapped, Table)
    return mapped


def rowcount(result: Result[Any]) -> int:
    """The rows ``result`` (of an UPDATE or DELETE run through a Session) matched.

    ``Session.execute`` is typed to return a ``Result``; for a DML statement it is a
    ``CursorResult``, which alone has ``rowcount``. The cast is SQLAlchemy's documented
    way to say so (nothing is checked or converted at run time).
    """
    return cast(CursorResult[Any], result).rowcount
