"""The real chain, measured: Node gateway (mock WeChat) ↔ gRPC ↔ the bot process (`pufa run --transport wechaty`).

Usage: .venv/bin/python benchmarks/wechaty_roundtrip.py [ROUNDS]   (needs gateway/node_modules: `make gateway`)
Figures: gateway start-up, bot start-up to login, @-question → answer round trip (p50/p95/max over ROUNDS, default
100, answered by the full pipeline with the knowledge base and a consultation written to SQLite), reconnect time after
the gateway is killed and started again, and duplicates (must be 0).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import register  # noqa: E402
from tests.e2e.harness import ROOM1, Bot, Gateway, wait_for  # noqa: E402

QUESTIONS = ["老板欠我工资不给怎么办", "邻居占了我家宅基地怎么办", "离婚了孩子归谁", "借钱不还怎么起诉", "网购买到假货怎么退"]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        gateway = Gateway(work)
        bot = Bot(work, gateway)
        try:
            t0 = time.monotonic()
            gateway.start()
            gateway_up = time.monotonic() - t0
            bot.cli("init")
            register(bot, ROOM1, "青山村一组", "青山村")
            t0 = time.monotonic()
            bot.start()
            bot_login = time.monotonic() - t0
            latencies = []
            for i in range(rounds):
                sender = f"wxid_bench_{i}"
                t0 = time.monotonic()
                gateway._call("POST", "/say", {"from": sender, "name": f"村民{i}", "room": ROOM1,
                                               "text": f"@普法助手\u2005{QUESTIONS[i % len(QUESTIONS)]}",
                                               "mention_bot": True})
                wait_for("an answer", lambda s=sender: [m for m in gateway.get(f"/messages?room={ROOM1}")["messages"]
                                                        if s in m["mentions"]], timeout=20, every=0.002)
                latencies.append((time.monotonic() - t0) * 1000)
            gateway.kill()
            t0 = time.monotonic()
            gateway.start()
            bot.wait_logged_in(2, timeout=60)
            reconnect = time.monotonic() - t0
            answers = [m for m in gateway.bot_said(ROOM1) if m["mentions"]]
            duplicates = len(answers) - len({tuple(m["mentions"]) for m in answers})
        finally:
            bot.stop()
            gateway.stop()
    latencies.sort()
    print(f"gateway start-up (control API answering): {gateway_up:.2f} s")
    print(f"bot process start to WeChat login:        {bot_login:.2f} s")
    print(f"@-question -> answer round trip, {rounds} rounds (includes the 2 ms polling step):")
    print(f"  p50 {statistics.median(latencies):.1f} ms  p95 {latencies[int(0.95 * (len(latencies) - 1))]:.1f} ms"
          f"  max {latencies[-1]:.1f} ms")
    print(f"reconnect after gateway kill + restart:   {reconnect:.2f} s (gateway start included)")
    print(f"answers {len(answers)} for {rounds} questions, duplicates {duplicates}")


if __name__ == "__main__":
    main()
