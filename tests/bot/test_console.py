from __future__ import annotations

import asyncio
import io
from zoneinfo import ZoneInfo

from bot.transports.console import ConsoleTransport


def test_console_turns_lines_into_messages_and_commands_switch_sender_and_group() -> None:
    received = []
    stdin = io.StringIO("@普法助手 你好\n/as 李四\n/group 二组\n闲聊一句\n/private\n私聊问题\n")
    stdout = io.StringIO()
    transport = ConsoleTransport(
        bot_name="普法助手",
        tz=ZoneInfo("Asia/Shanghai"),
        groups=[("c1@chatroom", "一组", 10), ("c2@chatroom", "二组", 20)],
        stdin=stdin,
        stdout=stdout,
    )

    async def on_message(message) -> None:
        received.append(message)
        await transport.send_text(message.chat_id, f"回声：{message.text}")

    async def main() -> None:
        await transport.start(on_message)
        await asyncio.wait_for(transport.wait_closed(), 5)
        await transport.stop()

    asyncio.run(main())
    first, second, third = received
    assert (first.chat_id, first.sender_name, first.mentions_me, first.is_group) == ("c1@chatroom", "村民甲", True, True)
    assert (second.chat_id, second.sender_name, second.mentions_me) == ("c2@chatroom", "李四", False)
    assert third.is_group is False and third.chat_id == third.sender_id
    assert first.received_at.tzinfo is not None
    printed = stdout.getvalue()
    assert "群【一组】 普法助手：\n回声：@普法助手 你好" in printed
    assert "群【二组】 普法助手：\n回声：闲聊一句" in printed
    assert "私聊 普法助手：\n回声：私聊问题" in printed
