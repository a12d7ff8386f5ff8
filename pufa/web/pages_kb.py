"""知识库: browse entries by category, and a test box showing how the bot would classify and answer a question."""

import threading
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from bot.handlers import Reply
from core.categories import ALL_CATEGORIES
from core.settings import Settings
from pufa.qa_wiring import build_qa, build_reply_renderer
from pufa.web.accounts import StaffUser

MAX_QUESTION = 300


class LazyQA:
    """The Q&A service and reply renderer, built on first use (loading the knowledge base and matcher takes a
    moment) and then shared by every request."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._built: tuple[Any, Any] | None = None

    def get(self) -> tuple[Any, Any]:
        with self._lock:
            if self._built is None:
                self._built = (build_qa(self._settings), build_reply_renderer(self._settings))
            return self._built


def register(app: FastAPI, *, render: Any, settings: Settings, staff: Any) -> None:
    Staff = Annotated[StaffUser, Depends(staff)]
    lazy = LazyQA(settings)

    @app.get("/kb", response_class=HTMLResponse)
    def kb_page(request: Request, user: Staff, q: str = "", category: str = "") -> Response:
        qa, renderer = lazy.get()
        question = q.strip()[:MAX_QUESTION]
        result = None
        if question:
            outcome = qa.ask(question)
            if outcome.reply is None:  # not a legal question: in a group the bot stays quiet or shows its help
                outcome = replace(outcome, reply=Reply("help.txt.j2"))
            result = {
                "category": outcome.result.category, "matched": outcome.entry_id or "", "kind": outcome.result.kind,
                "score": round(float(outcome.result.score), 3), "answer": renderer.render_text(outcome.reply),
                "alternatives": [(c.entry_id, c.category, round(float(c.score), 3))
                                 for c in outcome.result.alternatives],
            }
        category = category if category in ALL_CATEGORIES else ""
        entries = [
            {"id": e.id, "category": e.category, "question": e.questions[0] if e.questions else "",
             "laws": "；".join(str(law) for law in e.laws), "reviewed": e.reviewed.isoformat(), "source": e.source}
            for e in qa.kb.entries if e.category == category
        ] if category else []
        return render(request, "kb.html", user, q=question, result=result, categories=qa.kb.by_category(),
                      category=category, entries=entries)
