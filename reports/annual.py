"""The annual summary: the paragraph a township puts into its 法治政府建设 report, plus a month × category table.

The wording lives in a Jinja2 template staff may edit (sandboxed): `<data dir>/templates/annual_summary.md.j2` if
present, else the shipped `reports/templates/annual_summary.md.j2`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.orm import Session

from content.keydates import KeyDate
from core import statistics as q
from core.categories import ALL_CATEGORIES
from core.errors import UserError
from core.templating import text_environment
from reports.tables import INT, Column, Table

SHIPPED_TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "annual_summary.md.j2"


@dataclass(frozen=True)
class CategoryCount:
    name: str
    count: int


@dataclass(frozen=True)
class MonthRow:
    month: int
    label: str  # 1月
    person_times: int
    by_category: dict[str, int]
    pushes: int
    reach: int


@dataclass
class AnnualFigures:
    year: int
    township: str
    article_pushes: int  # 推送普法文章 N 篇次
    case_pushes: int  # 以案说法推送篇次
    case_issues: int  # 以案说法 M 期 (different cases)
    notice_pushes: int  # 节点预告等通知篇次
    pushes: int  # all 推送篇次
    reach: int  # 覆盖 K 人次
    groups_reached: int
    keydate_events: int  # 围绕节点开展线上宣传 X 次
    keydate_names: list[str]
    person_times: int  # 解答法律咨询 Y 人次
    by_category: list[CategoryCount]  # non-zero, most first
    months: list[MonthRow]
    columns: list[str] = field(default_factory=list)  # categories with any 人次 this year, in the standard order

    def context(self) -> dict[str, Any]:
        return {
            "year": self.year, "township": self.township, "article_pushes": self.article_pushes,
            "case_pushes": self.case_pushes, "case_issues": self.case_issues, "notice_pushes": self.notice_pushes,
            "pushes": self.pushes, "reach": self.reach, "groups_reached": self.groups_reached,
            "keydate_events": self.keydate_events, "keydate_names": self.keydate_names,
            "person_times": self.person_times, "by_category": self.by_category, "months": self.months,
            "columns": self.columns, "empty": self.person_times == 0 and self.pushes == 0,
            "category_totals": {c.name: c.count for c in self.by_category},
        }


def keydate_label(key_date: KeyDate) -> str:
    """“12·4”国家宪法日 for a fixed day, the plain name otherwise."""
    rule = key_date.rule
    if rule.get("type") == "fixed" and isinstance(rule.get("date"), str) and "-" in rule["date"]:
        month, day = (int(part) for part in rule["date"].split("-", 1))
        return f"“{month}·{day}”{key_date.name}"
    return key_date.name


def build_annual_figures(
    session: Session, year: str | int, tz: tzinfo, *, township: str = "", key_dates: Iterable[KeyDate] = ()
) -> AnnualFigures:
    start, end = q.year_bounds(year, tz)
    y = start.year
    pushes = q.push_cells(session, start, end)
    by_kind = {kind: sum(p.sent for p in pushes if p.kind == kind) for kind in ("article", "case", "notice")}
    month_bounds = [q.month_bounds(f"{y}-{month:02d}", tz) for month in range(1, 13)]
    by_month_category = q.person_times_by_period_category(session, month_bounds)
    category_totals: dict[str, int] = {}
    for (_index, category), n in by_month_category.items():
        category_totals[category] = category_totals.get(category, 0) + n
    by_category = sorted(
        (CategoryCount(name, n) for name, n in category_totals.items() if n and name != "其他"),
        key=lambda c: (-c.count, ALL_CATEGORIES.index(c.name) if c.name in ALL_CATEGORIES else 99),
    )
    if category_totals.get("其他"):
        by_category.append(CategoryCount("其他", category_totals["其他"]))
    labels = {kd.id: keydate_label(kd) for kd in key_dates}
    campaigns = q.keydate_pushes(session, start, end)
    ordered_keys = sorted(campaigns, key=lambda k: (-campaigns[k], k))

    months = []
    for month, (m_start, m_end) in enumerate(month_bounds, start=1):
        cats = {c: n for (index, c), n in by_month_category.items() if index == month - 1}
        m_pushes = q.push_cells(session, m_start, m_end)
        months.append(MonthRow(month, f"{month}月", sum(cats.values()), cats, sum(p.sent for p in m_pushes),
                               sum(p.reach for p in m_pushes)))
    return AnnualFigures(
        year=y,
        township=township,
        article_pushes=by_kind["article"],
        case_pushes=by_kind["case"],
        case_issues=q.distinct_contents_sent(session, start, end, "case"),
        notice_pushes=by_kind["notice"],
        pushes=sum(p.sent for p in pushes),
        reach=sum(p.reach for p in pushes),
        groups_reached=len({p.group_id for p in pushes}),
        keydate_events=sum(campaigns.values()),
        keydate_names=[labels.get(k, k) for k in ordered_keys],
        person_times=sum(category_totals.values()),
        by_category=by_category,
        months=months,
        columns=[c for c in ALL_CATEGORIES if category_totals.get(c)],
    )


@dataclass(frozen=True)
class AnnualText:
    markdown: str  # the whole document
    paragraph: str  # just the paragraph (the template's `paragraph` block)


def render_annual(figures: AnnualFigures, template_dirs: Iterable[Path]) -> AnnualText:
    """Render through the staff-editable template; the first directory holding it wins, the shipped one last."""
    env = text_environment([*template_dirs, SHIPPED_TEMPLATES], sandboxed=True)
    try:
        template = env.get_template(TEMPLATE)
        context = figures.context()
        markdown = template.render(context).strip() + "\n"
        block = template.blocks.get("paragraph")
        paragraph = "".join(block(template.new_context(context))).strip() if block else markdown.strip()
    except TemplateError as exc:
        where = getattr(exc, "filename", None) or TEMPLATE
        line = getattr(exc, "lineno", None)
        raise UserError(f"年度综述模板 {where}{f' 第{line}行' if line else ''} 有错误：{exc.message or exc}") from None
    return AnnualText(markdown, paragraph)


def annual_tables(figures: AnnualFigures, text: AnnualText, now: datetime, tz: tzinfo) -> list[Table]:
    summary = Table(
        "年度综述",
        [Column("项目", width=26), Column("数值", width=90)],
        [
            ["年度", figures.year],
            ["综述", text.paragraph],
            ["推送普法文章（篇次）", figures.article_pushes],
            ["以案说法（期）", figures.case_issues],
            ["以案说法推送（篇次）", figures.case_pushes],
            ["节点预告等（篇次）", figures.notice_pushes],
            ["推送合计（篇次）", figures.pushes],
            ["覆盖群数", figures.groups_reached],
            ["覆盖人次", figures.reach],
            ["围绕节点开展线上宣传（次）", figures.keydate_events],
            ["涉及节点", "、".join(figures.keydate_names) or "无"],
            ["解答法律咨询（人次）", figures.person_times],
            ["导出时间", now.astimezone(tz).strftime("%Y-%m-%d %H:%M")],
        ],
        wrap_last=True,
    )
    categories = list(ALL_CATEGORIES)
    rows: list[list[object]] = [
        [m.label, m.person_times, *(m.by_category.get(c, 0) for c in categories), m.pushes, m.reach]
        for m in figures.months
    ]
    rows.append(["合计", figures.person_times,
                 *(sum(m.by_category.get(c, 0) for m in figures.months) for c in categories),
                 figures.pushes, figures.reach])
    matrix = Table(
        "按月按类别",
        [Column("月份", width=8), Column("咨询人次", INT, 10), *(Column(c, INT, 9) for c in categories),
         Column("推送篇次", INT, 10), Column("覆盖人次", INT, 10)],
        rows,
    )
    return [summary, matrix]


def figures_as_mapping(figures: AnnualFigures) -> Mapping[str, Any]:
    """JSON-friendly figures (for --json and for the web console later)."""
    data = figures.context()
    data["by_category"] = [{"name": c.name, "count": c.count} for c in figures.by_category]
    data["months"] = [
        {"month": m.month, "person_times": m.person_times, "by_category": m.by_category, "pushes": m.pushes,
         "reach": m.reach}
        for m in figures.months
    ]
    return data
