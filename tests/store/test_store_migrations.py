"""The Alembic migrations create exactly the schema the ORM models describe."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from io import StringIO
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from heldout import StoreError
from heldout.store import Store
from heldout.store._migrate import MIGRATIONS, alembic_config
from heldout.store._schema import Base
from tests.store.store_runs import make_run


def test_migrated_schema_equals_the_models(store: Store) -> None:
    with store._engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        tables = set(inspect(connection).get_table_names())

    assert differences == []
    assert tables == {*Base.metadata.tables, "alembic_version"}


def test_store_is_at_the_newest_revision(store: Store) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with store._engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head == "0003"


def test_downgrade_and_upgrade_again(store_url: str, db_path: Path) -> None:
    Store.open(store_url).close()
    with Store.open(store_url) as store, store._engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
        assert inspect(connection).get_table_names() == ["alembic_version"]

    with Store.open(store_url) as store:
        store.save_run(make_run())
        assert len(store.list_runs()) == 1


def test_offline_sql_for_postgresql_uses_portable_types() -> None:
    output = StringIO()

    command.upgrade(alembic_config(url="postgresql://", output=output), "head", sql=True)

    sql = output.getvalue()
    assert "CREATE TABLE runs" in sql and "CREATE TABLE example_parts" in sql
    assert "data BYTEA NOT NULL" in sql
    assert "created_at TIMESTAMP WITH TIME ZONE NOT NULL" in sql
    assert "spec JSON NOT NULL" in sql
    assert "value FLOAT" in sql
    assert '"user" VARCHAR' in sql
    assert "ON DELETE CASCADE" in sql


def test_store_written_by_a_newer_heldout_is_refused(store_url: str, db_path: Path) -> None:
    Store.open(store_url).close()
    with closing(sqlite3.connect(db_path)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")

    with pytest.raises(StoreError, match=r"schema revision 0099, written by a newer heldout"):
        Store.open(store_url)


def test_migration_scripts_ship_beside_the_package() -> None:
    assert (MIGRATIONS / "env.py").is_file()
    assert sorted(p.name for p in (MIGRATIONS / "versions").glob("0*.py")) == [
        "0001_initial.py",
        "0002_calls.py",
        "0003_task_details.py",
    ]


def test_migrations_run_from_a_url_without_a_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dev.db'}"

    command.upgrade(alembic_config(url=url), "head")

    with Store.open(url) as store, store._engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) >= set(Base.metadata.tables)


def test_head_constant_is_the_newest_migration() -> None:
    from heldout.store._migrate import HEAD

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD
