"""The whole chain as staff run it, in real processes: `pufa init --demo`, a push queued for now, villagers' questions
typed into the console village-group simulator (`pufa run`, which also sends due pushes through the dispatcher),
then `pufa report monthly` (xlsx and csv) and `pufa report annual`; every figure against direct SQL, on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
from sqlalchemy import bindparam, create_engine, text

from core.db import UTCDateTime
from core.statistics import month_bounds
from tests.conftest import TZ
from tests.test_cli import pufa

QUESTIONS = """@普法助手 俺在工地干了半年包工头不给钱跑了咋整
@普法助手 俺在工地干了半年包工头不给钱跑了咋整
今天赶集买了二斤肉
/group 二组
@普法助手 借给亲戚三万块钱不还咋办
/as 李四
@普法助手 两口子过不下去了想离婚孩子归谁
/as 王五
/private
男人喝了酒就打我，我该咋办
"""


def test_console_questions_and_dispatched_pushes_end_up_in_the_reports(tmp_path: Path, db_url: str) -> None:
    now = datetime.now(TZ)
    if now.second >= 40:  # the push is queued for this minute; `queue add` refuses a time over a minute past,
        time.sleep(61 - now.second)  # so a slow process start late in the minute must not cross that line
        now = datetime.now(TZ)
    quiet = (now + timedelta(hours=3)).strftime("%H:%M"), (now + timedelta(hours=3, minutes=1)).strftime("%H:%M")
    env = {"DATABASE_URL": db_url, "PUFA_DATA_DIR": str(tmp_path / "data"), "PUFA_PACING_MIN_SECONDS": "0",
           "PUFA_PACING_MAX_SECONDS": "0", "PUFA_QUIET_START": quiet[0], "PUFA_QUIET_END": quiet[1]}
    assert pufa("init", "--demo", cwd=tmp_path, env=env).returncode == 0
    listed = pufa("content", "list", "--json", cwd=tmp_path, env=env)
    slug = json.loads(listed.stdout)[0]["slug"]
    queued = pufa("queue", "add", slug, "--at", now.strftime("%Y-%m-%d %H:%M"), cwd=tmp_path, env=env)
    assert queued.returncode == 0, queued.stderr
    ran = pufa("run", cwd=tmp_path, env=env, stdin=QUESTIONS)
    assert ran.returncode == 0, ran.stderr

    month = f"{now:%Y-%m}"
    start, end = month_bounds(month, TZ)
    engine = create_engine(db_url)

    def count(query: str) -> int:
        statement = text(query).bindparams(bindparam("s", type_=UTCDateTime()), bindparam("e", type_=UTCDateTime()))
        with engine.connect() as conn:
            return int(conn.execute(statement, {"s": start, "e": end}).scalar() or 0)

    where = "asked_at >= :s AND asked_at < :e"
    sent = "o.status = 'sent' AND o.sent_at >= :s AND o.sent_at < :e"
    expected = {
        "咨询人次": count(f"SELECT count(*) FROM consultations WHERE {where} AND counted"),
        "提问条数（含30分钟内同类追问）": count(f"SELECT count(*) FROM consultations WHERE {where}"),
        "推送篇次": count(f"SELECT count(*) FROM outbox o WHERE {sent}"),
        "覆盖群数": count(f"SELECT count(DISTINCT group_id) FROM outbox o WHERE {sent}"),
        "覆盖人次": count(f"SELECT sum(coalesce(o.member_count, g.member_count, 0)) FROM outbox o "
                      f"JOIN groups g ON g.id = o.group_id WHERE {sent}"),
    }
    engine.dispose()
    # Four legal questions (one repeat within 30 minutes does not count again; chatter is not recorded); one
    # push to the three demo groups, whose members the console transport reports (86 + 64 + 112).
    assert expected == {"咨询人次": 4, "提问条数（含30分钟内同类追问）": 5, "推送篇次": 3, "覆盖群数": 3,
                        "覆盖人次": 262}

    assert pufa("report", "monthly", "--month", month, "--out", "m.xlsx", cwd=tmp_path, env=env).returncode == 0
    assert pufa("report", "monthly", "--month", month, "--format", "csv", "--out", "m.zip", cwd=tmp_path,
                env=env).returncode == 0
    summary = {r[0]: r[1] for r in openpyxl.load_workbook(tmp_path / "m.xlsx")["汇总"].iter_rows(values_only=True)}
    with zipfile.ZipFile(tmp_path / "m.zip") as archive:
        rows = list(csv.reader(io.StringIO(archive.read("1-汇总.csv").decode("utf-8-sig"))))
    csv_summary = dict(rows[1:])
    for key, value in expected.items():
        assert summary[key] == value and csv_summary[key] == str(value), key

    annual = pufa("report", "annual", "--year", str(now.year), "--json", cwd=tmp_path, env=env)
    figures = json.loads(annual.stdout)
    assert figures["reach"] >= expected["覆盖人次"] and figures["person_times"] >= expected["咨询人次"]
    assert figures["months"][now.month - 1]["person_times"] == expected["咨询人次"]
    assert figures["months"][now.month - 1]["reach"] == expected["覆盖人次"]
