"""Shared fixtures: settings, a manual clock, and a fresh database per test on SQLite and PostgreSQL.

PostgreSQL is real: a throw-away database on the local server (PUFA_TEST_PG_URL, default
postgresql+psycopg://postgres@127.0.0.1:5432/test). If it is unreachable the PostgreSQL tests FAIL; they never skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.clock import ManualClock
from core.db import create_db_engine, create_session_factory
from core.migrate import upgrade
from core.models import Base
from core.settings import Settings
from pufa.app import Database

TZ = ZoneInfo("Asia/Shanghai")
PG_ADMIN_URL = os.environ.get("PUFA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


_LOOPBACK = ("127.", "::1", "localhost")


def _loopback_only(connect):
    def guarded(self, address):
        if isinstance(address, tuple) and not str(address[0]).startswith(_LOOPBACK):
            raise RuntimeError(f"tests may not use the network outside loopback: {address[0]}")
        return connect(self, address)

    return guarded


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env or environment, and network use outside loopback fails."""
    for key in list(os.environ):
        if (key.startswith("PUFA_") and key != "PUFA_TEST_PG_URL") or key == "DATABASE_URL":
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(socket.socket, "connect", _loopback_only(socket.socket.connect))
    monkeypatch.setattr(socket.socket, "connect_ex", _loopback_only(socket.socket.connect_ex))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        hash_secret="test-secret-for-hmac",  # type: ignore[arg-type]
        pacing_min_seconds=0,
        pacing_max_seconds=0,
    )


# -- databases ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"pufa_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable at {PG_ADMIN_URL}: {exc}")
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_db_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh, fully migrated database URL: a copy of a migrated SQLite file, or a truncated PostgreSQL DB."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    _truncate_all(url)
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    engine = create_db_engine(db_url)
    database = Database(engine=engine, sessions=create_session_factory(engine))
    yield database
    database.dispose()
