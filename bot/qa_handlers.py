"""The bot handlers for legal Q&A: answer addressed questions and record them as consultations; serve menu picks."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.consultations import offer_menu, record_consultation, take_menu_choice
from bot.handlers import Outcome, Request
from bot.qa import QAService
from core.categories import OTHER
from core.hashing import IdHasher
from core.models import Group

_CHOICE = re.compile(r"^\s*([1-9])\s*$")


class MenuPickHandler:
    """A bare "1"/"2" from someone who was offered a menu in this chat in the last 10 minutes picks that entry.

    Runs before the unaddressed filter (the reply need not @ the bot) but only touches the database for a lone digit.
    """

    def __init__(self, qa: QAService, sessions: sessionmaker[Session], hasher: IdHasher, now: Callable[[], datetime]):
        self.qa, self.sessions, self.hasher, self.now = qa, sessions, hasher, now

    def handle(self, request: Request) -> Outcome:
        match = _CHOICE.match(request.message.text)
        if not match:
            return None
        message = request.message
        with self.sessions.begin() as session:
            entry_id = take_menu_choice(
                session,
                chat_hash=self.hasher(message.chat_id),
                sender_hash=self.hasher(message.sender_id),
                choice=int(match.group(1)),
                now=self.now(),
            )
        entry = self.qa.kb.get(entry_id) if entry_id else None
        return self.qa.answer_reply(entry) if entry is not None else None


class QuestionHandler:
    """Addressed messages: match, record the consultation, reply with an answer, a menu or the follow-up notice."""

    def __init__(self, qa: QAService, sessions: sessionmaker[Session], hasher: IdHasher, now: Callable[[], datetime]):
        self.qa, self.sessions, self.hasher, self.now = qa, sessions, hasher, now

    def handle(self, request: Request) -> Outcome:
        if not request.addressed or not request.text:
            return None
        outcome = self.qa.ask(request.text)
        if outcome.reply is None or outcome.result.category == OTHER:
            return None  # not a legal question: the help handler answers
        message = request.message
        now = self.now()
        with self.sessions.begin() as session:
            group_id = None
            if message.is_group:
                group_id = session.scalar(select(Group.id).where(Group.room_id == message.chat_id))
            consultation = record_consultation(
                session,
                asked_at=message.received_at,
                sender_hash=self.hasher(message.sender_id),
                question=request.text,
                category=outcome.result.category,
                entry_id=outcome.entry_id,
                score=outcome.result.score,
                status="pending" if outcome.result.kind == "pending" else "answered",
                group_id=group_id,
                chat_kind="group" if message.is_group else "private",
            )
            if outcome.options:
                offer_menu(
                    session,
                    chat_hash=self.hasher(message.chat_id),
                    sender_hash=self.hasher(message.sender_id),
                    options=list(outcome.options),
                    consultation_id=consultation.id,
                    now=now,
                )
        return outcome.reply
