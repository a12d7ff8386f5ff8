"""Test doubles for the transport seam, and message builders."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from core.transport import BaseTransport, InboundMessage, MessageCallback, SendResult

_ids = itertools.count(1)
TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Sent:
    chat_id: str
    text: str
    mention_ids: tuple[str, ...]


@dataclass
class FakeTransport(BaseTransport):
    name: str = "fake"
    sent: list[Sent] = field(default_factory=list)
    fail_with: SendResult | None = None
    callback: MessageCallback | None = None

    async def start(self, on_message: MessageCallback) -> None:
        self.callback = on_message

    async def stop(self) -> None:
        self.callback = None

    async def send_text(self, chat_id: str, text: str, mention_ids: Sequence[str] = ()) -> SendResult:
        if self.fail_with is not None:
            return self.fail_with
        self.sent.append(Sent(chat_id, text, tuple(mention_ids)))
        return SendResult(delivered=True, platform_id=f"out-{len(self.sent)}")

    async def push(self, message: InboundMessage) -> None:
        assert self.callback is not None, "transport not started"
        await self.callback(message)


def make_group_message(
    text: str,
    *,
    chat_id: str = "g1@chatroom",
    sender_id: str = "wxid_villager_1",
    sender_name: str = "张三",
    mentions_me: bool = False,
    at: datetime | None = None,
) -> InboundMessage:
    return InboundMessage(
        message_id=f"m{next(_ids)}",
        chat_id=chat_id,
        chat_name="一组",
        sender_id=sender_id,
        sender_name=sender_name,
        text=text,
        is_group=True,
        mentions_me=mentions_me,
        received_at=at or datetime(2026, 12, 1, 10, 0, tzinfo=TZ),
    )


def make_private_message(text: str, *, sender_id: str = "wxid_villager_1", sender_name: str = "张三") -> InboundMessage:
    return InboundMessage(
        message_id=f"m{next(_ids)}",
        chat_id=sender_id,
        chat_name=sender_name,
        sender_id=sender_id,
        sender_name=sender_name,
        text=text,
        is_group=False,
        mentions_me=False,
        received_at=datetime(2026, 12, 1, 10, 0, tzinfo=TZ),
    )
