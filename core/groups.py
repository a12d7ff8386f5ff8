"""The registry of village groups, shared by the bot (which groups it may speak in) and the scheduler (targets)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, UserError
from core.models import Group

_TAG = re.compile(r"^[^\s,，:]{1,20}$")


def parse_tags(raw: str | Sequence[str] | None) -> list[str]:
    if raw is None:
        return []
    items = re.split(r"[,，]", raw) if isinstance(raw, str) else list(raw)
    tags = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        if not _TAG.match(item):
            raise UserError(f"标签“{item}”不合规：1-20个字，不能含空格、逗号或冒号")
        if item not in tags:
            tags.append(item)
    return tags


def add_group(
    session: Session,
    *,
    room_id: str,
    name: str,
    now: datetime,
    village: str = "",
    tags: Sequence[str] = (),
    member_count: int | None = None,
) -> Group:
    room_id = room_id.strip()
    if not room_id or len(room_id) > 128 or any(c.isspace() for c in room_id):
        raise UserError("群ID不能为空、不能含空格，且不超过128个字符（微信群ID形如 12345678@chatroom）")
    if session.scalar(select(Group).where(Group.room_id == room_id)) is not None:
        raise UserError(f"群ID {room_id} 已经登记过了")
    group = Group(
        room_id=room_id,
        name=name.strip()[:128],
        village=village.strip()[:64],
        tags=",".join(parse_tags(list(tags))),
        enabled=True,
        member_count=member_count,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    session.flush()
    return group


def list_groups(session: Session, *, include_disabled: bool = True) -> list[Group]:
    query = select(Group).order_by(Group.id)
    if not include_disabled:
        query = query.where(Group.enabled.is_(True))
    return list(session.scalars(query))


def find_group(session: Session, ident: str) -> Group:
    """By numeric id, room id, or exact name (names are only a convenience for staff typing commands)."""
    ident = ident.strip()
    group = None
    if ident.isdigit():
        group = session.get(Group, int(ident))
    if group is None:
        group = session.scalar(select(Group).where(Group.room_id == ident))
    if group is None:
        matches = list(session.scalars(select(Group).where(Group.name == ident)))
        if len(matches) > 1:
            raise UserError(f"有{len(matches)}个群都叫“{ident}”，请用编号或群ID")
        group = matches[0] if matches else None
    if group is None:
        raise NotFoundError(f"找不到群“{ident}”，可用 pufa groups list 查看")
    return group


def set_enabled(session: Session, ident: str, enabled: bool, now: datetime) -> Group:
    group = find_group(session, ident)
    group.enabled = enabled
    group.updated_at = now
    return group


def is_active(session: Session, room_id: str) -> bool:
    """Is this room registered and enabled? One indexed look-up (room_id is unique), for every inbound message."""
    found = session.scalar(select(Group.id).where(Group.room_id == room_id, Group.enabled.is_(True)))
    return found is not None


def resolve_targets(session: Session, spec: str) -> list[Group]:
    """`all` | `tag:二组` | `1,2,3` (group numbers or room ids) → enabled groups."""
    spec = (spec or "all").strip()
    enabled = list_groups(session, include_disabled=False)
    if spec in {"all", "全部"}:
        return enabled
    if spec.startswith(("tag:", "标签:", "标签：")):
        tag = re.split(r"[:：]", spec, maxsplit=1)[1].strip()
        chosen = [g for g in enabled if tag in g.tag_list]
        if not chosen:
            raise UserError(f"没有带标签“{tag}”的启用群")
        return chosen
    chosen = []
    for ident in re.split(r"[,，]", spec):
        if ident.strip():
            group = find_group(session, ident)
            if not group.enabled:
                raise UserError(f"群“{group.name or group.room_id}”已停用")
            chosen.append(group)
    if not chosen:
        raise UserError("目标群不能为空：用 all、tag:标签 或 群编号列表（如 1,2）")
    return chosen


def update_group(
    session: Session,
    ident: str,
    *,
    now: datetime,
    name: str,
    village: str,
    tags: Sequence[str],
    member_count: int | None,
) -> Group:
    """Change what staff maintain about a group (never its room id, which is how WeChat knows it)."""
    group = find_group(session, ident)
    if member_count is not None and not 0 <= member_count <= 100_000:
        raise UserError("群成员人数应在 0 到 100000 之间")
    group.name = name.strip()[:128] or group.room_id
    group.village = village.strip()[:64]
    group.tags = ",".join(parse_tags(list(tags)))
    group.member_count = member_count
    group.updated_at = now
    return group
