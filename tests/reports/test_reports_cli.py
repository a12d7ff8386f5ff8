"""`pufa report` and `pufa demo seed` as a user runs them, and the figures on generated demo data against SQL."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import bindparam, text

from content.keydates import load_key_dates
from core.db import UTCDateTime
from core.errors import UserError
from core.statistics import month_bounds, year_bounds
from pufa.app import Database
from reports.annual import build_annual_figures, render_annual
from reports.demo import seed_demo
from reports.monthly import build_monthly_report
from reports.tables import mask_personal
from tests.conftest import TZ
from tests.test_cli import pufa

NOW = datetime(2026, 11, 27, 16, 0, tzinfo=TZ)


def _count(db: Database, query: str, start: datetime, end: datetime) -> int:
    statement = text(query).bindparams(bindparam("s", type_=UTCDateTime()), bindparam("e", type_=UTCDateTime()))
    with db.engine.connect() as conn:
        return int(conn.execute(statement, {"s": start, "e": end}).scalar() or 0)


@pytest.mark.parametrize("month", ["2026-13", "11/2026", "2026-0", "abc", ""])
def test_a_malformed_month_is_one_chinese_line(tmp_path: Path, month: str) -> None:
    result = pufa("report", "monthly", "--month", month, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("错误：月份“") and "2026-11" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr + result.stdout


def test_bad_year_and_format_are_one_chinese_line(tmp_path: Path) -> None:
    for args, expected in [
        (["report", "annual", "--year", "26"], "错误：年份“26”格式不对"),
        (["report", "monthly", "--month", "2026-11", "--format", "pdf"], "错误：不支持的格式“pdf”"),
        (["report", "monthly", "--month", "2026-11", "--out", "nosuch/x.xlsx"], "错误：文件夹 nosuch 不存在"),
    ]:
        result = pufa(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().startswith(expected), result.stderr


def test_an_empty_month_gives_valid_files_with_zeros_and_a_note(tmp_path: Path) -> None:
    result = pufa("report", "monthly", "--month", "2026-02", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    workbook = openpyxl.load_workbook(tmp_path / "普法统计-2026-02.xlsx")
    summary = {r[0]: r[1] for r in workbook["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["咨询人次"] == 0 and summary["推送篇次"] == 0 and summary["覆盖人次"] == 0
    assert summary["说明"] == "本月没有咨询和推送记录，各项均为0。"
    assert len(list(workbook["按日"].iter_rows())) == 1 + 28 + 1  # header, every day of February, total
    result = pufa("report", "monthly", "--month", "2026-02", "--format", "csv", "--out", "feb.zip", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "feb.zip") as archive:
        assert archive.read("1-汇总.csv").decode("utf-8-sig").count("本月没有咨询和推送记录") == 1
    result = pufa("report", "annual", "--year", "2025", cwd=tmp_path)
    assert result.returncode == 0 and "解答群众法律咨询0人次" in result.stdout and "各项均为0" in result.stdout


def test_demo_seed_refuses_real_records_unless_forced_then_reports_run(tmp_path: Path) -> None:
    assert pufa("groups", "add", "real-1@chatroom", "--name", "真群", cwd=tmp_path).returncode == 0
    refused = pufa("demo", "seed", "--months", "2", "--groups", "3", cwd=tmp_path)
    assert refused.returncode == 2 and "已有记录" in refused.stderr and "--force" in refused.stderr
    seeded = pufa("demo", "seed", "--months", "2", "--groups", "3", "--until", "2026-10", "--force", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr
    assert "演示群 3 个" in seeded.stdout
    again = pufa("demo", "seed", "--months", "1", "--groups", "3", cwd=tmp_path)
    assert again.returncode == 2  # now it holds consultations
    monthly = pufa("report", "monthly", "--month", "2026-10", "--out", "oct.xlsx", cwd=tmp_path)
    assert monthly.returncode == 0 and "已导出 oct.xlsx" in monthly.stdout
    annual = pufa("report", "annual", "--year", "2026", "--out", "year.md", cwd=tmp_path)
    assert annual.returncode == 0 and (tmp_path / "year.md").read_text(encoding="utf-8").startswith("# 2026年")
    annual_xlsx = pufa("report", "annual", "--year", "2026", "--format", "xlsx", "--out", "year.xlsx", cwd=tmp_path)
    assert annual_xlsx.returncode == 0, annual_xlsx.stderr
    assert openpyxl.load_workbook(tmp_path / "year.xlsx").sheetnames == ["年度综述", "按月按类别"]


def test_figures_on_generated_demo_data_equal_sql_counts(db: Database) -> None:
    with db.sessions.begin() as session:
        result = seed_demo(session, months=3, groups=4, per_group_month=30, last_month="2026-11", tz=TZ, now=NOW,
                           key_dates=list(load_key_dates()), seed=3)
    assert result.consultations > 200 and result.outbox_rows > 0
    for month in ("2026-09", "2026-10", "2026-11"):
        start, end = month_bounds(month, TZ)
        with db.sessions() as session:
            summary = build_monthly_report(session, month, TZ, NOW).summary
        where = "asked_at >= :s AND asked_at < :e"
        sent = "status = 'sent' AND sent_at >= :s AND sent_at < :e"
        assert summary.person_times == _count(db, f"SELECT count(*) FROM consultations WHERE {where} AND counted",
                                              start, end)
        for status in ("answered", "pending", "handled"):
            assert getattr(summary, status) == _count(
                db, f"SELECT count(*) FROM consultations WHERE {where} AND counted AND status = '{status}'", start, end)
        assert summary.records == _count(db, f"SELECT count(*) FROM consultations WHERE {where}", start, end)
        assert summary.pushes == _count(db, f"SELECT count(*) FROM outbox WHERE {sent}", start, end)
        assert summary.reach == _count(db, f"SELECT sum(member_count) FROM outbox WHERE {sent}", start, end)
    start, end = year_bounds(2026, TZ)
    with db.sessions() as session:
        figures = build_annual_figures(session, 2026, TZ)
    assert figures.person_times == _count(
        db, "SELECT count(*) FROM consultations WHERE asked_at >= :s AND asked_at < :e AND counted", start, end)
    assert figures.person_times == sum(m.person_times for m in figures.months)


def test_staff_can_edit_the_annual_template_but_not_escape_the_sandbox(db: Database, tmp_path: Path) -> None:
    with db.sessions() as session:
        figures = build_annual_figures(session, 2026, TZ, township="青山镇")
    own = tmp_path / "templates"
    own.mkdir()
    (own / "annual_summary.md.j2").write_text(
        "{% block paragraph %}{{ township }}全年解答咨询{{ person_times }}人次。{% endblock %}", encoding="utf-8")
    text_ = render_annual(figures, [own])
    assert text_.paragraph == "青山镇全年解答咨询0人次。"
    (own / "annual_summary.md.j2").write_text("{{ year.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8")
    with pytest.raises(UserError, match="年度综述模板"):
        render_annual(figures, [own])
    (own / "annual_summary.md.j2").write_text("{{ no_such_figure }}", encoding="utf-8")
    with pytest.raises(UserError, match="no_such_figure"):
        render_annual(figures, [own])


def test_phone_and_id_numbers_typed_into_questions_are_masked() -> None:
    assert mask_personal("电话13812345678找我") == "电话138********找我"
    assert mask_personal("身份证11010519491231002X丢了") == "身份证110***************丢了"
    assert mask_personal("借了30000元，2026年的事") == "借了30000元，2026年的事"


