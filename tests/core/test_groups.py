from __future__ import annotations

import pytest

from core import groups as registry
from core.errors import NotFoundError, UserError


def _add(session, room: str, name: str, tags=(), clock=None, **kw):
    return registry.add_group(session, room_id=room, name=name, tags=tags, now=clock.now(), **kw)


def test_groups_are_keyed_by_room_id_and_resolved_by_spec(db, clock) -> None:
    with db.sessions.begin() as s:
        _add(s, "111@chatroom", "一组", ["一组", "山区"], clock)
        _add(s, "222@chatroom", "二组", ["二组"], clock)
        _add(s, "333@chatroom", "😀群", [], clock)
    with db.sessions.begin() as s:
        assert [g.name for g in registry.resolve_targets(s, "all")] == ["一组", "二组", "😀群"]
        assert [g.name for g in registry.resolve_targets(s, "tag:山区")] == ["一组"]
        assert [g.name for g in registry.resolve_targets(s, "1,333@chatroom")] == ["一组", "😀群"]
        registry.set_enabled(s, "2", False, clock.now())
    with db.sessions() as s:
        active = {room for room in ("111@chatroom", "222@chatroom", "333@chatroom", "999@chatroom") if registry.is_active(s, room)}
        assert active == {"111@chatroom", "333@chatroom"}
        with pytest.raises(UserError, match="已停用"):
            registry.resolve_targets(s, "2")
        with pytest.raises(UserError, match="没有带标签"):
            registry.resolve_targets(s, "tag:不存在")


def test_duplicate_room_and_bad_input_are_refused_without_writes(db, clock) -> None:
    with db.sessions.begin() as s:
        _add(s, "111@chatroom", "一组", (), clock)
    with pytest.raises(UserError, match="已经登记"), db.sessions.begin() as s:
        _add(s, "111@chatroom", "又一组", (), clock)
    with pytest.raises(UserError, match="不能含空格"), db.sessions.begin() as s:
        _add(s, "bad id", "x", (), clock)
    with pytest.raises(UserError, match="标签"):
        registry.parse_tags("ok,有 空格")
    with pytest.raises(NotFoundError), db.sessions() as s:
        registry.find_group(s, "99")
    with db.sessions() as s:
        assert len(registry.list_groups(s)) == 1
