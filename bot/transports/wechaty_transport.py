"""The WeChat transport through python-wechaty. This is the ONLY module that imports `wechaty`.

python-wechaty talks plain gRPC to a Wechaty puppet-service gateway (gateway/gateway.mjs), which drives a puppet:
a real WeChat protocol in production, the mock puppet in tests. This module translates, nothing else: WeChat events
become `InboundMessage` / `MemberJoined`, and `send_text` reports what happened in a `SendResult`.

What python-wechaty 0.10.7 does not do for us, and this module does:
- Reconnecting. `Wechaty.start()` swallows most failures (a wrong token or a gateway that is not up yet ends it
  silently) and sleeps a fixed 60 s after network errors. We drive the client's steps ourselves, one fresh client per
  connection, with our own short backoff; and we never trust "started": only the login event counts.
- A watchdog: while logged in we `ding` the gateway; if neither a `dong` nor any other event comes back in time, the
  event stream died silently and the client is rebuilt.
- Dedupe by message id, dropping messages older than `max_age_seconds` (a backlog replayed at login), ignoring the
  bot's own messages, and not crashing on message types python-wechaty mis-maps (GroupNote, Post).
- Mentions: `mention_self()` only looks at mention ids, so "@<bot name>" + U+2005 in the text counts too.

Compatibility shim: PyPI wechaty 0.10.7 (the newest) declares a dataclass field whose default is
`wechaty_puppet.schemas.puppet.PuppetOptions()`. Python 3.11's dataclasses reject unhashable (mutable) defaults, so
`import wechaty` raises ValueError unless PuppetOptions is made hashable first. We do that here, once, before the
import; nothing else in the code base may import wechaty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from types import ModuleType
from typing import Any

from core.transport import BaseTransport, ChatInfo, InboundMessage, MemberJoined, MessageCallback, SendResult

log = logging.getLogger(__name__)

RATE_LIMIT_MARKERS = ("操作过于频繁", "频繁", "too frequent", "rate limit")
NOT_SENT_MARKERS = ("not logged in", "未登录", "ConnectionRefused")
BROKEN_MID_CALL_MARKERS = ("StreamTerminated", "Connection lost", "UNAVAILABLE")

# Connection states, also what a status page shows.
DISCONNECTED = "disconnected"
CONNECTING = "connecting"
WAITING_FOR_SCAN = "waiting_for_scan"
LOGGED_IN = "logged_in"
LOGGED_OUT = "logged_out"


def import_wechaty() -> ModuleType:
    from wechaty_puppet.schemas.puppet import PuppetOptions

    if PuppetOptions.__hash__ is None:
        PuppetOptions.__hash__ = object.__hash__  # type: ignore[method-assign,assignment]
    import wechaty

    return wechaty


class _RedactToken(logging.Filter):
    """python-wechaty logs the token it was given ("there are endpoint<…> and token<…>"): never let it through."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "the endpoint will be used for service" in message:
            return False  # printed on every connection, and only to show the token
        if self._token:
            if self._token in message:
                record.msg, record.args = message.replace(self._token, "***"), None
        return True


def _adopt_library_loggers(token: str) -> None:
    """python-wechaty gives each of its loggers its own stderr handler at INFO and stops propagation, so every
    event is printed twice and never reaches our log file. Route them into our logging instead, at WARNING
    (DEBUG when we are verbose), with the token redacted."""
    import wechaty_puppet_service  # noqa: F401 - loaded lazily by wechaty; its loggers must exist now

    level = logging.DEBUG if log.isEnabledFor(logging.DEBUG) else logging.WARNING
    for logger in list(logging.root.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger) or logger.propagate:
            continue
        formats = {getattr(h.formatter, "_fmt", None) for h in logger.handlers}
        if formats == {"%(asctime)s - %(name)s - %(levelname)s - %(message)s"}:
            logger.handlers = []
            logger.propagate = True
            logger.setLevel(level)
            logger.addFilter(_RedactToken(token))


