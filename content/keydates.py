"""The key-date registry (content/keydates.yaml): ids, names, calendar rules, laws and tags.

The data lives next to the library so `pufa content check` can validate every `key_dates` id; the rules are
evaluated for a given year by `scheduler.calendar`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from core.errors import UserError, ValidationProblems

KEYDATES_FILE = Path(__file__).resolve().parent / "keydates.yaml"
KEY_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MMDD = re.compile(r"^(\d{2})-(\d{2})$")
SOLAR_TERMS = (
    "小寒 大寒 立春 雨水 惊蛰 春分 清明 谷雨 立夏 小满 芒种 夏至 小暑 大暑 立秋 处暑 白露 秋分 寒露 霜降 立冬 小雪 大雪 冬至"
).split()
RULE_TYPES = {"fixed", "range", "month", "configured_month", "nth_weekday", "nth_week", "lunar", "solar_term", "dates"}


@dataclass(frozen=True)
class KeyDate:
    id: str
    name: str
    rule: dict[str, Any]
    laws: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    custom: bool = False  # added by staff (custom_key_dates), not in keydates.yaml


@dataclass
class KeyDateRegistry:
    dates: dict[str, KeyDate] = field(default_factory=dict)

    def __contains__(self, key: object) -> bool:
        return key in self.dates

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.dates.values())

    def get(self, key: str) -> KeyDate:
        try:
            return self.dates[key]
        except KeyError:
            raise UserError(f"没有这个节点“{key}”，可用 pufa calendar 查看全部节点") from None

    @property
    def ids(self) -> set[str]:
        return set(self.dates)


def _mmdd(value: Any) -> tuple[int, int] | None:
    match = _MMDD.match(str(value))
    if not match:
        return None
    month, day = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return month, day


def rule_problems(rule: Any) -> list[str]:
    """Why a rule is unusable, in Chinese; empty when it is fine."""
    if not isinstance(rule, dict) or rule.get("type") not in RULE_TYPES:
        return [f"rule 的 type 只能是 {'、'.join(sorted(RULE_TYPES))}"]
    kind = rule["type"]
    problems: list[str] = []

    def int_in(name: str, low: int, high: int) -> None:
        value = rule.get(name)
        if not isinstance(value, int) or not (low <= value <= high):
            problems.append(f"{kind} 规则的 {name} 应是 {low}～{high} 的整数")

    if kind == "fixed" and _mmdd(rule.get("date")) is None:
        problems.append("fixed 规则需要 date: \"MM-DD\"")
    elif kind == "range" and (_mmdd(rule.get("start")) is None or _mmdd(rule.get("end")) is None):
        problems.append("range 规则需要 start 和 end: \"MM-DD\"")
    elif kind == "month":
        int_in("month", 1, 12)
    elif kind == "nth_weekday":
        int_in("month", 1, 12)
        int_in("weekday", 1, 7)
        if rule.get("n") not in (1, 2, 3, 4, -1):
            problems.append("nth_weekday 规则的 n 只能是 1～4 或 -1（最后一个）")
    elif kind == "nth_week":
        int_in("month", 1, 12)
        if rule.get("n") not in (1, 2, 3, 4):
            problems.append("nth_week 规则的 n 只能是 1～4")
    elif kind == "lunar":
        int_in("month", 1, 12)
        int_in("day", 1, 30)
        for name in ("start_offset", "end_offset"):
            if name in rule and not isinstance(rule[name], int):
                problems.append(f"lunar 规则的 {name} 应是整数（天）")
    elif kind == "solar_term" and rule.get("term") not in SOLAR_TERMS:
        problems.append("solar_term 规则的 term 应是二十四节气之一，如 秋分")
    elif kind == "dates":
        from datetime import date

        try:
            start = date.fromisoformat(str(rule.get("start")))
            end = date.fromisoformat(str(rule.get("end", rule.get("start"))))
            if end < start:
                problems.append("结束日期不能早于开始日期")
        except ValueError:
            problems.append("dates 规则需要 start / end: \"YYYY-MM-DD\"")
    return problems


def load_key_dates(path: Path = KEYDATES_FILE) -> KeyDateRegistry:
    """Read and validate the registry; any problem raises ValidationProblems with file:line lines."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise ValidationProblems([f"{path.name}:{line}: YAML 格式错误"], "节点表格式错误") from None
    lines = text.split("\n")

    def line_of(key: str) -> int:
        for number, line in enumerate(lines, 1):
            if re.match(rf"^-\s*id:\s*{re.escape(key)}\s*$", line):
                return number
        return 1

    problems: list[str] = []
    registry = KeyDateRegistry()
    for entry in raw or []:
        if not isinstance(entry, dict):
            problems.append(f"{path.name}:1: 每个节点应是 id/name/rule/laws/tags 的字典")
            continue
        key = str(entry.get("id", ""))
        where = f"{path.name}:{line_of(key)}"
        if not KEY_ID.match(key):
            problems.append(f"{where}: 节点 id “{key}” 只能用小写字母、数字和连字符")
            continue
        if key in registry.dates:
            problems.append(f"{where}: 节点 id “{key}” 重复")
        problems.extend(f"{where}: {key}: {p}" for p in rule_problems(entry.get("rule")))
        if not entry.get("name"):
            problems.append(f"{where}: {key}: 缺少 name")
        registry.dates[key] = KeyDate(
            id=key,
            name=str(entry.get("name", key)),
            rule=dict(entry.get("rule") or {}),
            laws=tuple(str(x) for x in entry.get("laws") or ()),
            tags=tuple(str(x) for x in entry.get("tags") or ()),
        )
    if problems:
        raise ValidationProblems(problems, f"节点表有 {len(problems)} 个问题")
    return registry
