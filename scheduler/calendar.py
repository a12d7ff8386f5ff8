"""The key-date calendar: evaluate the registry's rules (content/keydates.yaml) plus staff dates and per-year
overrides (custom_key_dates) into concrete occurrences for a year.

Lunar dates and solar terms come from lunar_python. An occurrence belongs to the year its rule was evaluated for
(`year`), but may reach into the previous one (春节前根治欠薪 for 2028 starts in December 2027): `occurrences_in`
lists everything that touches a calendar year.
"""

from __future__ import annotations

import calendar as std_calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from lunar_python import Lunar, Solar
from sqlalchemy import select
from sqlalchemy.orm import Session

from content.keydates import KEY_ID, KeyDate, KeyDateRegistry, rule_problems
from core.errors import UserError
from core.models import CustomKeyDate


@dataclass(frozen=True)
class Occurrence:
    key: str
    name: str
    year: int  # the rule year this occurrence belongs to (used in plan keys)
    start: date
    end: date
    laws: tuple[str, ...]
    tags: tuple[str, ...]
    overridden: bool = False
    custom: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def shape(self) -> str:
        """day | week (a short range, one case per evening) | long (a month or several weeks)."""
        if self.days == 1:
            return "day"
        return "week" if self.days <= 10 else "long"

    def label(self) -> str:
        if self.start == self.end:
            return f"{self.start.month}月{self.start.day}日"
        if self.start.year == self.end.year and self.start.month == self.end.month:
            return f"{self.start.month}月{self.start.day}日至{self.end.day}日"
        return f"{self.start.month}月{self.start.day}日至{self.end.month}月{self.end.day}日"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "name": self.name, "year": self.year, "start": self.start.isoformat(),
            "end": self.end.isoformat(), "laws": list(self.laws), "tags": list(self.tags),
            "overridden": self.overridden, "custom": self.custom,
        }


def _md(year: int, value: str) -> date:
    month, day = (int(x) for x in str(value).split("-"))
    return date(year, month, min(day, std_calendar.monthrange(year, month)[1]))


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """weekday 1=Monday … 7=Sunday; n=-1 is the last one in the month."""
    days = [
        date(year, month, d)
        for d in range(1, std_calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).isoweekday() == weekday
    ]
    return days[n - 1] if n > 0 else days[n]


def lunar_to_solar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def solar_term(year: int, term: str) -> date:
    table = Solar.fromYmd(year, 7, 1).getLunar().getJieQiTable()
    for name, solar in table.items():
        if name == term and solar.getYear() == year:
            return date(solar.getYear(), solar.getMonth(), solar.getDay())
    raise ValueError(f"no solar term {term} in {year}")  # pragma: no cover - every term occurs every year


def evaluate_rule(rule: dict[str, Any], year: int, *, pufa_month: int = 11) -> tuple[date, date]:
    kind = rule["type"]
    if kind == "fixed":
        day = _md(year, rule["date"])
        return day, day
    if kind == "range":
        return _md(year, rule["start"]), _md(year, rule["end"])
    if kind in {"month", "configured_month"}:
        month = pufa_month if kind == "configured_month" else int(rule["month"])
        return date(year, month, 1), date(year, month, std_calendar.monthrange(year, month)[1])
    if kind == "nth_weekday":
        day = _nth_weekday(year, int(rule["month"]), int(rule["weekday"]), int(rule["n"]))
        return day, day
    if kind == "nth_week":
        monday = _nth_weekday(year, int(rule["month"]), 1, int(rule["n"]))
        return monday, monday + timedelta(days=6)
    if kind == "lunar":
        anchor = lunar_to_solar(year, int(rule["month"]), int(rule["day"]))
        start = anchor + timedelta(days=int(rule.get("start_offset", 0)))
        end = anchor + timedelta(days=int(rule.get("end_offset", 0)))
        return start, max(start, end)
    if kind == "solar_term":
        day = solar_term(year, str(rule["term"]))
        return day, day
    if kind == "dates":
        start = date.fromisoformat(str(rule["start"]))
        return start, date.fromisoformat(str(rule.get("end", rule["start"])))
    raise ValueError(f"unknown rule type {kind}")


# -- staff dates and overrides ------------------------------------------------------------------
def custom_rows(session: Session) -> list[CustomKeyDate]:
    return list(session.scalars(select(CustomKeyDate).order_by(CustomKeyDate.key, CustomKeyDate.year)))


def merged_registry(registry: KeyDateRegistry, rows: list[CustomKeyDate]) -> KeyDateRegistry:
    """Built-in dates plus staff's recurring and one-off dates (rows with a key not in keydates.yaml)."""
    merged = KeyDateRegistry(dict(registry.dates))
    for row in rows:
        if row.key in registry.dates:
            continue
        if row.key not in merged.dates or row.year is None:
            merged.dates[row.key] = KeyDate(
                id=row.key, name=row.name, rule=dict(row.rule), laws=tuple(row.laws), tags=tuple(row.tags), custom=True
            )
    return merged


