"""Legal Q&A: from a question to a Reply. Pure (no database), so `pufa ask` starts without SQLAlchemy; the handlers
that record consultations and serve menus are in bot.qa_handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.handlers import Reply
from bot.kb import Entry, KnowledgeBase
from bot.matcher import Matcher, MatchResult


def menu_title(entry: Entry) -> str:
    return entry.questions[0]


@dataclass(frozen=True)
class QAOutcome:
    result: MatchResult
    reply: Reply | None  # None: not a legal question (the caller shows the help menu)
    entry_id: str | None
    options: tuple[str, ...] = ()


class QAService:
    """Pure: no database. Used by the bot handler and by `pufa ask`."""

    def __init__(self, kb: KnowledgeBase, matcher: Matcher, variables: Mapping[str, Any]) -> None:
        self.kb = kb
        self.matcher = matcher
        self.variables = dict(variables)

    def answer_reply(self, entry: Entry) -> Reply:
        return Reply(
            "answer.txt.j2",
            {"answer": entry.render_answer(self.variables), "laws": [str(law) for law in entry.laws]},
        )

    def ask(self, question: str) -> QAOutcome:
        result = self.matcher.match(question)
        if result.kind == "other":
            return QAOutcome(result, None, None)
        if result.kind == "pending" or result.best is None:
            return QAOutcome(result, Reply("pending.txt.j2", {"category": result.category}), None)
        best = self.kb.get(result.best.entry_id)
        assert best is not None
        if result.kind == "menu":
            entries = [best, *(self.kb.get(c.entry_id) for c in result.alternatives[:2])]
            options = [e for e in entries if e is not None]
            reply = Reply("menu.txt.j2", {"options": [menu_title(e) for e in options]})
            return QAOutcome(result, reply, best.id, tuple(e.id for e in options))
        return QAOutcome(result, self.answer_reply(best), best.id)
