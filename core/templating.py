"""One Jinja2 environment per kind, built at start-up: StrictUndefined, no autoescape for WeChat text,
sandboxed for templates that staff edit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment


def text_environment(search_paths: Iterable[Path], *, sandboxed: bool = False) -> Environment:
    cls = SandboxedEnvironment if sandboxed else Environment
    env = cls(
        loader=ChoiceLoader([FileSystemLoader(str(p)) for p in search_paths]),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def string_environment() -> SandboxedEnvironment:
    """For snippets stored in data files (knowledge-base answers, article bodies): sandboxed, strict."""
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)


def render_problems(render: Callable[[], Any]) -> list[str]:
    """Render once with the real globals; a template error becomes one Chinese message (none: an empty list)."""
    try:
        render()
    except TemplateError as exc:
        return [f"渲染失败：{exc.message or type(exc).__name__}"]
    return []
