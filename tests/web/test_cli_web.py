"""`pufa staff add|list|disable` and `pufa web --help` as a user runs them."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import pufa


def test_staff_add_reads_password_from_stdin_and_refuses_bad_input(tmp_path: Path) -> None:
    added = pufa("staff", "add", "张三", "--role", "admin", "--password-stdin", cwd=tmp_path, stdin="长长的密码123\n")
    assert added.returncode == 0, added.stderr
    assert "已添加账号 张三（管理员）" in added.stdout
    listed = pufa("staff", "list", cwd=tmp_path)
    assert re.search(r"张三\W+管理员\W+启用\W+从未登录", listed.stdout), listed.stdout
    for args, stdin, expected in [
        (["staff", "add", "张三", "--password-stdin"], "长长的密码123\n", "已经存在"),
        (["staff", "add", "李四", "--password-stdin"], "short\n", "密码至少8位"),
        (["staff", "add", "李四", "--role", "boss", "--password-stdin"], "长长的密码123\n", "角色只能是"),
        (["staff", "disable", "nobody"], "", "找不到账号"),
    ]:
        result = pufa(*args, cwd=tmp_path, stdin=stdin)
        assert result.returncode != 0, args
        assert expected in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert pufa("staff", "disable", "张三", cwd=tmp_path).returncode == 0
    assert re.search(r"张三\W+管理员\W+停用", pufa("staff", "list", cwd=tmp_path).stdout)


def test_web_help_is_in_chinese(tmp_path: Path) -> None:
    result = pufa("web", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "网页控制台" in result.stdout and "--port" in result.stdout
