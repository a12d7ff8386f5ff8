"""One Jinja2 environment per kind, built at start-up: StrictUndefined, no autoescape for WeChat text,
sandboxed for templates that staff edit."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined
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
