"""Q&A latency: warm per-question p50/p99 with the shipped knowledge base and a 5,000-entry synthetic one, the
rank_bm25 scorer as a baseline in the same run, and the cold start of `pufa ask`.

Usage: .venv/bin/python benchmarks/qa_latency.py
Targets: p99 <= 2 ms per question (warm, 5,000 entries); cold start of `pufa ask` <= 1.5 s wall.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rank_bm25 import BM25Okapi  # noqa: E402

from bot.kb import KnowledgeBase, load_knowledge_base  # noqa: E402
from bot.matcher import Matcher  # noqa: E402

VARIABLES = {"sifasuo": "青山镇司法所", "township": "青山镇", "bot_name": "普法助手", "help_line": "", "trigger": "普法"}
FILLER = "俺家村里镇上老人孩子房子地钱事情问题邻居亲戚厂里工地路上电话手机网上学校医院集上"


def synthetic(kb: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    rng = random.Random(seed)
    entries = []
    for i in range(size):
        base = kb.entries[i % len(kb.entries)]
        noise = lambda q: q + "".join(rng.choice(FILLER) for _ in range(rng.randint(2, 8)))  # noqa: E731
        entries.append(replace(base, id=f"{base.id}-syn{i}", questions=tuple(noise(q) for q in base.questions)))
    return KnowledgeBase(entries=tuple(entries))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def time_matcher(matcher: Matcher, questions: list[str], rounds: int = 3) -> tuple[float, float]:
    for q in questions[:50]:
        matcher.match(q)  # warm up
    samples = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            matcher.match(q)
            samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def time_rank_bm25(matcher: Matcher, questions: list[str]) -> tuple[float, float]:
    documents = [
        matcher.tokenizer.words(" ".join(e.questions) + " " + " ".join(e.keywords)) for e in matcher.entries
    ]
    index = BM25Okapi(documents)
    samples = []
    for q in questions:
        tokens = matcher.tokenizer.words(q)
        start = time.perf_counter()
        index.get_scores(tokens)
        samples.append((time.perf_counter() - start) * 1000)
    return percentiles(samples)


def cold_start(runs: int = 5) -> tuple[float, float]:
    pufa = ROOT / ".venv" / "bin" / "pufa"
    times = []
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUFA_")}
        env["PUFA_DATA_DIR"] = str(Path(scratch) / "data")
        for _ in range(runs + 1):  # the first run builds jieba's dictionary cache
            start = time.perf_counter()
            subprocess.run([str(pufa), "ask", "干活被欠工钱咋办", "--json"], cwd=scratch, env=env,
                           capture_output=True, check=True)
            times.append(time.perf_counter() - start)
    warm = times[1:]
    return times[0], statistics.median(warm)


def main() -> None:
    rows = [json.loads(line) for line in (ROOT / "benchmarks/data/devset.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [r["q"] for r in rows]
    kb = load_knowledge_base(VARIABLES)
    print(f"load average at start (other work on this machine): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{len(questions)} dev-set questions, 3 rounds each; times in milliseconds per question")
    print(f"{'knowledge base':<28}{'scorer':<34}{'p50':>8}{'p99':>8}")
    for label, base in [(f"shipped ({len(kb.entries)} entries)", kb), ("synthetic (5,000 entries)", synthetic(kb, 5000))]:
        matcher = Matcher(base)
        p50, p99 = time_matcher(matcher, questions)
        print(f"{label:<28}{'普法助手 matcher (full match)':<34}{p50:>8.3f}{p99:>8.3f}")
        b50, b99 = time_rank_bm25(matcher, questions)
        print(f"{label:<28}{'rank_bm25 get_scores only':<34}{b50:>8.3f}{b99:>8.3f}")
    first, warm = cold_start()
    print()
    print(f"cold start of `pufa ask ... --json`: first run {first:.2f} s (builds jieba's and the matcher's caches), "
          f"then median {warm:.2f} s")
    print("targets: p99 <= 2 ms warm with 5,000 entries; cold start <= 1.5 s")
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
