from __future__ import annotations

import asyncio
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.consultations import mark_handled
from bot.kb import load_knowledge_base
from core import groups as registry
from core.errors import UserError
from core.models import Consultation
from core.statistics import count_person_times, list_consultations
from core.text import MAX_MESSAGE_CHARS
from pufa.app import build_app
from pufa.qa_wiring import build_qa, template_globals
from tests.bot.fakes import FakeTransport, make_group_message, make_private_message

WAGE_QUESTION = "俺在工地干了半年包工头不给钱跑了咋整"


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def shipped_qa(tmp_path_factory):
    from core.settings import Settings

    settings = Settings(environment="test", data_dir=tmp_path_factory.mktemp("qa"))
    return build_qa(settings)


def make_app(settings, db, clock, qa):
    with db.sessions.begin() as s:
        registry.add_group(s, room_id="g1@chatroom", name="一组", now=clock.now())
    transport = FakeTransport()
    import pufa.app as app_module

    original = app_module.build_qa
    app_module.build_qa = lambda _settings, kb=None: qa
    try:
        application = build_app(settings, transport, db, clock)
    finally:
        app_module.build_qa = original
    run(transport.start(application.bot.on_message))
    return application


@pytest.fixture
def app(settings, db, clock, shipped_qa):
    return make_app(settings, db, clock, shipped_qa)


def consultations(app):
    with app.db.sessions() as s:
        return list(s.scalars(select(Consultation).order_by(Consultation.id)))


def test_a_colloquial_question_gets_the_law_what_to_do_and_where_to_go(app) -> None:
    run(app.transport.push(make_group_message(f"@普法助手 {WAGE_QUESTION}")))
    text = "\n".join(s.text for s in app.transport.sent)
    assert app.transport.sent[0].text.startswith("@张三\u2005")
    assert "12333" in text and "仅供参考" in text and "12348" in text and "青山镇司法所" in text
    [row] = consultations(app)
    assert row.category == "劳动用工" and row.status == "answered" and row.counted
    assert row.entry_id and row.entry_id.startswith("labor-")
    assert row.sender_hash != "wxid_villager_1" and len(row.sender_hash) == 64
    assert row.group_id == 1 and row.question == WAGE_QUESTION


def test_counting_rule_same_sender_same_category_within_30_minutes_counts_once(app, clock) -> None:
    t0 = clock.now()
    for minutes, sender in [(0, "a"), (10, "a"), (29, "a"), (10, "b"), (45, "a")]:
        run(app.transport.push(make_group_message(f"@普法助手 {WAGE_QUESTION}", sender_id=sender, at=t0 + timedelta(minutes=minutes))))
    rows = consultations(app)
    assert [r.counted for r in rows] == [True, False, False, True, True]
    with app.db.sessions() as s:
        assert count_person_times(s, t0, t0 + timedelta(hours=1)) == 3


def test_chatter_is_silent_unless_addressed_and_never_recorded(app) -> None:
    run(app.transport.push(make_group_message("今天赶集买了二斤肉，真便宜")))
    assert app.transport.sent == []
    run(app.transport.push(make_group_message("@普法助手 今天天气真好")))
    assert "我能帮您" in app.transport.sent[0].text
    assert consultations(app) == []


def test_private_questions_are_answered_without_mention_and_recorded_as_private(app) -> None:
    run(app.transport.push(make_private_message("男人喝了酒就打我，我该咋办")))
    assert not app.transport.sent[0].text.startswith("@")
    [row] = consultations(app)
    assert row.chat_kind == "private" and row.group_id is None and row.category == "婚姻家庭"


def test_long_answers_are_split_and_numbered(app) -> None:
    run(app.transport.push(make_group_message(f"@普法助手 {WAGE_QUESTION}")))
    for sent in app.transport.sent:
        assert len(sent.text) <= MAX_MESSAGE_CHARS + len("@张三\u2005")
    if len(app.transport.sent) > 1:
        assert "（1/" in app.transport.sent[0].text


MENU_KB = """\
- id: land-a
  category: 土地房产
  questions: [宅基地纠纷怎么办, 宅基地和邻居吵架]
  keywords: [宅基地, 纠纷]
  laws: [{law: 土地管理法}]
  reviewed: 2026-11-27
  answer: 甲答案：宅基地边界纠纷可以先找村委会调解。
- id: land-b
  category: 土地房产
  questions: [宅基地纠纷怎么办, 宅基地被人占了]
  keywords: [宅基地, 纠纷]
  laws: [{law: 土地管理法}]
  reviewed: 2026-11-27
  answer: 乙答案：宅基地被占可以找乡镇政府处理。
"""


