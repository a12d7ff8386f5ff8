"""The Q&A categories, with exactly these names: shared by the knowledge base, the content library and reports."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "婚姻家庭",
    "继承赡养",
    "土地房产",
    "借贷债务",
    "劳动用工",
    "交通事故",
    "侵权纠纷",
    "消费合同",
    "禁毒",
    "反诈骗",
    "刑事治安",
    "未成年人",
    "社保行政",
    "宪法法治",
    "法律援助",
)
OTHER = "其他"  # anything that is not a legal question
ALL_CATEGORIES: tuple[str, ...] = (*CATEGORIES, OTHER)
