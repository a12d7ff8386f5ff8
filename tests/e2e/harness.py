"""End-to-end harness: the Node gateway with the mock WeChat, and the real bot process (`pufa run --transport
wechaty`) against a fresh SQLite database. Tests drive and observe only through the gateway's control API and the
database. Every wait is a poll with a deadline."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
GATEWAY_DIR = ROOT / "gateway"
PUFA = Path(sys.executable).with_name("pufa")
TOKEN = "insecure_pufa_e2e_token"
BOT_ID = "wxid_pufa_bot"
BOT_NAME = "普法助手"
STAFF_ID = "wxid_staff_li"
MENTION = "\u2005"

FIXTURE = {
    "bot": {"id": BOT_ID, "name": BOT_NAME},
    "contacts": [
        {"id": "wxid_zhangsan", "name": "张三"},
        {"id": "wxid_lisi", "name": "李四"},
        {"id": "wxid_wangwu", "name": "王五"},
        {"id": STAFF_ID, "name": "李干部"},
    ],
    "rooms": [
        {"id": "10001@chatroom", "topic": "青山村一组", "members": ["wxid_zhangsan", "wxid_lisi", STAFF_ID]},
        {"id": "10002@chatroom", "topic": "青山村二组", "members": ["wxid_wangwu", STAFF_ID]},
        {"id": "10003@chatroom", "topic": "柳树村三组", "members": ["wxid_zhangsan", STAFF_ID]},
    ],
}
ROOM1, ROOM2, ROOM3 = (r["id"] for r in FIXTURE["rooms"])

T = TypeVar("T")


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all are held open while they are chosen, so the kernel cannot hand the same
    port out twice (a gateway given one port for gRPC and control would never come up)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 20.0, every: float = 0.05) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except Exception as exc:  # not up yet
            last_error = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


@dataclass
class Gateway:
    workdir: Path
    grpc_port: int = 0
    control_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def __post_init__(self) -> None:
        if not (self.grpc_port and self.control_port):
            self.grpc_port, self.control_port = free_ports(2)

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def said_log(self) -> Path:
        return self.workdir / "said.jsonl"

    def start(self) -> None:
        if not (GATEWAY_DIR / "node_modules" / "wechaty-puppet-service").is_dir():
            raise AssertionError("gateway/node_modules is missing: run `make test` (it runs npm ci in gateway/)")
        fixture = self.workdir / "fixture.json"
        fixture.write_text(json.dumps(FIXTURE, ensure_ascii=False), encoding="utf-8")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(self.workdir)),
            "PUFA_GATEWAY_ENDPOINT": self.endpoint,
            "PUFA_GATEWAY_TOKEN": TOKEN,
            "PUFA_GATEWAY_PUPPET": "mock",
            "PUFA_GATEWAY_MOCK_FIXTURE": str(fixture),
            "PUFA_GATEWAY_CONTROL_PORT": str(self.control_port),
            "PUFA_GATEWAY_SAID_LOG": str(self.said_log),
        }
        self.starts += 1
        log = self.workdir / f"gateway-{self.starts}.log"
        with open(log, "wb") as out:  # the child keeps its own copy
            self.process = subprocess.Popen(
                ["node", "gateway.mjs"], cwd=GATEWAY_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            wait_for("the gateway's control API", lambda: self.get("/health").get("ok"), timeout=20)
        except AssertionError as exc:  # say why: the gateway's own output, and whether it exited
            status = self.process.poll()
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise AssertionError(f"{exc}; gateway exit status {status}; its log ends:\n{tail}") from None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    # -- control API -----------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.control_port}{path}", data=data, method=method,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def get(self, path: str) -> dict[str, Any]:
        return self._call("GET", path)

    def say(self, sender: str, room: str, text: str, *, mention_bot: bool = False) -> None:
        if mention_bot:
            text = f"@{BOT_NAME}{MENTION}{text}"
        self._call("POST", "/say", {"from": sender, "room": room, "text": text, "mention_bot": mention_bot})

    def join(self, room: str, contact: str, name: str) -> None:
        self._call("POST", "/join", {"room": room, "contact": contact, "name": name})

    def logged_in(self) -> bool:
        return bool(self.get("/health").get("loggedIn"))

    def said(self, room: str | None = None) -> list[dict[str, Any]]:
        """Everything said, across gateway restarts (the JSON-lines log)."""
        if not self.said_log.exists():
            return []
        rows = [json.loads(line) for line in self.said_log.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [r for r in rows if room is None or r["conversation"] == room]

    def bot_said(self, room: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.said(room) if r["from"] == BOT_ID]


@dataclass
class Bot:
    workdir: Path
    gateway: Gateway
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'pufa.db').as_posix()}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    def env(self) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", str(self.workdir)),
            "PUFA_ENVIRONMENT": "test",
            "PUFA_DATA_DIR": str(self.data_dir),
            "PUFA_HASH_SECRET": "e2e-test-secret",
            "PUFA_BOT_NAME": BOT_NAME,
            "PUFA_WECHATY_ENDPOINT": self.gateway.endpoint,
            "PUFA_WECHATY_TOKEN": TOKEN,
            "PUFA_STAFF_WECHAT_IDS": STAFF_ID,
            "PUFA_WECHATY_WATCHDOG_SECONDS": "3",
            "PUFA_PACING_MIN_SECONDS": "1",
            "PUFA_PACING_MAX_SECONDS": "1.2",
            "PUFA_QUIET_START": "00:00",
            "PUFA_QUIET_END": "00:00",  # no quiet hours, whenever CI runs
        }
        env.update(self.extra_env)
        return env

    def cli(self, *args: str) -> str:
        done = subprocess.run([str(PUFA), *args], cwd=self.workdir, env=self.env(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout.decode(errors="replace")

    def start(self) -> None:
        with open(self.log_path, "ab") as out:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [str(PUFA), "run", "--transport", "wechaty"], cwd=self.workdir, env=self.env(),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self.wait_logged_in(1)

    def log_text(self) -> str:
        path = self.data_dir / "logs" / "pufa.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def logins(self) -> int:
        return self.log_text().count("微信已登录")

    def wait_logged_in(self, times: int, timeout: float = 40) -> None:
        def probe() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log_tail()}")
            return self.logins() >= times and self.gateway.logged_in()

        wait_for(f"the bot to log in through the gateway (login #{times})", probe, timeout=timeout)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        code = self.process.returncode
        self.process = None
        return code

    def log_tail(self, lines: int = 60) -> str:
        text = ""
        for path in (self.log_path, self.data_dir / "logs" / "pufa.log"):
            if path.exists():
                text += f"--- {path.name}\n" + "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        return text
