"""`pufa run --transport wechaty`: the real WeChat through the Wechaty gateway (see gateway/ and the README)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.settings import Settings

log = logging.getLogger(__name__)


STATUS_FILE = "wechat_status.json"


class StatusFile:
    """The WeChat login state (and the QR code while waiting for a scan) in the data directory, rewritten
    atomically on every change, so a status page in another process (the web console) can show it."""

    def __init__(self, path: Path, tz: tzinfo) -> None:
        self.path = path
        self.tz = tz

    def __call__(self, state: str, qr_code: str | None) -> None:
        record = {"state": state, "qr_code": qr_code, "updated_at": datetime.now(self.tz).isoformat()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.path)


def read_status(data_dir: Path) -> dict[str, Any] | None:
    """What the bot last reported: {"state", "qr_code", "updated_at"}, or None before the first run."""
    try:
        return json.loads((data_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_wechaty(settings: Settings, db: Any) -> None:
    from bot.transports.wechaty_transport import WechatyTimings, WechatyTransport
    from pufa.app import build_app

    token = settings.wechaty_token.get_secret_value().strip()
    endpoint = settings.wechaty_endpoint.strip()
    if not token:
        db.dispose()
        raise UserError("没有设置 PUFA_WECHATY_TOKEN：填写与微信网关（gateway）相同的令牌后再启动")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,128}", token):
        db.dispose()
        raise UserError("PUFA_WECHATY_TOKEN 只能用字母、数字、下划线、点和横线（可用 openssl rand -hex 16 生成）")
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit():
        db.dispose()
        raise UserError(f"PUFA_WECHATY_ENDPOINT“{endpoint}”格式不对，应写成 主机:端口，例如 127.0.0.1:8788")
    if not settings.staff_wechat_ids:
        log.warning("PUFA_STAFF_WECHAT_IDS is empty: nobody can use #绑定 and the other staff commands")
    transport = WechatyTransport(
        endpoint=endpoint, token=token, bot_name=settings.bot_name, tz=settings.tz,
        timings=WechatyTimings.for_watchdog(settings.wechaty_watchdog_seconds),
        on_status=StatusFile(settings.data_dir / STATUS_FILE, settings.tz),
    )
    print(f"普法助手正在连接微信网关 {endpoint}……（首次使用请按提示扫码登录，Ctrl+C 退出）", flush=True)
    asyncio.run(build_app(settings, transport, db).run())
