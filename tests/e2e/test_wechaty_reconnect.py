"""Kill the gateway in the middle of a push round and start it again: the bot reconnects by itself and sends what
is still pending, with no duplicates."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from core.models import Group, OutboxItem
from tests.e2e.conftest import database, queue_push, register
from tests.e2e.harness import ROOM1, ROOM2, ROOM3, Bot, Gateway, wait_for

pytestmark = pytest.mark.e2e


@contextmanager
def running_stack(tmp_path: Path, *, with_push: bool) -> Iterator[tuple[Gateway, Bot]]:
    gateway = Gateway(tmp_path)
    bot = Bot(tmp_path, gateway, extra_env={"PUFA_PACING_MIN_SECONDS": "2", "PUFA_PACING_MAX_SECONDS": "2.2"})
    try:
        gateway.start()
        bot.cli("init")
        for room, name in ((ROOM1, "青山村一组"), (ROOM2, "青山村二组"), (ROOM3, "柳树村三组")):
            register(bot, room, name, "青山村")
        if with_push:
            queue_push(bot, due_in_seconds=1)
        bot.start()
        yield gateway, bot
    finally:
        bot.stop()
        gateway.stop()
        print(bot.log_tail())


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Gateway, Bot]]:
    with running_stack(tmp_path, with_push=True) as running:
        yield running


@pytest.fixture
def quiet_stack(tmp_path: Path) -> Iterator[tuple[Gateway, Bot]]:
    with running_stack(tmp_path, with_push=False) as running:
        yield running


def test_the_bot_reconnects_after_a_gateway_restart_and_sends_the_rest_once(stack: tuple[Gateway, Bot]) -> None:
    gateway, bot = stack
    wait_for("the first push message", gateway.bot_said, timeout=30)

    def first_part_recorded() -> bool:  # the bot has the gateway's answer: no send is in flight now
        with database(bot) as session:
            return bool(session.scalar(select(OutboxItem.id).where(OutboxItem.parts_sent >= 1).limit(1)))

    wait_for("the bot to record the first part as sent", first_part_recorded, timeout=10, every=0.01)
    gateway.kill()  # inside the 2 s pacing gap
    gateway.start()
    bot.wait_logged_in(2, timeout=30)

    def all_sent() -> list[tuple[str, str, int]] | None:
        with database(bot) as session:
            rows = list(session.execute(
                select(Group.room_id, OutboxItem.status, OutboxItem.parts_sent).join(Group, Group.id == OutboxItem.group_id)
            ))
        return rows if len(rows) == 3 and all(status == "sent" for _r, status, _p in rows) else None

    rows = wait_for("every outbox row to be sent after the restart", all_sent, timeout=40)
    with database(bot) as session:
        assert session.scalar(select(OutboxItem.id).where(OutboxItem.status != "sent").limit(1)) is None
    parts = rows[0][2]
    said = gateway.bot_said()
    per_message = Counter((m["conversation"], m["text"]) for m in said)
    assert max(per_message.values()) == 1, "a message was sent twice"
    assert Counter(room for room, _text in per_message) == {ROOM1: parts, ROOM2: parts, ROOM3: parts}
    restart_seq_reset = [m for m in said if m["seq"] == 1]
    assert len(restart_seq_reset) == 2  # messages really went out through both gateway processes
    # And the conversation works again after the reconnect.
    gateway.say("wxid_zhangsan", ROOM1, "老板欠我工资不给怎么办", mention_bot=True)
    wait_for("an answer after the reconnect",
             lambda: [m for m in gateway.bot_said(ROOM1) if "wxid_zhangsan" in m["mentions"]])


def test_the_watchdog_rebuilds_the_client_when_the_gateway_goes_silent(quiet_stack: tuple[Gateway, Bot]) -> None:
    """A frozen gateway keeps the TCP connection open but sends nothing: only the watchdog can notice."""
    gateway, bot = quiet_stack
    frozen_at = time.monotonic()
    assert gateway.process is not None
    gateway.process.send_signal(signal.SIGSTOP)
    try:
        wait_for("the watchdog to give up on the silent stream",
                 lambda: "no events from the gateway" in bot.log_text(), timeout=15)
        detected_after = time.monotonic() - frozen_at
        assert detected_after < 8, detected_after  # watchdog 3 s + one ding interval, with slack for a busy CI
    finally:
        gateway.process.send_signal(signal.SIGCONT)
    bot.wait_logged_in(2, timeout=40)
    gateway.say("wxid_zhangsan", ROOM1, "老板欠我工资不给怎么办", mention_bot=True)
    wait_for("an answer after the watchdog reconnect",
             lambda: [m for m in gateway.bot_said(ROOM1) if "wxid_zhangsan" in m["mentions"]])
