"""The real bot process against the mock WeChat: answers, silence, pushes with pacing, welcome, staff commands."""

from __future__ import annotations

import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.models import Consultation, Group, OutboxItem
from tests.e2e.conftest import database, queue_push, register
from tests.e2e.harness import BOT_NAME, MENTION, ROOM1, ROOM2, ROOM3, STAFF_ID, TOKEN, Bot, Gateway, wait_for

pytestmark = pytest.mark.e2e
PACING_MIN = 1.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Bot]]:
    work: Path = tmp_path_factory.mktemp("e2e-bot")
    gateway = Gateway(work)
    bot = Bot(work, gateway)
    try:
        gateway.start()
        bot.cli("init")
        register(bot, ROOM1, "青山村一组", "青山村")
        register(bot, ROOM2, "青山村二组", "青山村")
        queue_push(bot, due_in_seconds=1)
        bot.start()
        yield gateway, bot
    finally:
        code = bot.stop()
        gateway.stop()
        print(bot.log_tail())
        assert code == 0, f"the bot did not stop cleanly on SIGTERM (exit {code})"
        assert TOKEN not in bot.log_path.read_text(encoding="utf-8") + bot.log_text()  # secrets never logged


def _mentioning(gateway: Gateway, room: str, contact: str) -> list[dict]:
    return [m for m in gateway.bot_said(room) if contact in m["mentions"]]


def _outbox(bot: Bot) -> list[tuple[str, str, int | None, int]]:
    with database(bot) as session:
        return list(session.execute(
            select(Group.room_id, OutboxItem.status, OutboxItem.member_count, OutboxItem.parts_sent)
            .join(Group, Group.id == OutboxItem.group_id).order_by(Group.room_id)
        ))


def test_a_queued_push_reaches_every_registered_group_once_with_pacing(stack: tuple[Gateway, Bot]) -> None:
    gateway, bot = stack
    rows = wait_for("the push to be sent to both groups",
                    lambda: (r := _outbox(bot)) and len(r) == 2 and all(s == "sent" for _, s, _, _ in r) and r,
                    timeout=30)
    parts = rows[0][3]
    assert [(room, count) for room, _s, count, _p in rows] == [(ROOM1, 4), (ROOM2, 3)]  # member counts recorded
    sent = gateway.bot_said()
    assert {m["conversation"] for m in sent} == {ROOM1, ROOM2}  # never the unregistered group
    for room in (ROOM1, ROOM2):
        texts = [m["text"] for m in sent if m["conversation"] == room]
        assert len(texts) == parts and len(set(texts)) == parts  # every part exactly once
    assert [m["text"] for m in sent if m["conversation"] == ROOM1] == [m["text"] for m in sent if m["conversation"] == ROOM2]
    gaps = [(b["at"] - a["at"]) / 1000 for a, b in pairwise(sorted(sent, key=lambda m: m["at"]))]
    assert gaps and min(gaps) >= PACING_MIN - 0.05, gaps


def test_the_login_state_is_published_for_a_status_page(stack: tuple[Gateway, Bot]) -> None:
    from pufa.wechaty_runner import read_status

    _gateway, bot = stack
    status = wait_for("the status file", lambda: read_status(bot.data_dir))
    assert status["state"] == "logged_in" and status["qr_code"] is None


def test_an_at_question_gets_the_right_answer_with_the_asker_mentioned(stack: tuple[Gateway, Bot]) -> None:
    gateway, bot = stack
    gateway.say("wxid_zhangsan", ROOM1, "老板欠我工资不给怎么办", mention_bot=True)
    first = wait_for("the answer", lambda: _mentioning(gateway, ROOM1, "wxid_zhangsan"))[0]
    assert first["text"].startswith(f"@张三{MENTION}")
    answer = "".join(m["text"] for m in gateway.bot_said(ROOM1) if m["seq"] >= first["seq"])
    assert "工资" in answer and "12333" in answer
    with database(bot) as session:
        rows = session.execute(select(Consultation, Group.room_id).join(Group, Group.id == Consultation.group_id)).all()
    assert len(rows) == 1
    consultation, room = rows[0]
    assert room == ROOM1 and consultation.entry_id == "labor-wage-arrears" and consultation.category == "劳动用工"
    assert consultation.sender_hash != "wxid_zhangsan" and len(consultation.sender_hash) == 64  # only the HMAC


