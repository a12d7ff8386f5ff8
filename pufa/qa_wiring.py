"""Q&A wiring shared by the bot (pufa.app.build_app) and `pufa ask`: kept free of the database and scheduler
imports so that `pufa ask` starts quickly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.kb import KnowledgeBase, load_knowledge_base
from bot.matcher import Matcher
from bot.qa import QAService
from bot.service import ReplyRenderer
from core.settings import Settings
from core.templating import text_environment

BOT_TEMPLATES = Path(__file__).resolve().parent.parent / "bot" / "templates"


def template_globals(settings: Settings) -> dict[str, Any]:
    return {
        "bot_name": settings.bot_name,
        "sifasuo": settings.sifasuo_name,
        "township": settings.township,
        "help_line": settings.help_line,
        "trigger": settings.trigger_words[0] if settings.trigger_words else "咨询",
    }

def build_reply_renderer(settings: Settings) -> ReplyRenderer:
    """The one Jinja2 environment for bot replies, with the township's variables."""
    return ReplyRenderer(text_environment([BOT_TEMPLATES]), template_globals(settings))

def build_qa(settings: Settings, kb: KnowledgeBase | None = None) -> QAService:
    """Load and validate the knowledge base (all-or-nothing) and build the matcher."""
    variables = template_globals(settings)
    kb = kb or load_knowledge_base(variables)
    matcher = Matcher(kb, cache_dir=settings.data_dir / "cache")
    return QAService(kb, matcher, variables)

