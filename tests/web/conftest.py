"""A console app on the test database (SQLite and PostgreSQL), driven with FastAPI's TestClient."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from core.clock import ManualClock
from core.settings import Settings
from pufa.app import Database
from pufa.web.accounts import create_staff
from pufa.web.app import create_web_app

PASSWORD = "村里的密码2026"


def add_staff(db: Database, clock: ManualClock, name: str = "张三", role: str = "admin") -> None:
    with db.sessions.begin() as session:
        create_staff(session, name=name, role=role, password=PASSWORD, now=clock.now())


def login(client: TestClient, name: str = "张三", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token, "next": "/"},
                       follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


@pytest.fixture
def web(settings: Settings, db: Database, clock: ManualClock):  # type: ignore[no-untyped-def]
    return create_web_app(settings, db, clock)


@pytest.fixture
def client(web) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(web) as c:
        yield c


@pytest.fixture
def admin(client: TestClient, db: Database, clock: ManualClock) -> TestClient:
    """The client, logged in as an admin."""
    add_staff(db, clock)
    assert login(client).status_code == 303
    return client