@dataclass(frozen=True)
class WechatyTimings:
    """Every wait in one place, so tests can shorten them."""

    login_timeout: float = 30.0  # connected but neither a login nor a QR code: token or gateway wrong
    watchdog_interval: float = 10.0  # how often a logged-in client pings the gateway
    watchdog_timeout: float = 30.0  # no event at all for this long: the stream died silently
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    send_wait: float = 20.0  # a send waits this long for a (re)login before reporting "not sent"
    rpc_timeout: float = 15.0
    max_age_seconds: float = 60.0

    @classmethod
    def for_watchdog(cls, seconds: float) -> WechatyTimings:
        """Everything scaled from one figure: no event for `seconds` means the stream is dead."""
        return cls(watchdog_interval=seconds / 3, watchdog_timeout=seconds, login_timeout=max(seconds, 5.0),
                   reconnect_max=max(min(seconds, 30.0), 1.0))


def _to_datetime(timestamp: Any) -> datetime:
    """Puppets send seconds or milliseconds."""
    try:
        value = float(timestamp or 0)
    except (TypeError, ValueError):
        value = 0.0
    if value <= 0:
        return datetime.now(UTC)
    if value > 1e11:
        value /= 1000
    return datetime.fromtimestamp(value, UTC)


def classify_send_error(exc: BaseException) -> SendResult:
    """WeChat's "操作过于频繁" is the rate-limit pause. Only errors raised before the request could reach the gateway
    (connection refused, not logged in) are retryable. A connection that broke mid-call is uncertain: the message may
    be in the group already, and a duplicate post is public. Anything else the gateway answered is a failure."""
    text = f"{type(exc).__name__}: {exc}"
    detail = getattr(exc, "message", None)
    if detail:
        text += f" {detail}"
    if any(marker in text for marker in RATE_LIMIT_MARKERS):
        return SendResult(delivered=False, error="微信提示操作过于频繁", rate_limited=True)
    if isinstance(exc, ConnectionRefusedError) or any(marker in text for marker in NOT_SENT_MARKERS):
        return SendResult(delivered=False, error=f"与微信网关的连接不可用（{type(exc).__name__}）", retryable=True)
    if isinstance(exc, ConnectionError | OSError) or any(marker in text for marker in BROKEN_MID_CALL_MARKERS):
        return SendResult(delivered=False, uncertain=True,
                          error=f"发送途中与微信网关断开（{type(exc).__name__}），无法确定是否已发出，请人工确认")
    return SendResult(delivered=False, error=f"微信发送失败（{type(exc).__name__}）")


