"""The transport boundary: the only types a transport module (console, wechaty) may import.

A transport turns chat-platform events into `InboundMessage` and sends text to a chat id. Nothing else: no
settings look-ups, no business rules.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class InboundMessage:
    message_id: str
    chat_id: str  # stable room id for groups, the contact id for private chats
    chat_name: str
    sender_id: str
    sender_name: str
    text: str
    is_group: bool
    mentions_me: bool
    received_at: datetime  # tz-aware

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None:
            raise ValueError("InboundMessage.received_at must be tz-aware")


@dataclass(frozen=True)
class SendResult:
    """What happened to one send. `delivered=False, retryable=True` means it certainly did not go out;
    `uncertain=True` means nobody can tell (the connection broke mid-call): a person must look before any resend."""

    delivered: bool
    platform_id: str | None = None
    error: str | None = None
    retryable: bool = False
    rate_limited: bool = False
    uncertain: bool = False


@dataclass(frozen=True)
class ChatInfo:
    chat_id: str
    name: str
    member_count: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MemberJoined:
    """Someone joined a group (for the welcome message). Ids are raw platform ids: never store them."""

    chat_id: str
    chat_name: str
    member_ids: tuple[str, ...]
    member_names: tuple[str, ...]
    joined_at: datetime  # tz-aware

    def __post_init__(self) -> None:
        if self.joined_at.tzinfo is None:
            raise ValueError("MemberJoined.joined_at must be tz-aware")


MessageCallback = Callable[[InboundMessage], Awaitable[None]]
JoinCallback = Callable[[MemberJoined], Awaitable[None]]


class TransportError(Exception):
    """The transport could not start or lost its connection for good."""


class BaseTransport(abc.ABC):
    """Start/stop symmetric; `send_text` never raises for delivery problems, it reports them in SendResult."""

    name: str = "base"
    join_callback: JoinCallback | None = None

    @property
    def ready(self) -> bool:
        """Can sends go out now? False while the platform connection is down or logged out: the dispatcher then
        claims nothing, so pending pushes wait instead of using up their retries."""
        return True

    def on_member_joined(self, callback: JoinCallback) -> None:
        """Register the callback for membership events, before `start`. Transports that see no joins ignore it."""
        self.join_callback = callback

    @abc.abstractmethod
    async def start(self, on_message: MessageCallback) -> None:
        """Connect and begin delivering inbound messages to `on_message`."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop taking messages and disconnect."""

    @abc.abstractmethod
    async def send_text(self, chat_id: str, text: str, mention_ids: Sequence[str] = ()) -> SendResult:
        """Send one text message to a chat, optionally @-mentioning members."""

    async def wait_closed(self) -> None:
        """Returns when the transport has no more input (console: end of stdin). Default: never."""
        import asyncio

        await asyncio.Event().wait()

    async def chat_info(self, chat_id: str) -> ChatInfo | None:
        """Name and member count of a chat, when the platform can tell."""
        return None
