"""The `pufa` command as a user runs it: a real subprocess in a scratch folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PUFA = [sys.executable, "-m", "pufa.cli"]


def pufa(*args: str, cwd: Path, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PUFA_") and k != "DATABASE_URL"}
    environment.update(env or {})
    return subprocess.run(
        [*PUFA, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=environment, timeout=120
    )


def test_help_is_in_chinese(tmp_path: Path) -> None:
    result = pufa("--help", cwd=tmp_path)
    assert result.returncode == 0
    for phrase in ("普法助手", "初始化", "启动机器人", "管理村微信群", "数据库维护"):
        assert phrase in result.stdout


def test_unknown_transport_is_one_clear_line(tmp_path: Path) -> None:
    result = pufa("run", "--transport", "nosuch", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip() == "错误：未知的消息通道“nosuch”：只能是 console 或 wechaty"
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_arguments_and_settings_never_show_a_traceback(tmp_path: Path) -> None:
    for args, env, expected in [
        (["groups", "add"], {}, "缺少参数"),
        (["groups", "add", "x@chatroom", "--members", "-3"], {}, "必须 ≥ 0"),
        (["nosuch"], {}, "没有这个命令"),
        (["groups", "disable", "42"], {}, "找不到群"),
        (["groups", "list"], {"PUFA_DAILY_CAP": "many"}, "PUFA_DAILY_CAP"),
    ]:
        result = pufa(*args, cwd=tmp_path, env=env)
        assert result.returncode != 0, args
        assert expected in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_init_then_piped_run_prints_help_menu_and_exits_zero(tmp_path: Path) -> None:
    assert pufa("init", "--demo", cwd=tmp_path).returncode == 0
    result = pufa("run", cwd=tmp_path, stdin="@普法助手 你好\n今天天气不错\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("我能帮您") == 1  # the chatter got no reply
    assert "群【一组】 普法助手：\n@村民甲" in result.stdout
    assert (tmp_path / "data" / "pufa.db").exists()
    assert (tmp_path / "data" / "logs" / "pufa.log").exists()


def test_groups_commands_round_trip(tmp_path: Path) -> None:
    assert pufa("groups", "add", "123@chatroom", "--name", "柳树村一组", "--tags", "柳树村,一组", cwd=tmp_path).returncode == 0
    listed = pufa("groups", "list", "--json", cwd=tmp_path)
    assert '"room_id": "123@chatroom"' in listed.stdout
    assert pufa("groups", "disable", "柳树村一组", cwd=tmp_path).returncode == 0
    assert '"enabled": false' in pufa("groups", "list", "--json", cwd=tmp_path).stdout


def test_sigterm_stops_the_bot_cleanly(tmp_path: Path) -> None:
    import signal
    import time

    environment = {k: v for k, v in os.environ.items() if not k.startswith("PUFA_")}
    proc = subprocess.Popen(
        [*PUFA, "run"], cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=environment,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "data" / "logs" / "pufa.log").exists() or "bot started" not in (
        tmp_path / "data" / "logs" / "pufa.log"
    ).read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "bot did not start"
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()
        pytest.fail("bot did not stop on SIGTERM")
    assert proc.returncode == 0
    assert "bot stopped" in (tmp_path / "data" / "logs" / "pufa.log").read_text(encoding="utf-8")
