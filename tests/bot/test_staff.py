"""Staff chat commands and the welcome message, through the real pipeline with a FakeTransport."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import groups as registry
from core.models import AccountState, ContentItem, Group, Push
from core.transport import MemberJoined
from pufa.app import build_app
from tests.bot.fakes import FakeTransport, make_group_message, make_private_message

STAFF = "wxid_staff_1"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def app(settings, db, clock):
    settings = settings.model_copy(update={"staff_wechat_ids": [STAFF]})
    with db.sessions.begin() as s:
        registry.add_group(s, room_id="g1@chatroom", name="一组", village="青山村", now=clock.now())
    transport = FakeTransport()
    application = build_app(settings, transport, db, clock)
    transport.on_member_joined(application.bot.on_member_joined)
    run(transport.start(application.bot.on_message))
    return application


def staff_says(app, text: str, chat_id: str = "new@chatroom"):
    message = make_group_message(text, chat_id=chat_id, sender_id=STAFF, sender_name="李干部")
    run(app.transport.push(replace(message, chat_name="柳树村三组")))
    return app.transport.sent


def test_bind_registers_the_room_by_id_with_topic_and_village(app, db) -> None:
    [sent] = staff_says(app, "#绑定 柳树村")
    assert sent.chat_id == "new@chatroom" and sent.mention_ids == (STAFF,)
    assert "已绑定" in sent.text and "柳树村" in sent.text
    with db.sessions() as s:
        group = s.scalar(select(Group).where(Group.room_id == "new@chatroom"))
        assert (group.name, group.village, group.enabled) == ("柳树村三组", "柳树村", True)
    # Registered now: an @-question gets an answer there.
    run(app.transport.push(make_group_message("@普法助手 欠钱不还怎么办", chat_id="new@chatroom")))
    assert len(app.transport.sent) >= 2


def test_commands_from_villagers_are_ignored(app, db) -> None:
    for text in ("#绑定 柳树村", "#暂停推送", "#帮助", "@普法助手 #统计"):
        run(app.transport.push(make_group_message(text, chat_id="new@chatroom")))
        run(app.transport.push(make_group_message(text)))
    assert app.transport.sent == []
    with db.sessions() as s:
        assert s.scalar(select(Group).where(Group.room_id == "new@chatroom")) is None
        assert s.get(AccountState, "default") is None


def test_bind_needs_a_village_and_unbind_disables(app, db) -> None:
    assert "请写上村名" in staff_says(app, "#绑定")[-1].text
    assert "村名写1-20个字" in staff_says(app, "#绑定 青山村 一组")[-1].text
    assert "没有绑定" in staff_says(app, "#解绑")[-1].text
    assert "已解绑" in staff_says(app, "#解绑", chat_id="g1@chatroom")[-1].text
    with db.sessions() as s:
        assert s.scalar(select(Group.enabled).where(Group.room_id == "g1@chatroom")) is False
    assert "已更新" in staff_says(app, "#绑定 青山村", chat_id="g1@chatroom")[-1].text
    with db.sessions() as s:
        assert s.scalar(select(Group.enabled).where(Group.room_id == "g1@chatroom")) is True


def test_pause_and_resume_set_the_account_flag(app, db) -> None:
    assert "已暂停" in staff_says(app, "#暂停推送", chat_id="g1@chatroom")[-1].text
    with db.sessions() as s:
        assert s.get(AccountState, "default").pushes_paused is True
    run(app.transport.push(make_private_message("＃恢复推送", sender_id=STAFF)))
    assert "已恢复" in app.transport.sent[-1].text
    with db.sessions() as s:
        assert s.get(AccountState, "default").pushes_paused is False


def test_upcoming_figures_and_help(app, db, clock) -> None:
    assert "近期没有排好的推送" in staff_says(app, "#待发", chat_id="g1@chatroom")[-1].text
    with db.sessions.begin() as s:
        content = ContentItem(slug="a1", kind="article", title="宪法日说宪法", data={}, checksum="x",
                              imported_at=clock.now())
        s.add(content)
        s.flush()
        s.add(Push(content_id=content.id, due_at=clock.now() + timedelta(days=1), targets="all", source="manual",
                   status="queued", note="", created_at=clock.now()))
    text = staff_says(app, "#待发", chat_id="g1@chatroom")[-1].text
    assert "宪法日说宪法" in text and "全部群" in text
    run(app.transport.push(make_group_message("@普法助手 欠钱不还怎么办")))
    text = staff_says(app, "#统计", chat_id="g1@chatroom")[-1].text
    assert "2026年12月" in text and "解答法律咨询 1 人次" in text and "本群咨询 1 人次" in text
    assert "解答法律咨询 0 人次" in staff_says(app, "#统计 2026-11", chat_id="g1@chatroom")[-1].text
    assert "格式不对" in staff_says(app, "#统计 十一月", chat_id="g1@chatroom")[-1].text
    assert "#绑定 村名" in staff_says(app, "#帮助")[-1].text
    # In a private chat with the bot, staff commands work too, but binding needs a group.
    run(app.transport.push(make_private_message("#绑定 青山村", sender_id=STAFF)))
    assert "要在村群里发" in app.transport.sent[-1].text


def test_figures_and_push_controls_stay_out_of_unbound_groups(app, db) -> None:
    """A staff member's family group (not bound) must not see township figures or pause every village's pushes."""
    run(app.transport.push(make_group_message("@普法助手 欠钱不还怎么办")))
    for command in ("#统计", "#待发", "#暂停推送", "#恢复推送"):
        text = staff_says(app, command)[-1].text
        assert "本群还没有绑定" in text and "私聊" in text, command
        assert "人次" not in text
    with db.sessions() as s:
        assert s.get(AccountState, "default") is None  # the pause did not happen
    assert "#绑定 村名" in staff_says(app, "#帮助")[-1].text
    # disabled (unbound) groups are treated the same way
    staff_says(app, "#解绑", chat_id="g1@chatroom")
    assert "本群还没有绑定" in staff_says(app, "#统计", chat_id="g1@chatroom")[-1].text
    run(app.transport.push(make_private_message("#统计", sender_id=STAFF)))
    assert "解答法律咨询 1 人次" in app.transport.sent[-1].text


def _joined(chat_id: str, clock) -> MemberJoined:
    return MemberJoined(chat_id=chat_id, chat_name="一组", member_ids=("wxid_new",), member_names=("王五",),
                        joined_at=clock.now())


def test_welcome_in_registered_groups_only(app, clock) -> None:
    run(app.bot.on_member_joined(_joined("other@chatroom", clock)))
    assert app.transport.sent == []
    run(app.bot.on_member_joined(_joined("g1@chatroom", clock)))
    [sent] = app.transport.sent
    assert sent.chat_id == "g1@chatroom" and sent.mention_ids == ("wxid_new",)
    assert sent.text.startswith("@王五\u2005欢迎加入本群") and "@普法助手" in sent.text


def test_welcome_is_configurable(settings, db, clock) -> None:
    with db.sessions.begin() as s:
        registry.add_group(s, room_id="g1@chatroom", name="一组", now=clock.now())
    for update, expected in (({"welcome_message": "有事找村委会。"}, "有事找村委会。"), ({"welcome_enabled": False}, None)):
        transport = FakeTransport()
        application = build_app(settings.model_copy(update=update), transport, db, clock)
        run(application.bot.on_member_joined(_joined("g1@chatroom", clock)))
        if expected is None:
            assert transport.sent == []
        else:
            assert expected in transport.sent[0].text and "@普法助手" not in transport.sent[0].text


def test_anyone_can_learn_their_own_id_in_a_private_chat_only(app) -> None:
    run(app.transport.push(make_private_message("#我的ID", sender_id="wxid_newcomer")))
    assert "wxid_newcomer" in app.transport.sent[-1].text
    count = len(app.transport.sent)
    run(app.transport.push(make_group_message("#我的ID", sender_id="wxid_newcomer")))
    assert len(app.transport.sent) == count  # never shown in a group


def test_staff_commands_run_before_the_unaddressed_filter(app) -> None:
    names = app.bot.pipeline.names
    assert names.index("staff") < names.index("unaddressed") < names.index("group-gate")
