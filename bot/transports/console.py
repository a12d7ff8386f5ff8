"""The embedded default transport: the terminal plays one or more village WeChat groups.

Each stdin line is a message from the current villager in the current group. Commands:
  /as 张三      switch the sender          /group 二组   switch the group
  /private     talk to the bot privately   /groups       list the groups
  /help        list these commands
At end of input every line has been handled; `wait_closed()` returns so the app can finish and exit 0.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sys
import threading
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TextIO

from core.transport import BaseTransport, ChatInfo, InboundMessage, MessageCallback, SendResult

HELP = """控制台模拟器命令：
  /as 名字      切换发言的村民，例如 /as 张三
  /group 群名   切换到另一个村群，例如 /group 二组
  /private     切换为与机器人私聊
  /groups      列出已知的群
  /help        显示本帮助
其他输入都当作当前村民在当前群里发的消息；@{bot} 加问题即可向机器人提问。"""


class ConsoleTransport(BaseTransport):
    name = "console"

    def __init__(
        self,
        *,
        bot_name: str,
        tz: tzinfo,
        groups: Sequence[tuple[str, str, int | None]] = (),
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        sender: str = "村民甲",
    ) -> None:
        self.bot_name = bot_name
        self.tz = tz
        self._in = stdin or sys.stdin
        self._out = stdout or sys.stdout
        self._groups: dict[str, tuple[str, int | None]] = {cid: (name, count) for cid, name, count in groups}
        self._by_name = {name: cid for cid, (name, _count) in self._groups.items()}
        first = next(iter(self._groups), None)
        self._chat_id = first or self._chat_id_for("一组")
        self._private = False
        self._sender = sender
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[str | None] | None = None
        self._consumer: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()
        self._mention = re.compile(rf"@{re.escape(bot_name)}(?:[\s\u2005\u3000]|$)")

    # -- helpers ---------------------------------------------------------------------------------
    def _chat_id_for(self, name: str) -> str:
        if name in self._by_name:
            return self._by_name[name]
        chat_id = f"console-{name}@chatroom"
        self._groups[chat_id] = (name, None)
        self._by_name[name] = chat_id
        return chat_id

    def _sender_id(self) -> str:
        return f"wxid_console_{self._sender}"

    def _print(self, line: str) -> None:
        print(line, file=self._out, flush=True)

    def _now(self) -> datetime:
        return datetime.now(self.tz)

    def _where(self) -> str:
        return "私聊" if self._private else f"群【{self._groups[self._chat_id][0]}】"

    # -- BaseTransport ---------------------------------------------------------------------------
    async def start(self, on_message: MessageCallback) -> None:
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        queue = self._queue

        def read() -> None:
            for raw in iter(self._in.readline, ""):
                loop.call_soon_threadsafe(queue.put_nowait, raw)
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        self._consumer = asyncio.create_task(self._consume(on_message))
        self._print(f"普法助手控制台模拟器：当前在{self._where()}，发言人【{self._sender}】。输入 /help 查看命令。")

    async def _consume(self, on_message: MessageCallback) -> None:
        assert self._queue is not None
        try:
            while True:
                raw = await self._queue.get()
                if raw is None:
                    break
                line = raw.rstrip("\n")
                if not line.strip():
                    continue
                if line.startswith("/") and self._command(line):
                    continue
                await on_message(self._message(line))
        finally:
            self._closed.set()

    def _command(self, line: str) -> bool:
        command, _, arg = line.strip().partition(" ")
        arg = arg.strip()
        if command == "/help":
            self._print(HELP.format(bot=self.bot_name))
        elif command == "/as" and arg:
            self._sender = arg[:32]
            self._print(f"（现在发言的是【{self._sender}】）")
        elif command == "/group" and arg:
            self._private = False
            self._chat_id = self._chat_id_for(arg[:32])
            self._print(f"（已切换到群【{arg[:32]}】）")
        elif command == "/private":
            self._private = True
            self._print("（现在是与机器人私聊）")
        elif command == "/groups":
            names = "、".join(name for name, _count in self._groups.values()) or "（无）"
            self._print(f"（已知的群：{names}）")
        else:
            return False  # not a simulator command: treat as a chat line
        return True

    def _message(self, text: str) -> InboundMessage:
        number = next(self._ids)
        if self._private:
            chat_id, chat_name, is_group = self._sender_id(), self._sender, False
        else:
            chat_id, chat_name, is_group = self._chat_id, self._groups[self._chat_id][0], True
        return InboundMessage(
            message_id=f"console-{number}",
            chat_id=chat_id,
            chat_name=chat_name,
            sender_id=self._sender_id(),
            sender_name=self._sender,
            text=text,
            is_group=is_group,
            mentions_me=bool(self._mention.search(text)),
            received_at=self._now(),
        )

    async def send_text(self, chat_id: str, text: str, mention_ids: Sequence[str] = ()) -> SendResult:
        if chat_id in self._groups:
            where = f"群【{self._groups[chat_id][0]}】"
        else:
            where = "私聊"
        stamp = self._now().strftime("%m-%d %H:%M")
        self._print(f"[{stamp}] {where} {self.bot_name}：\n{text}\n")
        return SendResult(delivered=True, platform_id=f"console-out-{next(self._ids)}")

    async def chat_info(self, chat_id: str) -> ChatInfo | None:
        if chat_id not in self._groups:
            return None
        name, count = self._groups[chat_id]
        return ChatInfo(chat_id=chat_id, name=name, member_count=count)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def stop(self) -> None:
        if self._consumer is not None and not self._consumer.done():
            self._consumer.cancel()
            try:
                await self._consumer
            except asyncio.CancelledError:
                pass
        self._closed.set()
