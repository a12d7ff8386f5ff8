"""`pufa simulate` as staff run it: a subprocess, on the starter library, in seconds."""

from __future__ import annotations

import itertools
import json
import time
from datetime import datetime
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from scheduler.outbox import in_quiet_hours
from tests.test_cli import pufa

TZ = ZoneInfo("Asia/Shanghai")


def test_simulate_constitution_week_reaches_every_group_politely(tmp_path: Path) -> None:
    started = time.monotonic()
    result = pufa("simulate", "--from", "2026-12-01", "--to", "2026-12-08", "--groups", "3", "--json", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert messages and set(messages[0]) >= {"time", "group", "slug", "text"}
    times = sorted(datetime.fromisoformat(m["time"]) for m in messages)
    assert all(t.tzinfo is not None for t in times)
    # 宪法宣传周: every evening case and the opening article reach all three groups.
    week_cases = [m for m in messages if m["slug"].startswith("case-") and m["time"] >= "2026-12-01"]
    by_slug: dict[str, set[str]] = {}
    for m in week_cases:
        by_slug.setdefault(m["slug"], set()).add(m["group"])
    assert len(by_slug) == 7 and all(len(groups) == 3 for groups in by_slug.values())
    assert {m["text"].split("\n")[0][:6] for m in week_cases} == {"【以案说法】"}
    assert not [t for t in times if in_quiet_hours(t, (dtime(21, 30), dtime(7, 30)), TZ)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 15
    assert elapsed < 30


def test_simulate_prints_a_readable_summary_and_refuses_bad_dates(tmp_path: Path) -> None:
    result = pufa("simulate", "--from", "2026-12-01", "--to", "2026-12-03", "--groups", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "群【模拟1组】" in result.stdout and "免打扰时段内 0 条" in result.stdout
    bad = pufa("simulate", "--from", "2026-12-08", "--to", "2026-12-01", cwd=tmp_path)
    assert bad.returncode != 0 and bad.stderr.strip() == "错误：--to 要晚于 --from"
