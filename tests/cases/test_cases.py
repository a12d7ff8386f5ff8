"""Case files: four sections in order, explainer, the fixed rendered shape."""

from __future__ import annotations

from pathlib import Path

from cases.library import CaseRenderer, load_cases
from content.keydates import load_key_dates
from core.categories import CATEGORIES

GLOBALS = {"bot_name": "普法助手", "sifasuo": "青山镇司法所", "township": "青山镇", "help_line": "12348", "trigger": "普法"}
KEYS = load_key_dates().ids

CASE = """---
slug: case-demo
title: 借钱不还怎么办？
explainer: 律师说法
laws:
  - 民法典
tags: [借贷债务]
key_dates: [civil-code-month]
reviewed: 2026-11-27
---
## 案情

老王借给老李两万元。

## 处理结果

调解后老李分期还款。

## 说法

借钱要还，这是民法典的规定。

## 提醒

借钱写借条，可以到{{ sifasuo }}调解。
"""


def load(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    (tmp_path / "case-demo.md").write_text(text, encoding="utf-8")
    return load_cases(tmp_path, KEYS, CATEGORIES)


def test_a_case_renders_in_the_fixed_shape(tmp_path: Path) -> None:
    cases, problems = load(tmp_path, CASE)
    assert problems == []
    [text] = CaseRenderer(GLOBALS).render(cases[0].title, cases[0].to_data())
    order = ["【以案说法】借钱不还怎么办？", "【案情】", "【结果】", "【律师说法】", "【法条】民法典", "【提醒】"]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "可以到青山镇司法所调解" in text


def test_missing_or_misordered_sections_are_reported_with_their_line(tmp_path: Path) -> None:
    _cases, problems = load(tmp_path, CASE.replace("## 说法\n\n借钱要还，这是民法典的规定。\n\n", ""))
    assert any("缺少 ## 说法" in str(p) for p in problems), problems
    _cases, problems = load(tmp_path, CASE.replace("## 处理结果", "## 结果"))
    assert any(str(p).endswith("（缺少 ## 处理结果）") and ":15:" in str(p) for p in problems), problems
    _cases, problems = load(tmp_path, CASE.replace("## 提醒\n\n借钱写借条，可以到{{ sifasuo }}调解。\n", "## 提醒\n"))
    assert any("## 提醒 一节是空的" in str(p) for p in problems), problems


def test_explainer_and_template_errors(tmp_path: Path) -> None:
    _cases, problems = load(tmp_path, CASE.replace("律师说法", "专家说法"))
    assert any("explainer" in str(p) and ":4:" in str(p) for p in problems)
    _cases, problems = load(tmp_path, CASE.replace("老李分期还款", "老李{{ 分期还款"))
    assert any("## 处理结果 模板错误" in str(p) for p in problems), problems
