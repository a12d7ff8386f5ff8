"""Realistic demo data for trying the reports (and for the benchmarks): village groups, sent pushes with member-count
snapshots, and consultations with the 人次 rule's repeats, pending and handled questions.

It refuses a database that already holds real records (consultations, outbox rows or groups that are not demo or
console groups) unless forced, so demo figures never mix into a township's real statistics by accident.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from content.keydates import KeyDate
from core.errors import UserError
from core.models import Consultation, ContentItem, Group, OutboxItem, Push
from core.statistics import month_bounds

DEMO_PREFIX = "demo-"
SAFE_GROUP_PREFIXES = (DEMO_PREFIX, "console-")
VILLAGES = ("青山村", "柳树村", "桃园村", "石桥村", "杨家村", "新华村", "河东村", "红旗村", "李家庄", "枫林村")
# How villagers' questions spread over the categories (roughly what a township sees).
CATEGORY_WEIGHTS = {
    "婚姻家庭": 14, "继承赡养": 9, "土地房产": 13, "借贷债务": 11, "劳动用工": 12, "交通事故": 6, "侵权纠纷": 7,
    "消费合同": 6, "禁毒": 2, "反诈骗": 6, "刑事治安": 3, "未成年人": 3, "社保行政": 5, "宪法法治": 1,
    "法律援助": 2, "其他": 2,
}
QUESTIONS = {
    "婚姻家庭": ["离婚了孩子归谁", "彩礼给了能要回来吗", "老公不给生活费咋办"],
    "继承赡养": ["老人走了房子兄弟姐妹怎么分", "儿子不养老咋办", "遗嘱要不要公证"],
    "土地房产": ["承包地被占了咋办", "宅基地能卖给外村人吗", "征地补偿怎么算"],
    "借贷债务": ["借钱不还咋办", "没打借条能要回钱吗", "利息多高算高利贷"],
    "劳动用工": ["干活被欠工钱咋办", "工地受伤算工伤吗", "没签合同能要双倍工资吗"],
    "交通事故": ["电动车被撞了咋赔", "撞人后对方要价太高咋办"],
    "侵权纠纷": ["邻居家狗咬了人谁负责", "楼上漏水把我家泡了咋办"],
    "消费合同": ["买到假化肥怎么维权", "定金交了不想买了能退吗"],
    "禁毒": ["发现有人吸毒怎么举报"],
    "反诈骗": ["接到冒充公安的电话怎么办", "刷单被骗了能追回吗"],
    "刑事治安": ["被人打了怎么处理", "家里被偷了咋报案"],
    "未成年人": ["孩子在学校被欺负咋办", "未成年打工合法吗"],
    "社保行政": ["新农合怎么报销", "养老保险断缴了咋办"],
    "宪法法治": ["宪法日是哪天"],
    "法律援助": ["打官司没钱能申请法律援助吗"],
    "其他": ["这个怎么弄"],
}
KINDS = ("article", "case", "notice")


@dataclass(frozen=True)
class SeedResult:
    groups: int
    consultations: int
    pushes: int
    outbox_rows: int
    first_month: str
    last_month: str


def real_records(session: Session) -> dict[str, int]:
    """What would make demo data dangerous here: consultations, outbox rows, real (non-demo) groups."""
    groups = session.scalars(select(Group.room_id)).all()
    return {
        "consultations": int(session.scalar(select(func.count(Consultation.id))) or 0),
        "outbox": int(session.scalar(select(func.count(OutboxItem.id))) or 0),
        "groups": sum(1 for room in groups if not room.startswith(SAFE_GROUP_PREFIXES)),
    }


def _months(last_month: str, count: int, tz: tzinfo) -> list[tuple[datetime, datetime]]:
    start, _end = month_bounds(last_month, tz)
    months = []
    year, month = start.year, start.month
    for _ in range(count):
        months.append(month_bounds(f"{year}-{month:02d}", tz))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(months))


def _demo_groups(session: Session, count: int, rng: random.Random, now: datetime) -> list[Group]:
    existing = {g.room_id: g for g in session.scalars(select(Group).where(Group.room_id.like(f"{DEMO_PREFIX}%")))}
    groups = []
    for n in range(1, count + 1):
        room_id = f"{DEMO_PREFIX}{n:03d}@chatroom"
        group = existing.get(room_id)
        if group is None:
            village = VILLAGES[(n - 1) % len(VILLAGES)]
            team = (n - 1) // len(VILLAGES) + 1
            group = Group(room_id=room_id, name=f"{village}{team}组（演示）", village=village, tags=f"演示,{team}组",
                          enabled=True, member_count=rng.randint(40, 320), created_at=now, updated_at=now)
            session.add(group)
        groups.append(group)
    session.flush()
    return groups


def _demo_content(session: Session, key_dates: list[KeyDate], now: datetime) -> dict[str, list[ContentItem]]:
    """The imported library when there is one; otherwise a few demo items of each kind."""
    items: dict[str, list[ContentItem]] = {kind: [] for kind in KINDS}
    for item in session.scalars(select(ContentItem).order_by(ContentItem.id)):
        if item.kind in items:
            items[item.kind].append(item)
    for kind, label in (("article", "普法文章"), ("case", "以案说法")):
        if items[kind]:
            continue
        for n in range(1, 7):
            key = key_dates[(n - 1) % len(key_dates)].id if key_dates else ""
            data: dict[str, Any] = {"laws": [], "tags": [], "key_dates": [key] if key else []}
            if kind == "article":
                data.update(summary="", body=f"演示{label}正文。")
            else:
                data.update(explainer="", facts="演示案情。", outcome="演示结果。", explanation="演示说法。",
                            tip="演示提示。", path=f"{DEMO_PREFIX}{n}.md")
            item = ContentItem(slug=f"{DEMO_PREFIX}{kind}-{n}", kind=kind, title=f"演示{label}{n}", key_dates=key,
                               tags="", data=data, checksum=f"demo{n}", reviewed=None, imported_at=now)
            session.add(item)
            items[kind].append(item)
    session.flush()
    return items


def _random_time(rng: random.Random, start: datetime, end: datetime, tz: tzinfo) -> datetime:
    """A moment in [start, end), mostly in the daytime and evening when villagers are on WeChat."""
    days = max((end - start).days, 1)
    day = start + timedelta(days=rng.randrange(days))
    hour = rng.choices(range(24), weights=[1, 0, 0, 0, 0, 1, 3, 6, 8, 9, 9, 8, 10, 9, 8, 8, 8, 8, 9, 12, 14, 12,
                                           7, 3])[0]
    moment = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=tz)
    return min(max(moment, start), end - timedelta(seconds=1))


def seed_demo(
    session: Session,
    *,
    months: int,
    groups: int,
    per_group_month: int,
    last_month: str,
    tz: tzinfo,
    now: datetime,
    key_dates: list[KeyDate] | None = None,
    seed: int = 1,
    force: bool = False,
    batch: int = 20000,
) -> SeedResult:
    """Fill `months` months ending with `last_month`. Times never pass `now`. The caller commits."""
    if not 1 <= months <= 120:
        raise UserError("月数 --months 应在 1 到 120 之间")
    if not 1 <= groups <= 2000:
        raise UserError("群数 --groups 应在 1 到 2000 之间")
    if not 0 <= per_group_month <= 1_000_000:
        raise UserError("每群每月咨询条数 --per-group-month 应在 0 到 1000000 之间")
    found = real_records(session)
    if any(found.values()) and not force:
        raise UserError(
            f"数据库里已有记录（咨询{found['consultations']}条、推送消息{found['outbox']}条、非演示群{found['groups']}个），"
            "为免演示数据混入真实统计，已停止；确需写入请加 --force"
        )
    rng = random.Random(seed)
    fixed = [kd for kd in (key_dates or []) if kd.rule.get("type") == "fixed"]
    periods = _months(last_month, months, tz)
    demo_groups = _demo_groups(session, groups, rng, now)
    content = _demo_content(session, fixed, now)
    group_ids = [(g.id, g.member_count or 100) for g in demo_groups]

    pushes = outbox_rows = 0
    outbox_buffer: list[dict[str, Any]] = []
    for start, end in periods:
        end = min(end, now)
        if end <= start:
            continue
        month_keys = [kd for kd in fixed if int(kd.rule["date"].split("-")[0]) == start.month]
        plan = [(kd, kind) for kd in month_keys for kind in ("notice", "article", "case")]  # notices if imported
        plan += [(None, rng.choice(("article", "article", "case"))) for _ in range(6)]
        for index, (kd, kind) in enumerate(plan):
            if not content[kind]:
                continue
            item = rng.choice(content[kind])
            due = _random_time(rng, start, end, tz).replace(hour=9 if kind != "case" else 20, minute=0, second=0)
            if due >= end:
                continue
            plan_key = f"{kd.id}:{start.year}:{kind}:demo-{start.month}-{index}" if kd else None
            push = Push(content_id=item.id, due_at=due, targets="tag:演示", source="plan" if kd else "manual",
                        plan_key=plan_key, status="queued", note="演示数据", created_at=due)
            session.add(push)
            session.flush()
            pushes += 1
            for group_id, members in group_ids:
                sent_at = due + timedelta(seconds=rng.randint(0, 1800))
                outbox_buffer.append({
                    "push_id": push.id, "content_id": item.id, "group_id": group_id, "account": "default",
                    "due_at": due, "idempotency_key": f"{DEMO_PREFIX}{push.id}:{group_id}", "status": "sent",
                    "attempts": 1, "sent_at": sent_at, "claimed_at": sent_at, "parts_sent": 1,
                    "member_count": max(members + rng.randint(-5, 5), 3), "created_at": due, "updated_at": sent_at,
                })
        if len(outbox_buffer) >= batch:
            session.execute(insert(OutboxItem), outbox_buffer)
            outbox_rows += len(outbox_buffer)
            outbox_buffer = []
    if outbox_buffer:
        session.execute(insert(OutboxItem), outbox_buffer)
        outbox_rows += len(outbox_buffer)

    consultations = 0
    for chunk in _chunks(_consultation_rows(rng, periods, group_ids, per_group_month, tz, now), batch):
        session.execute(insert(Consultation), chunk)
        consultations += len(chunk)
    return SeedResult(len(demo_groups), consultations, pushes, outbox_rows, f"{periods[0][0]:%Y-%m}",
                      f"{periods[-1][0]:%Y-%m}")


def _consultation_rows(
    rng: random.Random, periods: list[tuple[datetime, datetime]], group_ids: list[tuple[int, int]],
    per_group_month: int, tz: tzinfo, now: datetime,
) -> Iterator[dict[str, Any]]:
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    senders = [hashlib.sha256(f"demo-sender-{n}".encode()).hexdigest() for n in range(max(len(group_ids) * 60, 50))]
    for start, end in periods:
        end = min(end, now)
        if end <= start:
            continue
        for group_id, _members in group_ids:
            count = max(0, round(per_group_month * rng.uniform(0.7, 1.3))) if per_group_month else 0
            for _ in range(count):
                category = rng.choices(categories, weights)[0]
                asked_at = _random_time(rng, start, end, tz)
                private = rng.random() < 0.1
                roll = rng.random()
                status = "pending" if roll < 0.07 else "handled" if roll < 0.10 else "answered"
                handled = status == "handled"
                yield {
                    "asked_at": asked_at, "group_id": None if private else group_id,
                    "chat_kind": "private" if private else "group", "sender_hash": rng.choice(senders),
                    "question": rng.choice(QUESTIONS.get(category, QUESTIONS["其他"])), "category": category,
                    "entry_id": None if status != "answered" else f"{DEMO_PREFIX}{category}",
                    "score": round(rng.uniform(0.2, 0.95), 3), "status": status,
                    # Follow-up questions within 30 minutes in the same category do not count again.
                    "counted": rng.random() >= 0.12,
                    "handled_at": min(asked_at + timedelta(days=1), now) if handled else None,
                    "handled_note": "已电话回复（演示）" if handled else None,
                }


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
