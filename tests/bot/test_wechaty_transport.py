"""The Wechaty transport's translation rules, without a gateway (the e2e tests cover the real chain)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.transports.wechaty_transport import (
    WechatyTimings,
    WechatyTransport,
    _SeenIds,
    _to_datetime,
    classify_send_error,
    import_wechaty,
)

TZ = ZoneInfo("Asia/Shanghai")
TEXT = 6


def transport() -> WechatyTransport:
    t = WechatyTransport(endpoint="127.0.0.1:1", token="t", bot_name="普法助手", tz=TZ)
    t._wechaty = import_wechaty()
    t.self_id, t.self_name = "wxid_bot", "普法小号"
    return t


def message(mid: str, text: str, *, talker: str = "wxid_a", room: str = "r1@chatroom", mention_ids=(), kind=TEXT,
            age: float = 0.0) -> SimpleNamespace:
    payload = SimpleNamespace(talker_id=talker, text=text, room_id=room, mention_ids=list(mention_ids),
                              timestamp=int((time.time() - age) * 1000))
    contact = SimpleNamespace(payload=SimpleNamespace(name="张三"))
    room_obj = SimpleNamespace(payload=SimpleNamespace(topic="青山村一组"))

    def kind_of():
        if kind == "post":
            raise ValueError("22 is not a valid MessageType")
        return kind

    return SimpleNamespace(message_id=mid, payload=payload, type=kind_of, talker=lambda: contact,
                           room=lambda: room_obj)


def translate(t: WechatyTransport, msg):
    return asyncio.run(t._translate(msg))


def test_group_message_becomes_an_inbound_message() -> None:
    m = translate(transport(), message("m1", "今天天气好"))
    assert (m.chat_id, m.chat_name, m.sender_id, m.sender_name, m.is_group, m.mentions_me) == (
        "r1@chatroom", "青山村一组", "wxid_a", "张三", True, False)
    assert m.received_at.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "mention_ids", "expected"),
    [
        ("@普法助手\u2005欠钱不还", (), True),  # the configured name in the text
        ("@普法小号\u2005欠钱不还", (), True),  # the account's own WeChat name
        ("欠钱不还", ("wxid_bot",), True),  # the mention list
        ("@普法助手的朋友 你好", (), False),
        ("@别人\u2005你好", ("wxid_c",), False),
    ],
)
def test_mentions(text: str, mention_ids: tuple[str, ...], expected: bool) -> None:
    assert translate(transport(), message("m1", text, mention_ids=mention_ids)).mentions_me is expected


def test_dedupe_own_messages_old_backlog_and_other_types_are_dropped() -> None:
    t = transport()
    assert translate(t, message("m1", "你好")) is not None
    assert translate(t, message("m1", "你好")) is None  # the same id again
    assert translate(t, message("m2", "推送内容", talker="wxid_bot")) is None  # our own message coming back
    assert translate(t, message("m3", "很早以前", age=120)) is None  # a backlog replayed at login
    assert translate(t, message("m4", "[图片]", kind=3)) is None
    assert translate(t, message("m5", "朋友圈", kind="post")) is None  # mis-mapped types must not crash


def test_private_message_is_addressed() -> None:
    m = translate(transport(), message("m1", "你好", room=""))
    assert (m.chat_id, m.is_group, m.mentions_me) == ("wxid_a", False, True)


def test_send_errors_are_classified() -> None:
    limited = classify_send_error(RuntimeError("发送失败：操作过于频繁，请稍后再试"))
    assert limited.rate_limited and not limited.delivered
    assert classify_send_error(ConnectionRefusedError("refused")).retryable
    assert classify_send_error(RuntimeError("not logged in")).retryable
    broken = classify_send_error(ConnectionResetError("reset by peer"))
    assert broken.uncertain and not broken.retryable  # may have gone out: a person decides
    other = classify_send_error(RuntimeError("something odd"))
    assert not other.delivered and not other.retryable and not other.rate_limited and not other.uncertain


def test_send_without_login_reports_not_sent_and_retryable() -> None:
    t = WechatyTransport(endpoint="127.0.0.1:1", token="t", bot_name="普法助手", tz=TZ,
                         timings=WechatyTimings(send_wait=0.05))
    result = asyncio.run(t.send_text("r1@chatroom", "你好"))
    assert not result.delivered and result.retryable


def test_helpers() -> None:
    assert _to_datetime(1_700_000_000).timestamp() == _to_datetime(1_700_000_000_000).timestamp()
    seen = _SeenIds(size=2)
    assert seen.first_time("a") and seen.first_time("b") and not seen.first_time("a")
    assert seen.first_time("c") and seen.first_time("a")  # "a" was forgotten once the memory was full
    assert "secret-token" not in repr(WechatyTransport(endpoint="e:1", token="secret-token", bot_name="b", tz=TZ))
    timings = WechatyTimings.for_watchdog(3)
    assert timings.watchdog_timeout == 3 and timings.watchdog_interval == 1


def test_start_without_token_refuses() -> None:
    t = WechatyTransport(endpoint="127.0.0.1:1", token="", bot_name="b", tz=TZ)

    async def on_message(_m):
        return None

    with pytest.raises(ConnectionError):
        asyncio.run(t.start(on_message))


def test_scan_and_login_are_reported_for_a_status_page(tmp_path) -> None:
    from pufa.wechaty_runner import StatusFile, read_status

    shown: list[str] = []
    t = WechatyTransport(endpoint="127.0.0.1:1", token="t", bot_name="b", tz=TZ, show_qr=shown.append,
                         on_status=StatusFile(tmp_path / "wechat_status.json", TZ))
    t._handle_scan("https://login.weixin.qq.com/l/abc", 2)
    assert shown == ["https://login.weixin.qq.com/l/abc"]
    assert read_status(tmp_path) is not None
    status = read_status(tmp_path)
    assert status["state"] == "waiting_for_scan" and status["qr_code"] == "https://login.weixin.qq.com/l/abc"
    asyncio.run(t._handle_login(SimpleNamespace(contact_id="wxid_bot", payload=SimpleNamespace(name="普法助手"))))
    status = read_status(tmp_path)
    assert status["state"] == "logged_in" and status["qr_code"] is None
    t._handle_logout()
    assert read_status(tmp_path)["state"] == "logged_out"
