"""The transport alone against the real gateway (mock puppet): WeChat's rate-limit answer, room facts, a wrong
token. In-process, so each check takes about a second."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.transports.wechaty_transport import WechatyTimings, WechatyTransport
from tests.e2e.harness import BOT_NAME, ROOM1, TOKEN, Gateway

pytestmark = pytest.mark.e2e
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = Gateway(Path(tmp_path_factory.mktemp("e2e-live")))
    gw.start()
    yield gw
    gw.stop()


def _transport(gateway: Gateway, token: str = TOKEN) -> WechatyTransport:
    timings = replace(WechatyTimings.for_watchdog(3), send_wait=2)
    return WechatyTransport(endpoint=gateway.endpoint, token=token, bot_name=BOT_NAME, tz=TZ, timings=timings)


async def _nothing(_message) -> None:
    return None


def test_rate_limit_answer_and_room_facts(gateway: Gateway) -> None:
    async def scenario() -> None:
        t = _transport(gateway)
        await t.start(_nothing)
        try:
            assert await t.wait_logged_in(15)
            info = await t.chat_info(ROOM1)
            assert info is not None and info.name == "青山村一组" and info.member_count is not None
            assert info.member_count >= 4
            gateway._call("POST", "/fail-next", {"count": 1, "message": "发送失败：操作过于频繁"})
            limited = await t.send_text(ROOM1, "第一条")
            assert limited.rate_limited and not limited.delivered
            ok = await t.send_text(ROOM1, "第二条", ["wxid_zhangsan"])
            assert ok.delivered
        finally:
            await t.stop()

    asyncio.run(scenario())
    last = gateway.bot_said(ROOM1)[-1]
    assert last["text"] == "第二条" and last["mentions"] == ["wxid_zhangsan"]
    assert "第一条" not in [m["text"] for m in gateway.bot_said(ROOM1)]


def test_a_wrong_token_never_counts_as_logged_in(gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        t = _transport(gateway, token="insecure_wrong_token")
        await t.start(_nothing)
        try:
            assert not await t.wait_logged_in(2)
            assert t.state != "logged_in"
            result = await asyncio.wait_for(t.send_text(ROOM1, "不该发出"), 30)
            assert not result.delivered and result.retryable
        finally:
            await t.stop()

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert "不该发出" not in [m["text"] for m in gateway.bot_said()]
    assert "微信网关拒绝了令牌" in caplog.text
    assert "insecure_wrong_token" not in caplog.text  # the rejected token is not echoed into our log
