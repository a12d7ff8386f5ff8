"""Staff accounts, login sessions, the login rate limit and the audit log. Services: take a Session, never commit.

Passwords are hashed with argon2id (argon2-cffi). A browser session is a random token in an HttpOnly cookie; the
database keeps only its SHA-256, plus the CSRF token the session's forms must echo. Failed logins are audit rows, so
the rate limit holds across restarts and processes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import NotFoundError, UserError
from core.models import AuditLog, StaffAccount, StaffSession

ROLES = {"admin": "管理员", "editor": "编辑", "viewer": "只读"}
_RANK = {"viewer": 0, "editor": 1, "admin": 2}
SESSION_TTL = timedelta(hours=12)
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 8
_NAME = re.compile(r"^[^\s]{2,32}$")
_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


@dataclass(frozen=True)
class StaffUser:
    """The logged-in person, as the pages see it (no hash, no ORM object)."""

    id: int
    name: str
    role: str
    csrf_token: str

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def can(self, role: str) -> bool:
        return _RANK.get(self.role, -1) >= _RANK[role]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- audit ------------------------------------------------------------------------------------
def record_audit(session: Session, *, actor: str, action: str, now: datetime, target: str = "", detail: str = "") -> None:
    session.add(AuditLog(at=now, actor=actor[:64], action=action[:32], target=target[:200], detail=detail[:2000]))


def recent_audit(session: Session, limit: int = 100) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)))


# -- accounts ---------------------------------------------------------------------------------
def create_staff(session: Session, *, name: str, role: str, password: str, now: datetime, actor: str = "命令行") -> StaffAccount:
    name = name.strip()
    if not _NAME.match(name):
        raise UserError("账号名要2-32个字符，不能含空格")
    if role not in ROLES:
        raise UserError(f"角色只能是 {'、'.join(ROLES)}（管理员、编辑、只读）")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少{MIN_PASSWORD}位")
    if session.scalar(select(StaffAccount.id).where(StaffAccount.name == name)) is not None:
        raise UserError(f"账号“{name}”已经存在")
    account = StaffAccount(name=name, role=role, password_hash=_hasher.hash(password), enabled=True, created_at=now)
    session.add(account)
    session.flush()
    record_audit(session, actor=actor, action="staff.add", now=now, target=name, detail=f"角色：{ROLES[role]}")
    return account


def list_staff(session: Session) -> list[StaffAccount]:
    return list(session.scalars(select(StaffAccount).order_by(StaffAccount.id)))


def count_staff(session: Session) -> int:
    return int(session.scalar(select(func.count(StaffAccount.id))) or 0)


def _account(session: Session, name: str) -> StaffAccount:
    account = session.scalar(select(StaffAccount).where(StaffAccount.name == name.strip()))
    if account is None:
        raise NotFoundError(f"找不到账号“{name}”")
    return account


def set_staff_enabled(session: Session, name: str, enabled: bool, now: datetime, actor: str) -> StaffAccount:
    account = _account(session, name)
    if not enabled and account.role == "admin" and account.enabled:
        others = session.scalar(select(func.count(StaffAccount.id)).where(
            StaffAccount.role == "admin", StaffAccount.enabled.is_(True), StaffAccount.id != account.id))
        if not others:
            raise UserError("这是唯一启用的管理员账号，不能停用（先给另一位同事设管理员账号）")
    account.enabled = enabled
    if not enabled:
        session.execute(delete(StaffSession).where(StaffSession.staff_id == account.id))
    record_audit(session, actor=actor, action="staff.enable" if enabled else "staff.disable", now=now, target=account.name)
    return account


def confirmed(password: str, again: str) -> str:
    """The password typed twice in a form, or a UserError when the two differ."""
    if password != again:
        raise UserError("两次输入的密码不一样")
    return password


def reset_password(session: Session, name: str, password: str, now: datetime, actor: str) -> StaffAccount:
    """A new password for a forgotten one: every login of that account ends at once."""
    account = _account(session, name)
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少{MIN_PASSWORD}位")
    account.password_hash = _hasher.hash(password)
    session.execute(delete(StaffSession).where(StaffSession.staff_id == account.id))
    record_audit(session, actor=actor, action="staff.password", now=now, target=account.name)
    return account


# -- login ------------------------------------------------------------------------------------
def _recent_failures(session: Session, column, value: str, now: datetime) -> int:  # type: ignore[no-untyped-def]
    return int(
        session.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.action == "login.failed", column == value, AuditLog.at >= now - LOGIN_WINDOW
            )
        )
        or 0
    )


def login(session: Session, *, name: str, password: str, address: str, now: datetime) -> tuple[str, StaffUser] | None:
    """Check the password and open a browser session. Returns (cookie token, user), or None for a wrong name or
    password — the failure is recorded in this transaction, so the caller commits it like a success.

    Refuses with a UserError when the name or the address has failed too often in the last 15 minutes, before the
    password is even looked at."""
    name = name.strip()[:64]
    if (
        _recent_failures(session, AuditLog.actor, name, now) >= MAX_FAILURES_PER_NAME
        or _recent_failures(session, AuditLog.target, address, now) >= MAX_FAILURES_PER_ADDRESS
    ):
        raise UserError("登录失败次数太多，请15分钟后再试")
    account = session.scalar(select(StaffAccount).where(StaffAccount.name == name)) if name else None
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
        ok = account is not None and account.enabled
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None:
        record_audit(session, actor=name or "（空）", action="login.failed", now=now, target=address)
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    account.last_login_at = now
    session.execute(delete(StaffSession).where(StaffSession.expires_at < now))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(StaffSession(token_hash=_token_hash(token), staff_id=account.id, csrf_token=csrf, created_at=now,
                             expires_at=now + SESSION_TTL))
    record_audit(session, actor=account.name, action="login", now=now, target=address)
    session.flush()
    return token, StaffUser(account.id, account.name, account.role, csrf)


def user_for_token(session: Session, token: str | None, now: datetime) -> StaffUser | None:
    """The logged-in user behind a cookie, or None (unknown, expired, or the account was disabled)."""
    if not token or len(token) > 128:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
    if row is None or row.expires_at <= now or not row.staff.enabled:
        return None
    return StaffUser(row.staff.id, row.staff.name, row.staff.role, row.csrf_token)


def logout(session: Session, token: str | None, now: datetime) -> None:
    if token:
        row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _token_hash(token)))
        if row is not None:
            record_audit(session, actor=row.staff.name, action="logout", now=now)
            session.delete(row)


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())
