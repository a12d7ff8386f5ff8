"""Message handling as an explicit, ordered pipeline. The first handler that claims a message wins.

A handler returns a `Reply` (template + data), `SILENT` (mine, say nothing) or `None` (not mine). Handlers never
send: `bot.service.BotService` is the one place that renders and sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from core.text import clean_text
from core.transport import InboundMessage

MAX_QUESTION_CHARS = 500


@dataclass(frozen=True)
class Reply:
    template: str
    data: Mapping[str, Any] = field(default_factory=dict)
    mention_sender: bool = True


class _Silent:
    def __repr__(self) -> str:
        return "SILENT"


SILENT: Final = _Silent()
Outcome = Reply | _Silent | None


@dataclass(frozen=True)
class Request:
    """An inbound message plus what the service worked out once: is the bot addressed, and the question text."""

    message: InboundMessage
    addressed: bool
    text: str  # the message text with "@bot" / trigger word removed, cleaned and trimmed


class Handler(Protocol):
    def handle(self, request: Request) -> Outcome: ...


class Pipeline:
    def __init__(self) -> None:
        self._handlers: list[tuple[str, Handler]] = []

    def add(self, name: str, handler: Handler) -> Pipeline:
        self._handlers.append((name, handler))
        return self

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._handlers]

    def process(self, request: Request) -> tuple[str, Outcome]:
        for name, handler in self._handlers:
            outcome = handler.handle(request)
            if outcome is not None:
                return name, outcome
        return "", None


class Addressing:
    """Decides cheaply (no segmentation) whether a message is addressed to the bot, and strips the address."""

    def __init__(self, bot_name: str, trigger_words: Sequence[str]) -> None:
        name = re.escape(bot_name)
        self._mention = re.compile(rf"@{name}(?:[\s\u2005\u3000]+|$)")
        triggers = sorted((w for w in trigger_words if w), key=len, reverse=True)
        self._trigger = (
            re.compile(r"^\s*(?:" + "|".join(re.escape(w) for w in triggers) + r")[\s:：，,、\u2005]*")
            if triggers
            else None
        )

    def __call__(self, message: InboundMessage) -> Request:
        text = clean_text(message.text)
        addressed = not message.is_group or message.mentions_me
        stripped, count = self._mention.subn(" ", text)
        if count:
            addressed = True
            text = stripped
        if self._trigger is not None:
            match = self._trigger.match(text)
            if match:
                addressed = True
                text = text[match.end() :]
        return Request(message=message, addressed=addressed, text=text.strip()[:MAX_QUESTION_CHARS])


class UnaddressedFilter:
    """In groups the bot only speaks when addressed; everything else is dropped here, before any work."""

    def handle(self, request: Request) -> Outcome:
        if request.message.is_group and not request.addressed:
            return SILENT
        return None


class GroupGate:
    """The bot never acts in groups that staff have not registered (or have disabled)."""

    def __init__(self, is_registered: Callable[[str], bool]) -> None:
        self._is_registered = is_registered

    def handle(self, request: Request) -> Outcome:
        if request.message.is_group and not self._is_registered(request.message.chat_id):
            return SILENT
        return None


class HelpHandler:
    """Anything addressed that no earlier handler claimed gets the help menu."""

    def handle(self, request: Request) -> Outcome:
        if request.addressed:
            return Reply("help.txt.j2")
        return None
