"""The welcome message when someone joins a registered group: short, says what the bot is and how to ask."""

from __future__ import annotations

from collections.abc import Callable

from bot.handlers import Reply
from core.transport import MemberJoined

TEMPLATE = "welcome.txt.j2"


class WelcomePolicy:
    """Decides whether a join gets a welcome (only in registered, enabled groups) and with which text."""

    def __init__(self, is_registered: Callable[[str], bool], *, enabled: bool = True, custom_text: str = "") -> None:
        self._is_registered = is_registered
        self._enabled = enabled
        self._custom = custom_text.strip()

    def __call__(self, event: MemberJoined) -> Reply | None:
        if not self._enabled or not event.member_ids or not self._is_registered(event.chat_id):
            return None
        names = "".join(f"@{name}\u2005" for name in event.member_names[:10])
        return Reply(TEMPLATE, {"names": names, "custom": self._custom}, mention_sender=False)