def test_unaddressed_chatter_and_unregistered_groups_get_nothing(stack: tuple[Gateway, Bot]) -> None:
    gateway, bot = stack
    with database(bot) as session:
        before = session.scalar(select(func.count(Consultation.id)))
    gateway.say("wxid_lisi", ROOM1, "今天天气真好，晚上一起吃饭吧")
    gateway.say("wxid_lisi", ROOM1, "离婚了孩子归谁")  # a legal question, but not addressed to the bot
    gateway.say("wxid_zhangsan", ROOM3, "欠钱不还怎么办", mention_bot=True)  # addressed, but the group is not registered
    # A later addressed question in a registered group: once its answer is out, the earlier messages were handled.
    gateway.say("wxid_wangwu", ROOM2, "邻居占了我家宅基地怎么办", mention_bot=True)
    wait_for("the marker answer", lambda: _mentioning(gateway, ROOM2, "wxid_wangwu"))
    time.sleep(0.3)
    assert _mentioning(gateway, ROOM1, "wxid_lisi") == []
    assert gateway.bot_said(ROOM3) == []
    with database(bot) as session:
        assert session.scalar(select(func.count(Consultation.id))) == before + 1


def test_someone_joining_a_registered_group_gets_the_welcome(stack: tuple[Gateway, Bot]) -> None:
    gateway, _bot = stack
    gateway.join(ROOM3, "wxid_zhaoliu", "赵六")  # unregistered: no welcome
    gateway.join(ROOM1, "wxid_qianqi", "钱七")
    welcome = wait_for("the welcome", lambda: _mentioning(gateway, ROOM1, "wxid_qianqi"))
    assert len(welcome) == 1
    text = welcome[0]["text"]
    assert text.startswith(f"@钱七{MENTION}") and "欢迎" in text and f"@{BOT_NAME}" in text
    time.sleep(0.3)
    assert gateway.bot_said(ROOM3) == []


def test_staff_bind_registers_a_group_and_the_same_command_from_a_villager_does_nothing(
    stack: tuple[Gateway, Bot],
) -> None:
    gateway, bot = stack
    gateway.say("wxid_zhangsan", ROOM3, "#绑定 柳树村")
    gateway.say(STAFF_ID, ROOM3, "#绑定 柳树村")
    reply = wait_for("the staff reply", lambda: _mentioning(gateway, ROOM3, STAFF_ID))
    assert "已绑定" in reply[0]["text"] and "柳树村" in reply[0]["text"]
    assert len(gateway.bot_said(ROOM3)) == 1  # the villager's command got nothing
    with database(bot) as session:
        group = session.scalar(select(Group).where(Group.room_id == ROOM3))
        assert group is not None and group.enabled and group.village == "柳树村" and group.name == "柳树村三组"
    # Now registered: questions there are answered.
    gateway.say("wxid_zhangsan", ROOM3, "欠钱不还怎么办", mention_bot=True)
    wait_for("an answer in the newly bound group", lambda: _mentioning(gateway, ROOM3, "wxid_zhangsan"))


def test_message_types_python_wechaty_mis_maps_do_not_crash_the_bot(stack: tuple[Gateway, Bot]) -> None:
    gateway, bot = stack
    for kind in ("GroupNote", "Post", "Image", "Url"):
        gateway._call("POST", "/say-raw", {"from": "wxid_lisi", "room": ROOM1, "type": kind, "text": f"@{BOT_NAME} x"})
    gateway.say("wxid_lisi", ROOM1, "借钱不还怎么办", mention_bot=True)
    wait_for("an answer after the odd message types", lambda: _mentioning(gateway, ROOM1, "wxid_lisi"))
    assert bot.process is not None and bot.process.poll() is None
