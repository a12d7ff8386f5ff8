"""The one place that turns handler outcomes into sent messages, and the one error boundary for inbound messages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment

from bot.handlers import Addressing, Pipeline, Reply
from core.text import split_message
from core.transport import BaseTransport, InboundMessage, MemberJoined

log = logging.getLogger(__name__)

ErrorHook = Callable[[BaseException, InboundMessage], None]
Welcome = Callable[[MemberJoined], Reply | None]


class ReplyRenderer:
    """Renders a Reply with the shared Jinja2 environment and splits it into WeChat-sized messages."""

    def __init__(self, env: Environment, globals_: Mapping[str, Any]) -> None:
        self._env = env
        self._globals = dict(globals_)

    def render_text(self, reply: Reply) -> str:
        template = self._env.get_template(reply.template)
        return template.render({**self._globals, **reply.data}).strip()

    def render(self, reply: Reply) -> list[str]:
        return split_message(self.render_text(reply))


class BotService:
    def __init__(
        self,
        transport: BaseTransport,
        addressing: Addressing,
        pipeline: Pipeline,
        renderer: ReplyRenderer,
        error_hook: ErrorHook | None = None,
        welcome: Welcome | None = None,
    ) -> None:
        self.transport = transport
        self.addressing = addressing
        self.pipeline = pipeline
        self.renderer = renderer
        self.error_hook = error_hook or _log_error
        self.welcome = welcome
        self.handled = 0

    async def on_message(self, message: InboundMessage) -> None:
        """Transport callback. Never raises: errors go to the error hook, never into the chat."""
        try:
            request = self.addressing(message)
            _name, outcome = self.pipeline.process(request)
            self.handled += 1
            if not isinstance(outcome, Reply):
                return
            parts = self.renderer.render(outcome)
            await self._send(message, parts, outcome.mention_sender)
        except Exception as exc:  # the boundary: one hook for everything unexpected
            self.error_hook(exc, message)

    async def on_member_joined(self, event: MemberJoined) -> None:
        """Transport callback for joins: the welcome message in registered groups. Never raises."""
        if self.welcome is None:
            return
        try:
            reply = self.welcome(event)
            if reply is None:
                return
            for index, part in enumerate(self.renderer.render(reply)):
                mentions = event.member_ids if index == 0 else ()
                result = await self.transport.send_text(event.chat_id, part, mentions)
                if not result.delivered:
                    log.warning("welcome part %d not delivered: %s", index + 1, result.error)
                    return
        except Exception:  # the boundary: a welcome must never take the bot down
            log.exception("error while welcoming new members in a group")

    async def _send(self, message: InboundMessage, parts: list[str], mention_sender: bool) -> None:
        mention = message.is_group and mention_sender
        for index, part in enumerate(parts):
            if mention and index == 0:
                text = f"@{message.sender_name}\u2005{part}"
                result = await self.transport.send_text(message.chat_id, text, [message.sender_id])
            else:
                result = await self.transport.send_text(message.chat_id, part)
            if not result.delivered:
                log.warning("reply part %d/%d not delivered: %s", index + 1, len(parts), result.error)
                return


def _log_error(exc: BaseException, message: InboundMessage) -> None:
    log.error("error while handling message %s", message.message_id, exc_info=exc)