@pytest.fixture
def menu_app(settings, db, clock, tmp_path: Path):
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    (kb_dir / "land.yaml").write_text(textwrap.dedent(MENU_KB), encoding="utf-8")
    kb = load_knowledge_base(template_globals(settings), kb_dir)
    return make_app(settings, db, clock, build_qa(settings, kb))


def test_close_matches_get_a_menu_and_a_digit_within_10_minutes_picks_one(menu_app, clock) -> None:
    app = menu_app
    run(app.transport.push(make_group_message("@普法助手 宅基地纠纷怎么办", at=clock.now())))
    menu = app.transport.sent[-1].text
    assert "1. " in menu and "2. " in menu and "回复数字" in menu
    clock.advance(timedelta(minutes=3))
    run(app.transport.push(make_group_message("2", at=clock.now())))  # no @ needed
    picked = app.transport.sent[-1].text
    assert ("乙答案" in picked) != ("甲答案" in picked)
    rows = consultations(app)
    assert len(rows) == 1  # the pick is not counted again
    assert rows[0].entry_id in {"land-a", "land-b"}
    # the menu is used up: another "1" is ordinary chatter
    sent = len(app.transport.sent)
    run(app.transport.push(make_group_message("1", at=clock.now())))
    assert len(app.transport.sent) == sent


def test_a_menu_expires_after_10_minutes_and_only_the_asker_can_pick(menu_app, clock) -> None:
    app = menu_app
    run(app.transport.push(make_group_message("@普法助手 宅基地纠纷怎么办", at=clock.now())))
    sent = len(app.transport.sent)
    run(app.transport.push(make_group_message("1", sender_id="someone-else")))
    assert len(app.transport.sent) == sent
    clock.advance(timedelta(minutes=11))
    run(app.transport.push(make_group_message("1")))
    assert len(app.transport.sent) == sent


@pytest.fixture
def cautious_app(settings, db, clock, shipped_qa):
    """The shipped knowledge base with a confidence threshold no answer reaches: every legal question is pending."""
    from bot.matcher import Matcher, MatcherConfig
    from bot.qa import QAService

    matcher = Matcher(shipped_qa.kb, MatcherConfig(answer_threshold=1.01))
    return make_app(settings, db, clock, QAService(shipped_qa.kb, matcher, shipped_qa.variables))


def test_low_confidence_legal_questions_are_pending_for_staff(cautious_app, clock) -> None:
    app = cautious_app
    run(app.transport.push(make_group_message(f"@普法助手 {WAGE_QUESTION}")))
    reply = app.transport.sent[-1].text
    assert "已记录，工作人员会跟进" in reply and "12348" in reply
    [row] = consultations(app)
    assert row.status == "pending" and row.category == "劳动用工" and row.entry_id is None
    with app.db.sessions.begin() as s:
        mark_handled(s, row.id, "已电话回复，建议申请劳动仲裁", clock.now())
    with app.db.sessions() as s:
        [listed] = list_consultations(s)
        assert listed.status == "handled" and listed.handled_note == "已电话回复，建议申请劳动仲裁"
        with pytest.raises(UserError, match="不是待跟进"):
            mark_handled(s, listed.id, "again", clock.now())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "@普法助手",
        "@普法助手 " + "欠钱" * 50_000,
        "@普法助手 😀😀😀🙏",
        "@普法助手 \x00\x07\x1b[31m红色\x7f",
        '@普法助手 <?xml version="1.0"?><msg><appmsg appid="" sdkver="0"><title>转账</title><des>收到转账</des></appmsg></msg>',
    ],
)
def test_bad_input_gets_a_sensible_reply_or_silence(app, text: str) -> None:
    errors = []
    app.bot.error_hook = lambda exc, msg: errors.append(exc)
    run(app.transport.push(make_group_message(text)))
    assert errors == []
    for sent in app.transport.sent:
        assert len(sent.text) <= MAX_MESSAGE_CHARS + len("@张三\u2005")
        assert "Traceback" not in sent.text and "Error" not in sent.text


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300), mention=st.booleans())
def test_the_handler_never_crashes_on_arbitrary_text(shipped_qa, text: str, mention: bool) -> None:
    from bot.handlers import Addressing
    from bot.qa import QAService

    request = Addressing("普法助手", ["普法", "咨询"])(make_group_message(text, mentions_me=mention))
    outcome = QAService.ask(shipped_qa, request.text) if request.text else None
    if outcome is not None:
        assert outcome.result.category in {*shipped_qa.kb.by_category(), "其他"}
        assert 0.0 <= outcome.result.score <= 1.0
