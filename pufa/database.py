"""Opening the database for the composition root: engine, session factory, migrations on demand.

A light module (no bot or scheduler imports), so CLI commands that only read or write tables start quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.db import create_db_engine, create_session_factory
from core.errors import UserError
from core.settings import Settings


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    from core.migrate import needs_upgrade, upgrade  # alembic is only needed here

    engine = create_db_engine(settings.effective_database_url)
    try:
        if migrate and needs_upgrade(engine):
            upgrade(engine)
    except UserError:
        raise
    except Exception as exc:
        engine.dispose()
        raise UserError(f"无法打开或升级数据库（{type(exc).__name__}）：请检查 DATABASE_URL 和数据库服务") from exc
    return Database(engine=engine, sessions=create_session_factory(engine))
