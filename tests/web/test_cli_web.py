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
    only_admin = pufa("staff", "disable", "张三", cwd=tmp_path)
    assert only_admin.returncode != 0 and "唯一启用的管理员" in only_admin.stderr  # nobody could log in to fix it
    assert pufa("staff", "add", "王五", "--role", "admin", "--password-stdin", cwd=tmp_path,
                stdin="另一个长密码456\n").returncode == 0
    assert pufa("staff", "disable", "张三", cwd=tmp_path).returncode == 0
    assert re.search(r"张三\W+管理员\W+停用", pufa("staff", "list", cwd=tmp_path).stdout)
    # A forgotten password: a new one from the command line.
    reset = pufa("staff", "password", "王五", "--password-stdin", cwd=tmp_path, stdin="新设的密码789\n")
    assert reset.returncode == 0 and "已给账号 王五 设新密码" in reset.stdout
    short = pufa("staff", "password", "王五", "--password-stdin", cwd=tmp_path, stdin="short\n")
    assert short.returncode != 0 and "密码至少8位" in short.stderr and len(short.stderr.strip().splitlines()) == 1
    unknown = pufa("staff", "password", "nobody", "--password-stdin", cwd=tmp_path, stdin="新设的密码789\n")
    assert unknown.returncode != 0 and "找不到账号" in unknown.stderr


def test_web_help_is_in_chinese(tmp_path: Path) -> None:
    result = pufa("web", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "网页控制台" in result.stdout and "--port" in result.stdout


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pufa_run_serves_the_console_next_to_the_bot(tmp_path: Path) -> None:
    import os
    import socket
    import subprocess
    import urllib.request

    from tests.test_cli import PUFA

    assert pufa("init", "--demo", cwd=tmp_path).returncode == 0
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUFA_") and k != "DATABASE_URL"}
    env["PUFA_WEB_PORT"] = str(port)
    process = subprocess.Popen([*PUFA, "run"], cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline()  # type: ignore[union-attr]
        assert first.strip() == f"网页控制台：http://127.0.0.1:{port}"
        # No account yet: a one-time first-run link, shown in this terminal only.
        second = process.stdout.readline()  # type: ignore[union-attr]
        link = re.search(r"(http://127\.0\.0\.1:\d+/setup\?code=[\w-]+)", second)
        assert second.startswith("首次使用") and link is not None, second
        with urllib.request.urlopen(link.group(1), timeout=10) as response:
            assert response.status == 200 and "创建管理员账号" in response.read().decode("utf-8")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as response:
            assert response.status == 200 and "首次设置" in response.read().decode("utf-8")
        out, err = process.communicate("@普法助手 你好\n", timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "我能帮您" in out
    code = link.group(1).rsplit("=", 1)[1]
    logged = "".join(p.read_text(encoding="utf-8", errors="replace") for p in tmp_path.rglob("*.log"))
    assert code not in logged  # the one-time code never reaches the logs

    # A port in use: one line of advice, and the bot still runs.
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        result = pufa("run", cwd=tmp_path, stdin="@普法助手 你好\n", env={"PUFA_WEB_PORT": str(taken)})
    assert result.returncode == 0, result.stderr
    assert "网页控制台没有启动" in result.stdout and "PUFA_WEB_PORT" in result.stdout
    assert "我能帮您" in result.stdout
    quiet = pufa("run", "--no-web", cwd=tmp_path, stdin="")
    assert quiet.returncode == 0 and "网页控制台" not in quiet.stdout