class _SeenIds:
    """Bounded memory of message ids already handled (gateways sometimes deliver one message twice)."""

    def __init__(self, size: int = 5000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, message_id: str) -> bool:
        if message_id in self._ids:
            return False
        self._ids[message_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class WechatyTransport(BaseTransport):
    name = "wechaty"

    def __init__(
        self,
        *,
        endpoint: str,
        token: str,
        bot_name: str,
        tz: tzinfo,
        timings: WechatyTimings | None = None,
        show_qr: Callable[[str], None] | None = None,
        on_status: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self._token = token
        self.bot_name = bot_name
        self.tz = tz
        self.timings = timings or WechatyTimings()
        self._show_qr = show_qr
        self._on_status = on_status  # (state, QR code or None): for a status page in another process
        self._wechaty: ModuleType | None = None
        self._client: Any = None
        self._on_message: MessageCallback | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._logged_in = asyncio.Event()
        self._last_event = time.monotonic()
        self._seen = _SeenIds()
        self.state = DISCONNECTED
        self.self_id: str | None = None
        self.self_name: str | None = None
        self.last_qr: str | None = None
        self.logins = 0
        self.connections = 0

    def __repr__(self) -> str:  # never show the token
        return f"WechatyTransport(endpoint={self.endpoint!r}, state={self.state!r})"

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, on_message: MessageCallback) -> None:
        if not self._token:
            raise ConnectionError("PUFA_WECHATY_TOKEN is empty")
        self._wechaty = import_wechaty()
        _adopt_library_loggers(self._token)
        self._on_message = on_message
        self._stopping.clear()
        self._supervisor = asyncio.create_task(self._supervise(), name="wechaty-supervisor")

    async def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._supervisor
            self._supervisor = None
        await self._close_client()
        self._set_state(DISCONNECTED)

    async def wait_logged_in(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._logged_in.wait(), timeout)
        except TimeoutError:
            return False
        return True

    @property
    def logged_in(self) -> bool:
        return self._logged_in.is_set()

    @property
    def ready(self) -> bool:
        return self.logged_in

    def _set_state(self, state: str) -> None:
        changed = state != self.state
        if changed:
            log.info("wechaty state: %s -> %s", self.state, state)
            self.state = state
        if state == LOGGED_IN:
            self._logged_in.set()
        else:
            self._logged_in.clear()
        if changed:
            self._report_status()

    def _report_status(self) -> None:
        if self._on_status is None:
            return
        try:
            self._on_status(self.state, self.last_qr if self.state != LOGGED_IN else None)
        except Exception:
            log.warning("status callback failed", exc_info=True)

    # -- connection supervision ------------------------------------------------------------------
    async def _supervise(self) -> None:
        delay = self.timings.reconnect_min
        while not self._stopping.is_set():
            logins_before = self.logins
            self._set_state(CONNECTING)
            self.connections += 1
            run = asyncio.create_task(self._run_client(), name="wechaty-client")
            watch = asyncio.create_task(self._watchdog(), name="wechaty-watchdog")
            try:
                done, _ = await asyncio.wait({run, watch}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (run, watch):
                    task.cancel()
                for task in (run, watch):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            reason = "stopped"
            if run in done and not run.cancelled():
                error = run.exception()
                reason = f"event stream ended ({type(error).__name__}: {error})" if error else "event stream ended"
            elif watch in done and not watch.cancelled():
                reason = watch.result() or "watchdog"
            await self._close_client()
            self._set_state(DISCONNECTED)
            if self._stopping.is_set():
                break
            reason = reason.replace(self._token, "***")  # the gateway echoes a rejected token
            if "UNAUTHENTICATED" in reason:
                log.error("微信网关拒绝了令牌：请检查 PUFA_WECHATY_TOKEN 与网关的 PUFA_GATEWAY_TOKEN 是否一致")
            if self.logins > logins_before:
                delay = self.timings.reconnect_min
            log.warning("wechaty connection lost (%s); reconnecting in %.1fs", reason, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, self.timings.reconnect_max)

    def _new_client(self) -> Any:
        assert self._wechaty is not None
        from wechaty_puppet.schemas.puppet import PuppetOptions

        wechaty = self._wechaty
        transport = self

        class _Client(wechaty.Wechaty):  # type: ignore[name-defined,misc]
            async def on_login(self, contact: Any) -> None:
                await transport._handle_login(contact)

            async def on_logout(self, contact: Any) -> None:
                transport._handle_logout()

            async def on_scan(self, qr_code: str, status: Any, data: Any = None) -> None:
                transport._handle_scan(qr_code, status)

            async def on_message(self, msg: Any) -> None:
                await transport._handle_message(msg)

            async def on_room_join(self, room: Any, invitees: Any, inviter: Any, date: Any) -> None:
                await transport._handle_join(room, invitees)

            async def on_heartbeat(self, payload: Any) -> None:
                transport._touch()

            async def on_error(self, payload: Any) -> None:
                log.warning("gateway reported an error: %s", payload)

        options = wechaty.WechatyOptions(
            puppet="wechaty-puppet-service",
            puppet_options=PuppetOptions(end_point=self.endpoint, token=self._token),
        )
        client = _Client(options)
        client.on("dong", lambda *_args: self._touch())

        async def no_plugins() -> None:  # we use no plugins: skip the plugin web server and its scheduler
            return None

        client._plugin_manager.start = no_plugins
        return client

    async def _run_client(self) -> None:
        """Wechaty.start() without its blanket except/sleep(60): errors reach the supervisor."""
        self._client = client = self._new_client()
        self._touch()
        await client.init_puppet()
        await client.init_puppet_event_bridge(client.puppet)
        await client.puppet.start()  # returns or raises when the event stream ends

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        puppet = client._puppet
        if puppet is None:
            return
        # Only drop our side: no stop RPC, which would hang on a frozen gateway (the next client's start()
        # restarts the puppet anyway).
        with contextlib.suppress(Exception):
            puppet._event_stream.remove_all_listeners()
        with contextlib.suppress(Exception):
            if puppet.channel is not None:
                puppet.channel.close()
                puppet.channel = None

    def _touch(self) -> None:
        self._last_event = time.monotonic()

    async def _watchdog(self) -> str:
        t = self.timings
        started = time.monotonic()
        while True:
            await asyncio.sleep(t.watchdog_interval)
            now = time.monotonic()
            if self.state == CONNECTING:
                if now - started > t.login_timeout:
                    log.error("已连上微信网关但没有收到登录事件：请检查 PUFA_WECHATY_TOKEN 与网关的令牌是否一致、网关是否正常")
                    return "no login event"
                continue
            if self.state in (WAITING_FOR_SCAN, LOGGED_OUT):
                continue  # a person has to scan; the puppet keeps sending fresh QR codes
            client = self._client
            if client is not None and client._puppet is not None:
                try:  # the gateway answers with a `dong` on the event stream, which touches _last_event
                    await asyncio.wait_for(client.puppet.ding("pufa-watchdog"), t.watchdog_interval)
                except TimeoutError:
                    pass  # a hung gateway: the silence check below decides
                except Exception as exc:  # the gateway is gone
                    return f"ding failed ({type(exc).__name__})"
            if time.monotonic() - self._last_event > t.watchdog_timeout:
                return "no events from the gateway"

    # -- events ----------------------------------------------------------------------------------
    async def _handle_login(self, contact: Any) -> None:
        self._touch()
        self.self_id = getattr(contact, "contact_id", None)
        self.self_name = getattr(getattr(contact, "payload", None), "name", None) or None
        self.last_qr = None
        self.logins += 1
        self._set_state(LOGGED_IN)
        log.info("微信已登录（第%d次）", self.logins)

    def _handle_logout(self) -> None:
        self._touch()
        self._set_state(LOGGED_OUT)
        log.error("微信账号已退出登录：请在网关终端或本机日志里找到新的二维码，用本镇普法微信号扫码重新登录")

    def _handle_scan(self, qr_code: str, status: Any) -> None:
        self._touch()
        if self.state != LOGGED_IN:
            self._set_state(WAITING_FOR_SCAN)
        if not qr_code or qr_code == self.last_qr:
            return
        self.last_qr = qr_code
        self._report_status()
        log.warning("请用本镇普法微信号扫码登录（状态 %s）", status)
        if self._show_qr is not None:
            self._show_qr(qr_code)
            return
        try:
            from wechaty.utils.qrcode_terminal import qr_terminal_str

            print(qr_terminal_str(qr_code), flush=True)
        except Exception:
            print(f"扫码登录：{qr_code}", flush=True)

    def _mentioned_in_text(self, text: str) -> bool:
        for name in {self.bot_name, self.self_name}:
            if name and re.search(rf"@{re.escape(name)}(?:[\s\u2005\u3000]|$)", text):
                return True
        return False

    async def _handle_message(self, msg: Any) -> None:
        """Translate one message; never raises (a bad message must not take the bot down)."""
        self._touch()
        try:
            message = await self._translate(msg)
        except Exception:
            log.warning("could not read message %s", getattr(msg, "message_id", "?"), exc_info=True)
            return
        if message is None or self._on_message is None:
            return
        await self._on_message(message)

    async def _translate(self, msg: Any) -> InboundMessage | None:
        assert self._wechaty is not None
        message_id = str(msg.message_id)
        if not self._seen.first_time(message_id):
            return None
        payload = msg.payload
        if payload is None:
            return None
        talker_id = getattr(payload, "talker_id", None) or getattr(payload, "from_id", None) or ""
        if not talker_id or talker_id == self.self_id:
            return None  # our own messages come back as events
        try:
            kind = msg.type()
        except Exception:  # GroupNote/Post are mis-mapped in python-wechaty: not text, ignore
            return None
        if kind != self._wechaty.MessageType.MESSAGE_TYPE_TEXT:
            return None
        received = _to_datetime(getattr(payload, "timestamp", 0))
        if (datetime.now(UTC) - received).total_seconds() > self.timings.max_age_seconds:
            log.info("dropping message %s: older than %ss", message_id, self.timings.max_age_seconds)
            return None
        text = payload.text or ""
        talker = msg.talker()
        sender_name = (getattr(talker.payload, "name", None) if talker.payload else None) or talker_id
        room_id = getattr(payload, "room_id", None) or ""
        if room_id:
            room = msg.room()
            if room is not None and room.payload is None:
                await asyncio.wait_for(room.ready(), self.timings.rpc_timeout)
            topic = (room.payload.topic if room is not None and room.payload else "") or room_id
            mention_ids = list(getattr(payload, "mention_ids", None) or [])
            mentions_me = bool(self.self_id and self.self_id in mention_ids) or self._mentioned_in_text(text)
            return InboundMessage(
                message_id=message_id, chat_id=room_id, chat_name=topic, sender_id=talker_id,
                sender_name=sender_name, text=text, is_group=True, mentions_me=mentions_me,
                received_at=received.astimezone(self.tz),
            )
        return InboundMessage(
            message_id=message_id, chat_id=talker_id, chat_name=sender_name, sender_id=talker_id,
            sender_name=sender_name, text=text, is_group=False, mentions_me=True,
            received_at=received.astimezone(self.tz),
        )

    async def _handle_join(self, room: Any, invitees: Sequence[Any]) -> None:
        self._touch()
        callback = self.join_callback
        if callback is None:
            return
        try:
            joined = [c for c in invitees if getattr(c, "contact_id", None) != self.self_id]
            if not joined:
                return  # the bot itself was invited: nothing to welcome
            topic = (room.payload.topic if room.payload else "") or room.room_id
            event = MemberJoined(
                chat_id=room.room_id,
                chat_name=topic,
                member_ids=tuple(c.contact_id for c in joined),
                member_names=tuple((c.payload.name if c.payload else "") or c.contact_id for c in joined),
                joined_at=datetime.now(self.tz),
            )
        except Exception:
            log.warning("could not read a room-join event", exc_info=True)
            return
        await callback(event)

    # -- sending and room facts ------------------------------------------------------------------
    async def send_text(self, chat_id: str, text: str, mention_ids: Sequence[str] = ()) -> SendResult:
        if not self.logged_in and not await self.wait_logged_in(self.timings.send_wait):
            return SendResult(delivered=False, error="微信未登录或与网关断开，消息没有发出", retryable=True)
        client = self._client
        if client is None or client._puppet is None:
            return SendResult(delivered=False, error="与微信网关断开，消息没有发出", retryable=True)
        try:
            platform_id = await asyncio.wait_for(
                client.puppet.message_send_text(chat_id, text, list(mention_ids) or None), self.timings.rpc_timeout
            )
        except TimeoutError:
            return SendResult(delivered=False, uncertain=True, error="发送超时，无法确定是否已发出，请人工确认")
        except Exception as exc:
            result = classify_send_error(exc)
            log.warning("send to %s failed: %s", chat_id, result.error)
            return result
        return SendResult(delivered=True, platform_id=str(platform_id) if platform_id else None)

    async def chat_info(self, chat_id: str) -> ChatInfo | None:
        """Name and member count, asked fresh from the gateway (cached room payloads go stale)."""
        if "@" not in chat_id:
            return None  # not a room
        if not self.logged_in and not await self.wait_logged_in(self.timings.send_wait):
            return None
        client = self._client
        if client is None:
            return None
        try:
            puppet = client.puppet
            members = await asyncio.wait_for(puppet.room_members(chat_id), self.timings.rpc_timeout)
            payload = await asyncio.wait_for(puppet.room_payload(chat_id), self.timings.rpc_timeout)
        except Exception:
            log.warning("chat_info failed for %s", chat_id, exc_info=True)
            return None
        return ChatInfo(chat_id=chat_id, name=getattr(payload, "topic", "") or chat_id, member_count=len(members))
