from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from bot.kb import KnowledgeBase, load_knowledge_base
from bot.matcher import Matcher

KB = """\
- id: land-a
  category: 土地房产
  questions: [宅基地纠纷怎么办, 宅基地和邻居吵架]
  keywords: [宅基地, 纠纷]
  laws: [{law: 土地管理法}]
  reviewed: 2026-11-27
  answer: 宅基地边界纠纷可以先找村委会调解。
- id: labor-a
  category: 劳动用工
  questions: [老板不给工钱咋办, 包工头欠薪跑了]
  keywords: [工资, 欠薪]
  laws: [{law: 劳动合同法}]
  reviewed: 2026-11-27
  answer: 可以打12333投诉。
"""


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "kb.yaml").write_text(textwrap.dedent(KB), encoding="utf-8")
    return load_knowledge_base({"sifasuo": "x"}, folder)


def test_the_built_indexes_are_reused_from_the_cache(kb, tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    first = Matcher(kb, cache_dir=cache)
    assert len(list(cache.glob("matcher-*.pickle"))) == 1
    monkeypatch.setattr(Matcher, "_build", lambda self: pytest.fail("rebuilt although the cache was valid"))
    second = Matcher(kb, cache_dir=cache)
    question = "包工头不给工钱跑了咋办"
    assert second.match(question) == first.match(question)


def test_a_changed_knowledge_base_or_a_damaged_cache_is_rebuilt(kb, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    Matcher(kb, cache_dir=cache)
    [old] = cache.glob("matcher-*.pickle")
    changed = KnowledgeBase(entries=(replace(kb.entries[0], questions=(*kb.entries[0].questions, "邻居占了俺家宅基地")), kb.entries[1]))
    Matcher(changed, cache_dir=cache)
    [new] = cache.glob("matcher-*.pickle")
    assert new != old  # one cache file, for the current knowledge base
    new.write_bytes(b"not a pickle")
    rebuilt = Matcher(changed, cache_dir=cache)
    assert rebuilt.match("邻居占了俺家宅基地").category == "土地房产"


def test_a_start_with_a_warm_cache_does_not_load_scikit_learn(kb, tmp_path: Path) -> None:
    """scikit-learn trains the category model only when the cache is rebuilt; `pufa ask` and the bot then score
    with the exported weights (a fresh interpreter, so earlier imports in this test session do not count)."""
    import subprocess
    import sys

    cache = tmp_path / "cache"
    Matcher(kb, cache_dir=cache)
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from bot.kb import load_knowledge_base
        from bot.matcher import Matcher
        kb = load_knowledge_base({{"sifasuo": "x"}}, Path({str(tmp_path / "kb")!r}))
        result = Matcher(kb, cache_dir=Path({str(cache)!r})).match("包工头欠薪跑了")
        print(result.category, "sklearn" in sys.modules)
    """)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["劳动用工", "False"]


def test_a_knowledge_base_with_one_category_still_tells_questions_from_chatter(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "kb.yaml").write_text(textwrap.dedent(KB).split("- id: labor-a")[0], encoding="utf-8")
    matcher = Matcher(load_knowledge_base({"sifasuo": "x"}, folder))  # two classes: 土地房产 and 其他
    assert matcher.match("宅基地和邻居吵架了咋办").category == "土地房产"
    assert matcher.match("今天天气真好啊").category == "其他"
