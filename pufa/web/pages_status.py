"""登录状态: the WeChat login state the bot publishes (pufa.wechaty_runner.StatusFile), and the QR code to scan
when a login is needed, drawn here as an SVG (no outside service sees the login link)."""

import base64
import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from core.settings import Settings
from pufa.web.accounts import StaffUser
from pufa.wechaty_runner import read_status

STATE_LABELS = {
    "disconnected": ("未连接", "机器人没有连上微信网关：请确认网关和机器人（pufa run --transport wechaty）都在运行。"),
    "connecting": ("正在连接", "正在连接微信网关，请稍候。"),
    "waiting_for_scan": ("等待扫码登录", "请用机器人的微信扫描下面的二维码，并在手机上确认登录。"),
    "logged_in": ("已登录", "微信已登录，推送和答疑正常进行。"),
    "logged_out": ("已退出登录", "微信已退出登录：推送暂停，请重新扫码登录。"),
}


def qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    buffer = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def register(app: FastAPI, *, render: Any, settings: Settings, staff: Any) -> None:
    Staff = Annotated[StaffUser, Depends(staff)]

    @app.get("/login-state", response_class=HTMLResponse)
    def login_state(request: Request, user: Staff) -> Response:
        status = read_status(settings.data_dir) or {}
        state = str(status.get("state") or "")
        label, advice = STATE_LABELS.get(state, ("还没有记录", "机器人还没有用真实微信运行过（pufa run --transport wechaty）。"))
        updated = None
        try:
            updated = datetime.fromisoformat(str(status["updated_at"])) if status.get("updated_at") else None
        except ValueError:
            updated = None
        qr = str(status.get("qr_code") or "")
        image = qr_data_uri(qr) if qr and state == "waiting_for_scan" else ""
        return render(request, "login_state.html", user, state=state, label=label, advice=advice, updated=updated,
                      qr_image=image, refresh=state in {"waiting_for_scan", "connecting", "disconnected"})


def register_audit(app: FastAPI, *, render: Any, db: Any, staff: Any) -> None:
    """审计日志: who changed what, when — for administrators."""
    from pufa.web.accounts import recent_audit

    Staff = Annotated[StaffUser, Depends(staff)]

    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request, user: Staff) -> Response:
        if not user.can("admin"):
            return render(request, "error.html", user, status_code=403, error="只有管理员能查看审计日志")
        with db.sessions() as session:
            rows = [{"at": a.at, "actor": a.actor, "action": ACTION_LABELS.get(a.action, a.action), "target": a.target,
                     "detail": a.detail} for a in recent_audit(session, limit=300)]
        return render(request, "audit.html", user, rows=rows)


ACTION_LABELS = {
    "login": "登录", "login.failed": "登录失败", "logout": "退出",
    "staff.add": "添加账号", "staff.enable": "启用账号", "staff.disable": "停用账号", "staff.password": "设新密码",
    "content.add": "新建文章", "content.edit": "修改文章",
    "push.add": "安排推送", "push.cancel": "取消推送", "plan.apply": "应用推荐计划",
    "group.enable": "启用群", "group.disable": "停用群", "group.edit": "修改群信息",
    "outbox.retry": "重发消息", "outbox.cancel": "取消消息",
    "consultation.handle": "咨询已跟进",
}