def occurrences_for_rule_year(
    registry: KeyDateRegistry, rows: list[CustomKeyDate], year: int, *, pufa_month: int
) -> list[Occurrence]:
    overrides = {(r.key, r.year): r for r in rows if r.year is not None}
    result: list[Occurrence] = []
    for key_date in merged_registry(registry, rows):
        override = overrides.get((key_date.id, year))
        if override is not None:
            start, end = evaluate_rule(dict(override.rule), year, pufa_month=pufa_month)
            result.append(
                Occurrence(
                    key_date.id, key_date.name, year, start, end, key_date.laws, key_date.tags,
                    overridden=not key_date.custom, custom=key_date.custom,
                )
            )
            continue
        if key_date.rule.get("type") == "dates":
            continue  # one-off staff dates occur only in the year they were added for
        start, end = evaluate_rule(key_date.rule, year, pufa_month=pufa_month)
        result.append(
            Occurrence(key_date.id, key_date.name, year, start, end, key_date.laws, key_date.tags, custom=key_date.custom)
        )
    return result


def occurrences_in(
    registry: KeyDateRegistry, rows: list[CustomKeyDate], year: int, *, pufa_month: int
) -> list[Occurrence]:
    """Every occurrence that touches calendar year `year`, sorted by start date."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    found = {}
    for rule_year in (year - 1, year, year + 1):
        for occ in occurrences_for_rule_year(registry, rows, rule_year, pufa_month=pufa_month):
            if occ.end >= first and occ.start <= last:
                found[(occ.key, occ.year)] = occ
    return sorted(found.values(), key=lambda o: (o.start, o.end, o.key))


_DATE = re.compile(r"^(\d{4}-)?\d{1,2}-\d{1,2}$")


def _parse_day(value: str, year: int | None) -> date:
    value = value.strip().replace("/", "-").replace(".", "-")
    if not _DATE.match(value):
        raise UserError(f"日期“{value}”格式不对：写成 12-20 或 2026-12-20")
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 2:
        if year is None:
            raise UserError(f"日期“{value}”没有年份：请写成 2026-12-20，或加 --year")
        parts = [year, *parts]
    try:
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        raise UserError(f"没有这一天：{value}") from None


def set_override(
    session: Session, registry: KeyDateRegistry, key: str, year: int, start: str, end: str, now: datetime
) -> CustomKeyDate:
    """Move a built-in date for one year (e.g. the national notice moves 宪法宣传周)."""
    base = registry.get(key)
    first, last = _parse_day(start, year), _parse_day(end or start, year)
    if last < first:
        raise UserError("结束日期不能早于开始日期")
    if (last - first).days > 62:
        raise UserError("一个节点最长两个月")
    rule = {"type": "dates", "start": first.isoformat(), "end": last.isoformat()}
    row = session.scalar(select(CustomKeyDate).where(CustomKeyDate.key == key, CustomKeyDate.year == year))
    if row is None:
        row = CustomKeyDate(key=key, year=year, name=base.name, rule=rule, laws=list(base.laws),
                            tags=list(base.tags), created_at=now)
        session.add(row)
    else:
        row.rule = rule
    session.flush()
    return row


def add_custom_date(
    session: Session,
    registry: KeyDateRegistry,
    *,
    key: str,
    name: str,
    start: str,
    end: str = "",
    year: int | None = None,
    laws: list[str],
    tags: list[str],
    now: datetime,
) -> CustomKeyDate:
    """A township's own date: recurring (MM-DD, no year) or one-off (YYYY-MM-DD or --year)."""
    key = key.strip()
    if not KEY_ID.match(key) or len(key) > 64:
        raise UserError("节点标识只能用小写字母、数字和连字符，例如 village-fair")
    if key in registry.dates:
        raise UserError(f"“{key}”是内置节点；要调整某一年的日期请用 pufa calendar override")
    if session.scalar(select(CustomKeyDate).where(CustomKeyDate.key == key)) is not None:
        raise UserError(f"节点“{key}”已经存在")
    name = name.strip()
    if not name or len(name) > 64:
        raise UserError("节点名称不能为空，且不超过64个字")
    recurring = year is None and re.match(r"^\d{1,2}-\d{1,2}$", start.strip()) is not None
    if recurring:
        first, last = _parse_day(start, 2024), _parse_day(end or start, 2024)  # a leap year accepts 02-29
        if last < first:
            raise UserError("结束日期不能早于开始日期（跨年的节点请分成两个）")
        rule: dict[str, Any] = (
            {"type": "fixed", "date": first.strftime("%m-%d")}
            if first == last
            else {"type": "range", "start": first.strftime("%m-%d"), "end": last.strftime("%m-%d")}
        )
    else:
        first, last = _parse_day(start, year), _parse_day(end or start, year or None)
        if last < first:
            raise UserError("结束日期不能早于开始日期")
        year = first.year
        rule = {"type": "dates", "start": first.isoformat(), "end": last.isoformat()}
    if (last - first).days > 62:
        raise UserError("一个节点最长两个月")
    assert not rule_problems(rule)
    row = CustomKeyDate(key=key, year=None if recurring else year, name=name, rule=rule, laws=laws, tags=tags,
                        created_at=now)
    session.add(row)
    session.flush()
    return row
