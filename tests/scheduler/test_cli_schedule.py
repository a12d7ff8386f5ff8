"""The push commands end to end on a fresh `pufa init --demo` database (subprocesses, like staff use them)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import pufa


def test_content_calendar_plan_queue_outbox_round_trip(tmp_path: Path) -> None:
    init = pufa("init", "--demo", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "已导入内容库" in init.stdout
    assert pufa("content", "check", cwd=tmp_path).returncode == 0
    items = json.loads(pufa("content", "list", "--json", cwd=tmp_path).stdout)
    assert len([i for i in items if i["kind"] == "article"]) >= 40
    preview = pufa("content", "preview", "constitution-day-basics", cwd=tmp_path)
    assert preview.returncode == 0 and "—— 第 1/" in preview.stdout and "【普法】" in preview.stdout

    calendar = json.loads(pufa("calendar", "--year", "2027", "--json", cwd=tmp_path).stdout)
    seniors = next(o for o in calendar if o["key"] == "seniors-day")
    assert seniors["start"] == "2027-10-08" and seniors["laws"]
    assert pufa("calendar", "override", "constitution-week", "--year", "2027", "--from", "12-02", "--to", "12-08",
                cwd=tmp_path).returncode == 0
    moved = json.loads(pufa("calendar", "--year", "2027", "--json", cwd=tmp_path).stdout)
    assert next(o for o in moved if o["key"] == "constitution-week")["start"] == "2027-12-02"

    plan = json.loads(pufa("plan", "--year", "2027", "--json", cwd=tmp_path).stdout)
    assert any(p["key"] == "constitution-week" and p["role"] == "case" for p in plan)
    first = pufa("plan", "apply", "--year", "2027", cwd=tmp_path)
    assert first.returncode == 0 and "新增 0 条" not in first.stdout
    again = pufa("plan", "apply", "--year", "2027", cwd=tmp_path)
    assert "新增 0 条" in again.stdout

    bad = pufa("queue", "add", "no-such-slug", "--at", "2027-12-04 09:00", cwd=tmp_path)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "内容库里没有" in bad.stderr
    added = pufa("queue", "add", "constitution-oath", "--at", "2027-12-04 22:00", "--groups", "tag:二组", cwd=tmp_path)
    assert added.returncode == 0 and "免打扰" in added.stdout
    queued = json.loads(pufa("queue", "list", "--json", cwd=tmp_path).stdout)
    manual = next(p for p in queued if p["source"] == "manual")
    assert pufa("queue", "cancel", str(manual["id"]), cwd=tmp_path).returncode == 0
    assert json.loads(pufa("outbox", "list", "--status", "unknown", "--json", cwd=tmp_path).stdout) == []
    missing = pufa("outbox", "retry", "999", cwd=tmp_path)
    assert missing.returncode != 0 and "找不到发送记录" in missing.stderr


def test_piped_make_run_still_prints_the_help_menu(tmp_path: Path) -> None:
    assert pufa("init", "--demo", cwd=tmp_path).returncode == 0
    result = pufa("run", cwd=tmp_path, stdin="@普法助手 你好\n")
    assert result.returncode == 0, result.stderr
    assert "我能帮您" in result.stdout
