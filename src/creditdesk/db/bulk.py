"""Inserting many rows at once: PostgreSQL's COPY, one executemany elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (every row with the same keys; none: nothing) into ``table`` in the
    caller's transaction. On PostgreSQL through ``COPY … FROM STDIN``, each value first
    through its column type's bind processing as an INSERT would do it; elsewhere one Core
    executemany.

    Why COPY: psycopg sends an executemany as one INSERT per row (pipelined), and the
    server parses, plans and runs each; a first sync inserts hundreds of thousands (B6)."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    dialect = conn.dialect
    processors = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
                  for name in names]
    quote = dialect.identifier_preparer
    statement = (f"COPY {quote.format_table(table)} "
                 f"({', '.join(quote.quote(name) for name in names)}) FROM STDIN")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[name] if process is None else process(row[name])
                            for name, process in processors])
