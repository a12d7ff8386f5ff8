"""Q&A quality on the independent dev set, against two baselines in the same run.

Usage: .venv/bin/python benchmarks/qa_quality.py [--errors]
Dev set: benchmarks/data/devset.jsonl, written separately from the knowledge base (colloquial questions with expected
categories, plus ordinary group chatter labelled 其他). Metrics:
- category accuracy on legal questions (a declined legal question counts as wrong);
- share of chatter correctly declined (category 其他).
Baselines: exact/substring keyword matching (how WeChat keyword-reply plugins work) and plain BM25 (rank_bm25) over
jieba's default tokens, without our dictionary, synonyms or classifier.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import jieba
from rank_bm25 import BM25Okapi

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.kb import load_knowledge_base  # noqa: E402
from bot.matcher import Matcher  # noqa: E402
from core.categories import OTHER  # noqa: E402

VARIABLES = {"sifasuo": "青山镇司法所", "township": "青山镇", "bot_name": "普法助手", "help_line": "", "trigger": "普法"}


def keyword_baseline(kb):
    def classify(question: str) -> str:
        best, best_hits = OTHER, 0
        for entry in kb.entries:
            hits = sum(1 for k in entry.keywords if k in question)
            if hits > best_hits:
                best, best_hits = entry.category, hits
        return best

    return classify


def plain_bm25_baseline(kb):
    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    docs = [tokenizer.lcut(" ".join(e.questions) + " " + " ".join(e.keywords)) for e in kb.entries]
    index = BM25Okapi(docs)

    def classify(question: str) -> str:
        scores = index.get_scores(tokenizer.lcut(question))
        best = max(range(len(scores)), key=scores.__getitem__)
        return kb.entries[best].category if scores[best] > 0 else OTHER

    return classify


def ours(kb):
    matcher = Matcher(kb)
    return lambda question: matcher.match(question).category


def evaluate(classify, rows):
    legal = [r for r in rows if r["category"] != OTHER]
    chatter = [r for r in rows if r["category"] == OTHER]
    legal_ok = sum(classify(r["q"]) == r["category"] for r in legal)
    chatter_ok = sum(classify(r["q"]) == OTHER for r in chatter)
    return legal_ok / len(legal), chatter_ok / len(chatter)


def main() -> None:
    rows = [json.loads(line) for line in (ROOT / "benchmarks/data/devset.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    kb = load_knowledge_base(VARIABLES)
    counts = Counter(r["category"] for r in rows)
    print(f"dev set: {sum(v for k, v in counts.items() if k != OTHER)} legal questions in {len(counts) - 1} categories, {counts[OTHER]} chatter lines")
    print(f"knowledge base: {len(kb.entries)} entries, {sum(len(e.questions) for e in kb.entries)} phrasings")
    print()
    print(f"{'system':<42}{'legal category accuracy':>26}{'chatter declined':>20}")
    for name, factory in [
        ("keyword substring baseline", keyword_baseline),
        ("plain BM25 (rank_bm25, jieba default)", plain_bm25_baseline),
        ("普法助手 matcher", ours),
    ]:
        accuracy, declined = evaluate(factory(kb), rows)
        print(f"{name:<42}{accuracy:>25.1%}{declined:>20.1%}")
    print()
    print("targets: legal category accuracy >= 90%, chatter declined >= 90%")
    if "--errors" in sys.argv:
        classify = ours(kb)
        for r in rows:
            got = classify(r["q"])
            if got != r["category"]:
                print(f"  expected {r['category']}, got {got}: {r['q']}")


if __name__ == "__main__":
    main()
