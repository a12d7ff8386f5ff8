from __future__ import annotations

import asyncio

import pytest

from bot.handlers import SILENT, Addressing, Pipeline, Reply
from core import groups as registry
from pufa.app import build_app
from tests.bot.fakes import FakeTransport, make_group_message, make_private_message


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def app(settings, db, clock):
    with db.sessions.begin() as s:
        registry.add_group(s, room_id="g1@chatroom", name="一组", now=clock.now())
    transport = FakeTransport()
    application = build_app(settings, transport, db, clock)
    run(transport.start(application.bot.on_message))
    return application


def test_mention_in_registered_group_gets_help_menu_with_asker_mentioned(app) -> None:
    run(app.transport.push(make_group_message("@普法助手 你好")))
    [sent] = app.transport.sent
    assert sent.chat_id == "g1@chatroom"
    assert sent.text.startswith("@张三\u2005您好，我是普法助手")
    assert "12348" in sent.text
    assert sent.mention_ids == ("wxid_villager_1",)


def test_unaddressed_chatter_and_unregistered_groups_get_nothing(app) -> None:
    run(app.transport.push(make_group_message("今天赶集买了二斤肉")))
    run(app.transport.push(make_group_message("@普法助手 你好", chat_id="other@chatroom")))
    assert app.transport.sent == []


def test_trigger_word_and_private_chat_are_addressed(app) -> None:
    run(app.transport.push(make_group_message("普法：你好")))
    run(app.transport.push(make_private_message("你好")))
    assert len(app.transport.sent) == 2
    assert not app.transport.sent[1].text.startswith("@")  # no @ in private chats


def test_a_failing_handler_never_leaks_into_the_chat(app) -> None:
    errors = []

    class Boom:
        def handle(self, request):
            raise RuntimeError("database exploded: secret details")

    app.bot.pipeline = Pipeline().add("boom", Boom())
    app.bot.error_hook = lambda exc, msg: errors.append(exc)
    run(app.transport.push(make_group_message("@普法助手 你好")))
    assert app.transport.sent == []
    assert len(errors) == 1


@pytest.mark.parametrize(
    ("text", "mentions", "addressed", "question"),
    [
        ("@普法助手 欠钱不还咋办", False, True, "欠钱不还咋办"),
        ("@普法助手\u2005欠钱不还咋办", False, True, "欠钱不还咋办"),
        ("欠钱不还咋办", True, True, "欠钱不还咋办"),
        ("咨询 欠钱不还咋办", False, True, "欠钱不还咋办"),
        ("我想咨询一下", False, False, "我想咨询一下"),
        ("@普法助手的朋友 你好", False, False, "@普法助手的朋友 你好"),
        ("今天天气好", False, False, "今天天气好"),
    ],
)
def test_addressing(text: str, mentions: bool, addressed: bool, question: str) -> None:
    request = Addressing("普法助手", ["普法", "咨询"])(make_group_message(text, mentions_me=mentions))
    assert request.addressed is addressed
    assert request.text == question


def test_first_claiming_handler_wins() -> None:
    class Fixed:
        def __init__(self, outcome):
            self.outcome = outcome

        def handle(self, request):
            return self.outcome

    pipeline = Pipeline().add("none", Fixed(None)).add("silent", Fixed(SILENT)).add("reply", Fixed(Reply("x")))
    request = Addressing("普法助手", [])(make_group_message("hi"))
    assert pipeline.process(request) == ("silent", SILENT)
