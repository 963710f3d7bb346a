"""Bring a store's schema to the newest revision with Alembic, without an alembic.ini.

The migration scripts live in the ``migrations`` folder beside this module; ``env.py``
there takes the connection from ``Config.attributes["connection"]``, so the upgrade runs
in a transaction opened here (and with SQLite's write lock held from its start, so two
processes opening a new store at once do not both create the tables).

A schema change is a new revision in ``migrations/versions``. Write it against a database
at the newest revision, with the models in ``_schema.py`` already changed::

    from alembic import command
    from heldout.store._migrate import alembic_config

    config = alembic_config(url="sqlite:///dev.db")
    command.upgrade(config, "head")
    command.revision(config, message="add audit", autogenerate=True, rev_id="0002")

then spell the types out in the generated file as ``0001_initial.py`` does, and keep
``test_migrated_schema_equals_the_models`` passing.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from heldout._errors import StoreError
from heldout.store._engine import WRITE, StoreURL, translate_errors

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "MIGRATIONS", "alembic_config", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")

#: The newest revision in ``migrations/versions`` (a test keeps the two in step). A store
#: already there is opened without importing Alembic, which costs a quarter of a second.
HEAD = "0003"


def alembic_config(
    connection: Connection | None = None,
    *,
    url: str | None = None,
    output: StringIO | None = None,
) -> Config:
    """An Alembic configuration for the store's migrations.

    Args:
        connection: the connection ``env.py`` migrates (online mode).
        url: a database URL for offline mode (``alembic upgrade --sql``), or for
            ``env.py`` to connect to when no connection is given.
        output: where offline mode writes its SQL.
    """
    from alembic.config import Config

    config = Config(output_buffer=output)
    # Config values go through configparser interpolation: a "%" in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, store_url: StoreURL) -> None:
    """Migrate the store at ``engine`` to the newest revision, if it is not there yet.

    Raises:
        StoreError: the database cannot be reached or migrated, or a newer heldout wrote it.
    """
    with translate_errors(store_url, "cannot open the store"), engine.connect() as connection:
        if _current(connection) == {HEAD}:
            return
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    with translate_errors(store_url, "cannot open the store"):
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        if current == heads:
            return
        known = {revision.revision for revision in script.walk_revisions()}
        unknown = sorted(current - known)
        if unknown:
            raise StoreError(
                f"the store {store_url.shown} has schema revision {', '.join(unknown)}, "
                "written by a newer heldout; upgrade heldout (pip install -U heldout)"
            )
        with engine.connect() as connection:
            connection.execution_options(**{WRITE: True})
            with connection.begin():
                command.upgrade(alembic_config(connection), "head")


def _current(connection: Connection) -> set[str]:
    """The revisions recorded in the store (empty for a new store)."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return {
        str(r)
        for r in connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    }
