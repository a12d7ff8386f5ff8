from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.kb import load_knowledge_base
from core.categories import CATEGORIES
from core.errors import ValidationProblems

VARS = {"sifasuo": "青山镇司法所", "township": "青山镇", "bot_name": "普法助手", "help_line": "x", "trigger": "普法"}

GOOD = """\
- id: labor-a
  category: 劳动用工
  questions: [老板不给工钱咋办, 欠薪找谁]
  keywords: [工资, 12333]
  laws:
    - law: 劳动合同法
  reviewed: 2026-11-27
  answer: |
    可以到{{ sifasuo }}咨询。
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_every_problem_is_reported_with_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    write(
        tmp_path,
        "b.yaml",
        """\
        - id: labor-a
          category: 劳动用工
          questions: [问法一, 问法二]
          keywords: [工资]
          laws: [{law: 劳动法}]
          reviewed: 2026-11-27
          answer: 好的
        - id: x-unknown
          category: 外星法
          questions: [问法一, 问法二]
          keywords: [工资]
          laws: [{law: 劳动法}]
          reviewed: 2026-11-27
          answer: 好的
        - id: x-missing
          category: 禁毒
          questions: [问法一, 问法二]
          keywords: [毒品]
          laws: [{law: 禁毒法}]
          reviewed: 2026-11-27
        - id: x-template
          category: 禁毒
          questions: [问法一, 问法二]
          keywords: [毒品]
          laws: [{law: 禁毒法, article: 第三百四十七条}]
          reviewed: 2026-11-27
          answer: "{{ no_such_variable }}"
        - id: x-article
          category: 禁毒
          questions: [问法一, 问法二]
          keywords: [毒品]
          laws: [{law: 禁毒法, article: 大概第几条}]
          reviewed: 2026-11-27
          answer: "{% if %}"
        """,
    )
    write(tmp_path, "c.yaml", "- id: [unclosed\n")
    with pytest.raises(ValidationProblems) as info:
        load_knowledge_base(VARS, tmp_path)
    problems = "\n".join(info.value.problems)
    assert "b.yaml:1: id “labor-a” 重复（第一次出现在" in problems and "a.yaml:1" in problems
    assert "b.yaml:8: 未知类别“外星法”" in problems
    assert "b.yaml:15: 缺少 answer" in problems
    assert "b.yaml:21: answer 模板错误" in problems
    assert "b.yaml:28: 法条“大概第几条”格式不对" in problems
    assert "b.yaml:28: answer 模板错误" in problems
    assert "c.yaml:2: YAML 格式错误" in problems
    assert "未加载" in info.value.message


def test_a_good_file_loads_and_renders(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD)
    kb = load_knowledge_base(VARS, tmp_path)
    [entry] = kb.entries
    assert entry.keywords == ("工资", "12333")
    assert entry.render_answer(VARS) == "可以到青山镇司法所咨询。"
    assert entry.source.endswith("a.yaml:1")


def test_shipped_knowledge_base_meets_the_size_and_shape_rules() -> None:
    kb = load_knowledge_base(VARS, min_per_category=8)
    assert len(kb.entries) >= 200
    assert set(kb.by_category()) == set(CATEGORIES)
    for entry in kb.entries:
        answer = entry.render_answer(VARS)
        assert 80 <= len(answer) <= 600, entry.id
        assert "仅供参考" not in answer, f"{entry.id}: the reply template adds the disclaimer"
        for law in entry.laws:
            if law.law.startswith(("治安管理处罚法", "法治宣传教育法")):
                assert law.article is None, f"{entry.id}: cite the revised/new law without article numbers"


@pytest.mark.parametrize("name", ["devset.jsonl", "testset.jsonl"])
def test_training_data_never_copies_the_evaluation_sets(name: str) -> None:
    """The dev and held-out sets measure quality honestly only if none of their lines is used for training."""
    import json

    from bot.matcher import load_chatter

    root = Path(__file__).resolve().parents[2]
    rows = [json.loads(line) for line in (root / "benchmarks/data" / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 350
    kb = load_knowledge_base(VARS)
    training = set(load_chatter()) | {q for e in kb.entries for q in e.questions}
    assert {r["q"] for r in rows} & training == set()


def test_answers_with_and_without_template_syntax_render_the_same_way(tmp_path: Path) -> None:
    plain = GOOD.replace("可以到{{ sifasuo }}咨询。", "可以到司法所咨询。")
    assert plain != GOOD
    write(tmp_path, "a.yaml", plain)
    [entry] = load_knowledge_base(VARS, tmp_path).entries
    assert entry.render_answer(VARS) == "可以到司法所咨询。"
    write(tmp_path, "a.yaml", GOOD)
    [entry] = load_knowledge_base(VARS, tmp_path).entries
    assert entry.render_answer(VARS) == "可以到青山镇司法所咨询。"
