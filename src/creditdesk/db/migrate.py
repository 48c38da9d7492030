"""Bringing a database's schema to the head revision with Alembic (``db upgrade``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Indexes that exist only where the database allows them (0014: PostgreSQL's trigram index
# when pg_trgm can be had), so not in the models.
OPTIONAL_INDEXES = frozenset({"ix_credit_memos_number_trgm"})


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate's filter: Procrastinate's tables are its own (created by migration 0006
    from the SQL it ships), not models of ours; nor are the optional indexes."""
    if type_ == "index" and name in OPTIONAL_INDEXES:
        return False
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
