"""Staff manage the bot from WeChat: `#绑定 村名`, `#解绑`, `#待发`, `#统计 [2026-11]`, `#暂停推送`, `#恢复推送`, `#帮助`.

Staff are the WeChat ids listed in settings (PUFA_STAFF_WECHAT_IDS). Raw ids are compared in memory only and never
stored. The same commands from anyone else are silently ignored, and a group is registered only by staff's
`#绑定` inside it (by room id, never by name). In a group that is not bound only #绑定/#解绑/#帮助 answer: the
township's figures and push controls stay out of groups the township has not registered. Runs before the "unaddressed" filter: commands need no @.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import SILENT, Outcome, Reply, Request
from core import groups as registry
from core import statistics
from core.errors import UserError
from core.models import AccountState, Consultation, ContentItem, Group, OutboxItem, Push

TEMPLATE = "staff.txt.j2"
COMMAND = re.compile(r"^[#＃]\s*(绑定|解绑|待发|统计|暂停推送|恢复推送|帮助)(?:[\s\u2005\u3000]+(.*))?$", re.S)
VILLAGE = re.compile(r"^[^\s#＃@,，:：]{1,20}$")
WHO_AM_I = re.compile(r"^[#＃]\s*我的\s*(?:ID|id|微信ID|微信id)$")
UPCOMING_LIMIT = 5

HELP = """工作人员命令（在群里直接发，不用 @）：
#绑定 村名 —— 把本群登记为该村的群，之后推送和答疑才会覆盖本群
#解绑 —— 本群不再推送、不再答疑（记录保留）
#待发 —— 查看接下来要推送的内容
#统计 —— 本月咨询和推送数字；指定月份写 #统计 2026-11
#暂停推送 / #恢复推送 —— 暂停或恢复所有群的推送
#帮助 —— 显示本说明
（#待发、#统计、#暂停推送、#恢复推送 只在已绑定的群或私聊机器人时可用）
（新同事：私聊机器人发 #我的ID，把得到的ID交给管理员登记）"""


