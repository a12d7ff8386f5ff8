"""Splitting long text into WeChat-sized messages at paragraph boundaries, numbered (1/2, 2/2)."""

from __future__ import annotations

import re

MAX_MESSAGE_CHARS = 600
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Drop control characters and normalise line ends; keep everything a person can see."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _hard_split(paragraph: str, limit: int) -> list[str]:
    """Split one over-long paragraph: at line ends, then after sentence ends, then anywhere."""
    pieces: list[str] = []
    for unit in re.split(r"(?<=\n)|(?<=[。！？；!?;])", paragraph):
        if not unit:
            continue
        while len(unit) > limit:
            pieces.append(unit[:limit])
            unit = unit[limit:]
        pieces.append(unit)
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(piece) > limit:
            chunks.append(current.strip("\n"))
            current = ""
        current += piece
    if current.strip():
        chunks.append(current.strip("\n"))
    return chunks


def split_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split into messages of at most `limit` characters including the "（1/3）" prefix, at blank lines."""
    text = clean_text(text).strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    body_limit = limit - len("（99/99）\n")
    paragraphs = [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]
    units: list[str] = []
    for paragraph in paragraphs:
        units.extend(_hard_split(paragraph, body_limit) if len(paragraph) > body_limit else [paragraph])
    chunks: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}\n\n{unit}" if current else unit
        if len(candidate) > body_limit:
            chunks.append(current)
            current = unit
        else:
            current = candidate
    if current:
        chunks.append(current)
    total = len(chunks)
    return [f"（{i}/{total}）\n{chunk}" for i, chunk in enumerate(chunks, 1)]
