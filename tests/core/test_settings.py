from __future__ import annotations

import pytest

from core.errors import UserError
from core.settings import load_settings


def test_defaults_are_safe_for_development() -> None:
    s = load_settings()
    assert s.environment == "development"
    assert s.effective_database_url.startswith("sqlite:///")
    assert s.trigger_words == ["普法", "咨询"]
    assert s.tz.key == "Asia/Shanghai"


def test_lists_accept_chinese_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUFA_TRIGGER_WORDS", "普法，咨询, 问一下")
    assert load_settings().trigger_words == ["普法", "咨询", "问一下"]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("PUFA_DAILY_CAP", "abc", "PUFA_DAILY_CAP"),
        ("PUFA_DAILY_CAP", "0", "必须 ≥ 1"),
        ("PUFA_TIMEZONE", "Mars/Base", "未知时区"),
        ("PUFA_QUIET_START", "25:00", "时:分"),
        ("PUFA_TRANSPORT", "fax", "只能是"),
        ("DATABASE_URL", "mysql://x", "只支持"),
        ("PUFA_ENVIRONMENT", "staging", "PUFA_ENVIRONMENT"),
    ],
)
def test_wrong_values_give_one_chinese_line_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(UserError) as info:
        load_settings()
    message = info.value.message
    assert expected in message
    assert "\n" not in message
    assert "配置项" in message


def test_placeholder_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUFA_ENVIRONMENT", "production")
    with pytest.raises(UserError) as info:
        load_settings()
    assert "PUFA_HASH_SECRET" in info.value.message
    monkeypatch.setenv("PUFA_HASH_SECRET", "9f1c2e7a5b")
    assert load_settings().environment == "production"


def test_pacing_bounds_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUFA_PACING_MIN_SECONDS", "40")
    monkeypatch.setenv("PUFA_PACING_MAX_SECONDS", "30")
    with pytest.raises(UserError, match="最短发送间隔"):
        load_settings()


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUFA_HASH_SECRET", "super-secret-value")
    monkeypatch.setenv("PUFA_WECHATY_TOKEN", "token-value-123")
    s = load_settings()
    assert "super-secret-value" not in repr(s) and "token-value-123" not in repr(s)
    assert "super-secret-value" not in str(s.model_dump())


def test_env_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PUFA_BOT_NAME=小法\nPUFA_DAILY_CAP=50\n", encoding="utf-8")
    s = load_settings()
    assert s.bot_name == "小法" and s.daily_cap == 50


def test_env_example_lists_every_key_with_a_comment() -> None:
    from pathlib import Path

    from core.settings import Settings

    text = (Path(__file__).resolve().parents[2] / ".env.example").read_text(encoding="utf-8")
    keys = {line.split("=", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
    expected = {f"PUFA_{name.upper()}" for name in Settings.model_fields if name != "database_url"} | {"DATABASE_URL"}
    assert keys == expected
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            above = index - 1
            while above >= 0 and lines[above] and not lines[above].startswith("#"):
                above -= 1  # keys of one block share the comment above the block
            assert above >= 0 and lines[above].startswith("#"), f"{line} has no comment above it"