def _month_bounds(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    try:
        return statistics.month_bounds(month, tz)
    except UserError:
        raise UserError(f"月份“{month}”格式不对，应写成 2026-11 这样的“年-月”，例如 #统计 2026-11") from None


class StaffCommandHandler:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        staff_ids: Iterable[str],
        now: Callable[[], datetime],
        *,
        account: str,
        tz: tzinfo,
    ) -> None:
        self._sessions = sessions
        self._staff = frozenset(i.strip() for i in staff_ids if i.strip())
        self._now = now
        self._account = account
        self._tz = tz

    def handle(self, request: Request) -> Outcome:
        text = request.text.strip()
        if WHO_AM_I.match(text):
            # Setting up staff: anyone may learn their own id, only in a private chat (never shown in a group).
            if request.message.is_group:
                return SILENT
            return Reply(TEMPLATE, {"text": f"您的微信ID是：{request.message.sender_id}\n"
                                            "请管理员把它填进 PUFA_STAFF_WECHAT_IDS，重启机器人后即可使用 #绑定 等命令。"})
        match = COMMAND.match(text)
        if match is None:
            return None
        if request.message.sender_id not in self._staff:
            return SILENT  # commands are for staff only; villagers typing them get nothing
        command, arg = match.group(1), (match.group(2) or "").strip()
        try:
            text = self._run(command, arg, request)
        except UserError as exc:
            text = exc.message
        return Reply(TEMPLATE, {"text": text})

    def _run(self, command: str, arg: str, request: Request) -> str:
        message = request.message
        if command == "帮助":
            return HELP
        if command in {"绑定", "解绑"} and not message.is_group:
            return f"#{command} 要在村群里发，机器人才知道是哪个群。"
        now = self._now()
        with self._sessions.begin() as session:
            if message.is_group and command not in {"绑定", "解绑"} and not registry.is_active(session, message.chat_id):
                # Township figures and push controls are not shown in a group the township has not bound (a staff
                # member's family group, say): everyone in it would read them.
                return f"本群还没有绑定。#{command} 请私聊机器人使用，或先在本群发 #绑定 村名。"
            if command == "绑定":
                return self._bind(session, message.chat_id, message.chat_name, arg, now)
            if command == "解绑":
                return self._unbind(session, message.chat_id, now)
            if command == "待发":
                return self._upcoming(session, now)
            if command == "统计":
                return self._figures(session, arg, now, message.chat_id if message.is_group else None)
            return self._set_paused(session, command == "暂停推送", now)

    # -- commands --------------------------------------------------------------------------------
    def _bind(self, session: Session, room_id: str, topic: str, village: str, now: datetime) -> str:
        if not village:
            return "请写上村名，例如：#绑定 青山村"
        if not VILLAGE.match(village):
            return "村名写1-20个字，不要带空格或标点，例如：#绑定 青山村"
        group = session.scalar(select(Group).where(Group.room_id == room_id))
        if group is None:
            group = Group(room_id=room_id, name=topic[:128], village=village, tags="", enabled=True,
                          member_count=None, created_at=now, updated_at=now)
            session.add(group)
            session.flush()
            return f"已绑定：本群（{topic}）登记为{village}的群，今后普法推送和法律答疑都会覆盖本群。"
        group.village = village
        group.name = topic[:128] or group.name
        group.enabled = True
        group.updated_at = now
        return f"已更新：本群（{group.name}）属于{village}，推送和答疑已开启。"

    def _unbind(self, session: Session, room_id: str, now: datetime) -> str:
        group = session.scalar(select(Group).where(Group.room_id == room_id))
        if group is None or not group.enabled:
            return "本群没有绑定，无需解绑。"
        group.enabled = False
        group.updated_at = now
        return "已解绑：本群不再收到推送，机器人也不再在本群答疑。需要时发 #绑定 村名 重新开启。"

    def _upcoming(self, session: Session, now: datetime) -> str:
        rows = session.execute(
            select(Push.due_at, ContentItem.title, Push.targets)
            .join(ContentItem, ContentItem.id == Push.content_id)
            .where(Push.status == "queued", Push.due_at >= now)
            .order_by(Push.due_at, Push.id)
            .limit(UPCOMING_LIMIT)
        ).all()
        pending = int(session.scalar(
            select(func.count(OutboxItem.id)).where(OutboxItem.status == "pending", OutboxItem.account == self._account)
        ) or 0)
        lines = [f"接下来的推送（最多{UPCOMING_LIMIT}条）："] if rows else ["近期没有排好的推送。"]
        for due_at, title, targets in rows:
            where = "全部群" if targets in {"all", "全部"} else targets
            lines.append(f"· {due_at.astimezone(self._tz):%m-%d %H:%M} 《{title}》→ {where}")
        if pending:
            lines.append(f"另有 {pending} 条消息在发送队列中等待发出。")
        if self._paused(session):
            lines.append("注意：推送目前处于暂停状态，发 #恢复推送 恢复。")
        return "\n".join(lines)

    def _figures(self, session: Session, month: str, now: datetime, room_id: str | None) -> str:
        month = month or f"{now.astimezone(self._tz):%Y-%m}"
        start, end = _month_bounds(month, self._tz)
        counted = (Consultation.asked_at >= start, Consultation.asked_at < end, Consultation.counted.is_(True))
        consultations = statistics.count_person_times(session, start, end)
        sent = sum(cell.sent for cell in statistics.push_cells(session, start, end))
        groups = int(session.scalar(select(func.count(Group.id)).where(Group.enabled.is_(True))) or 0)
        lines = [
            f"{start:%Y年%m月}统计：",
            f"· 解答法律咨询 {consultations} 人次",
            f"· 推送普法内容 {sent} 群次",
            f"· 已绑定的群 {groups} 个",
        ]
        if room_id is not None:
            here = int(session.scalar(
                select(func.count(Consultation.id))
                .join(Group, Group.id == Consultation.group_id)
                .where(Group.room_id == room_id, *counted)
            ) or 0)
            lines.append(f"· 其中本群咨询 {here} 人次")
        return "\n".join(lines)

    def _paused(self, session: Session) -> bool:
        state = session.get(AccountState, self._account)
        return bool(state and state.pushes_paused)

    def _set_paused(self, session: Session, paused: bool, now: datetime) -> str:
        state = session.get(AccountState, self._account)
        if state is None:
            state = AccountState(account=self._account, paused_until=None, pushes_paused=paused, updated_at=now)
            session.add(state)
        else:
            state.pushes_paused = paused
            state.updated_at = now
        if paused:
            return "已暂停所有群的推送（答疑照常）。发 #恢复推送 恢复。"
        return "已恢复推送，排好的内容会按计划发出。"
