"""Imports point one way: core ← content/cases ← scheduler/bot/reports ← pufa (composition root).

Also: `wechaty` is imported in exactly one module, and transports import only the message types from core.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {
    "core": 0,
    "content": 1,
    "cases": 1,
    "scheduler": 2,
    "bot": 2,
    "reports": 2,
    "pufa": 3,
}
PRODUCT = set(LAYERS)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules():
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts and path.name != "env.py":
                continue
            yield package, path


def test_imports_point_one_way() -> None:
    problems = []
    for package, path in _modules():
        for name in _imports(path):
            top = name.split(".")[0]
            if top not in PRODUCT or top == package:
                continue
            if LAYERS[top] >= LAYERS[package]:
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert problems == []


def test_wechaty_is_imported_in_exactly_one_module() -> None:
    importers = [
        path.relative_to(ROOT).as_posix()
        for _package, path in _modules()
        if any(name == "wechaty" or name.startswith("wechaty.") for name in _imports(path))
    ]
    assert importers == ["bot/transports/wechaty_transport.py"]


def test_transports_import_only_message_types_from_the_product() -> None:
    for path in (ROOT / "bot" / "transports").glob("*.py"):
        product = [n for n in _imports(path) if n.split(".")[0] in PRODUCT]
        assert set(product) <= {"core.transport"}, f"{path.name}: {product}"


def test_wechaty_dependency_installs_and_imports() -> None:
    from bot.transports.wechaty_transport import import_wechaty

    wechaty = import_wechaty()
    assert hasattr(wechaty, "Wechaty")
