from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.text import MAX_MESSAGE_CHARS, clean_text, split_message


def test_short_text_is_one_unnumbered_message() -> None:
    assert split_message("你好\n\n再见") == ["你好\n\n再见"]


def test_long_text_splits_at_paragraphs_and_numbers_parts() -> None:
    paragraphs = [f"第{i}段。" + "法" * 250 for i in range(5)]
    parts = split_message("\n\n".join(paragraphs))
    assert len(parts) == 3
    assert parts[0].startswith("（1/3）\n第0段。")
    assert parts[1].startswith("（2/3）\n第2段。")  # never cuts inside a paragraph that fits
    assert all(len(p) <= MAX_MESSAGE_CHARS for p in parts)


def test_one_huge_paragraph_is_cut_at_sentence_ends() -> None:
    text = "这是一句话。" * 300
    parts = split_message(text)
    assert all(len(p) <= MAX_MESSAGE_CHARS for p in parts)
    assert all(p.endswith("。") for p in parts)
    assert "".join(p.split("\n", 1)[1] for p in parts) == text


def test_control_characters_are_removed() -> None:
    assert clean_text("a\x00b\x1bc\r\nd") == "abc\nd"


@given(st.text(max_size=3000))
def test_split_never_exceeds_the_limit_and_keeps_content(text: str) -> None:
    parts = split_message(text)
    assert all(len(p) <= MAX_MESSAGE_CHARS for p in parts)
    visible = "".join(c for c in clean_text(text) if not c.isspace())
    rebuilt = "".join(p.split("\n", 1)[1] if len(parts) > 1 else p for p in parts)
    assert "".join(c for c in rebuilt if not c.isspace()) == visible
