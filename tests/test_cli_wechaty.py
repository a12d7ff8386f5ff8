"""`pufa run --transport wechaty` refuses bad gateway settings with one Chinese line (the e2e tests run it for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_cli import pufa


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "错误：没有设置 PUFA_WECHATY_TOKEN：填写与微信网关（gateway）相同的令牌后再启动"),
        ({"PUFA_WECHATY_TOKEN": "has space"},
         "错误：PUFA_WECHATY_TOKEN 只能用字母、数字、下划线、点和横线（可用 openssl rand -hex 16 生成）"),
        ({"PUFA_WECHATY_TOKEN": "t", "PUFA_WECHATY_ENDPOINT": "localhost"},
         "错误：PUFA_WECHATY_ENDPOINT“localhost”格式不对，应写成 主机:端口，例如 127.0.0.1:8788"),
    ],
)
def test_wechaty_run_refuses_missing_token_or_bad_endpoint(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    result = pufa("run", "--transport", "wechaty", cwd=tmp_path, env={"PUFA_DATA_DIR": str(tmp_path / "data"), **env})
    assert result.returncode != 0
    assert result.stderr.strip() == expected
    assert "Traceback" not in result.stderr + result.stdout
