"""知识库: the test box shows category, match, score and the reply; browsing lists a category's entries."""

from __future__ import annotations


def test_kb_test_box_and_browse(admin) -> None:  # type: ignore[no-untyped-def]
    page = admin.get("/kb", params={"q": "老板拖欠工资不给怎么办"})
    assert page.status_code == 200
    assert 'data-testid="kb-category">劳动用工<' in page.text
    assert "仅供参考" in page.text  # the reply as the bot would send it
    assert "12348" in page.text
    chatter = admin.get("/kb", params={"q": "今天天气不错<b>"})
    assert chatter.status_code == 200 and "今天天气不错&lt;b&gt;" in chatter.text
    browse = admin.get("/kb", params={"category": "禁毒"})
    assert "典型问法" in browse.text and "bot/kb/drugs.yaml" in browse.text
