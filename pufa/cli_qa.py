"""CLI for legal Q&A: `pufa ask`, `pufa kb check|stats`, `pufa consultations list|pending|handle`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.handlers import Reply
from core.errors import UserError

kb_app = typer.Typer(help="法律问答知识库（检查、统计）。", no_args_is_help=True)
consultations_app = typer.Typer(help="咨询记录（列出、待跟进、标记已跟进）。", no_args_is_help=True)


def _cli() -> Any:
    import pufa.cli as cli  # the composition root's shared helpers (settings, database, consoles)

    return cli


def _qa() -> Any:
    from pufa.qa_wiring import build_qa

    return build_qa(_cli().settings())


def _as_json(question: str, outcome: Any, renderer: Any) -> dict[str, Any]:
    result = outcome.result
    answer = renderer.render_text(outcome.reply) if outcome.reply is not None else None
    return {
        "question": question,
        "category": result.category,
        "matched": outcome.entry_id,
        "score": result.score,
        "kind": result.kind,
        "answer": answer,
        "alternatives": [
            {"id": c.entry_id, "category": c.category, "score": c.score} for c in result.alternatives
        ],
    }


def ask_command(
    question: Annotated[str | None, typer.Argument(help="要问的问题，例如“干活被欠工钱咋办”。")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="从文件批量提问：每行一个问题。")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出（批量时每行一个 JSON 对象）。")] = False,
    record: Annotated[bool, typer.Option("--record", help="把提问记为咨询（默认不记录，只用于测试和评估）。")] = False,
) -> None:
    """向机器人提一个法律问题，看它怎么回答（不会发到群里）。"""
    if (question is None) == (batch is None):
        raise UserError("请给出一个问题，或者用 --batch 文件（二选一）")
    if batch is not None:
        try:
            questions = [line.strip() for line in batch.read_text(encoding="utf-8").splitlines() if line.strip()]
        except FileNotFoundError:
            raise UserError(f"找不到文件 {batch}") from None
        except UnicodeDecodeError:
            raise UserError(f"文件 {batch} 不是 UTF-8 编码，请另存为 UTF-8") from None
    else:
        questions = [question.strip()] if question and question.strip() else []
        if not questions:
            raise UserError("问题不能为空")
    cli = _cli()
    s = cli.settings()
    from pufa.qa_wiring import build_reply_renderer

    qa = _qa()
    renderer = build_reply_renderer(s)
    db = cli._open_db() if record else None
    try:
        for text in questions:
            outcome = qa.ask(text)
            if outcome.reply is None:  # not a legal question: the bot would show its help menu
                outcome = replace(outcome, reply=Reply("help.txt.j2"))
            if record and outcome.result.category != "其他":
                _record(db, s, text, outcome)
            payload = _as_json(text, outcome, renderer)
            if as_json:
                sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
            else:
                cli.out.print(
                    f"问：{text}\n类别：{payload['category']}  匹配：{payload['matched'] or '无'}  可信度：{payload['score']}",
                    markup=False,
                )
                cli.out.print(payload["answer"], markup=False)
                cli.out.print("")
    finally:
        if db is not None:
            db.dispose()


def _record(db: Any, s: Any, text: str, outcome: Any) -> None:
    from datetime import datetime

    from bot.consultations import record_consultation
    from core.hashing import IdHasher

    with db.sessions.begin() as session:
        record_consultation(
            session,
            asked_at=datetime.now(s.tz),
            sender_hash=IdHasher(s.hash_secret.get_secret_value())("cli:staff"),
            question=text,
            category=outcome.result.category,
            entry_id=outcome.entry_id,
            score=outcome.result.score,
            status="pending" if outcome.result.kind == "pending" else "answered",
            chat_kind="private",
        )


@kb_app.command("check")
def kb_check() -> None:
    """检查知识库：类别、必填项、模板、重复编号，每类至少8条。有问题时列出文件和行号。"""
    from bot.kb import load_knowledge_base
    from pufa.qa_wiring import template_globals

    cli = _cli()
    kb = load_knowledge_base(template_globals(cli.settings()), min_per_category=8)
    cli.out.print(f"知识库检查通过：共 {len(kb.entries)} 条，{len(kb.by_category())} 个类别。")


@kb_app.command("stats")
def kb_stats(as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出。")] = False) -> None:
    """按类别统计知识库条目数。"""
    from bot.kb import load_knowledge_base
    from pufa.qa_wiring import template_globals

    cli = _cli()
    kb = load_knowledge_base(template_globals(cli.settings()))
    counts = kb.by_category()
    if as_json:
        sys.stdout.write(json.dumps({"total": len(kb.entries), "by_category": counts}, ensure_ascii=False) + "\n")
        return
    table = Table("类别", "条目数")
    for category, count in counts.items():
        table.add_row(category, str(count))
    table.add_row("合计", str(len(kb.entries)))
    cli.out.print(table)


def _print_rows(rows: list[Any], as_json: bool) -> None:
    cli = _cli()
    tz = cli.settings().tz
    if as_json:
        for r in rows:
            sys.stdout.write(
                json.dumps(
                    {
                        "id": r.id, "asked_at": r.asked_at.astimezone(tz).isoformat(), "group": r.group,
                        "category": r.category, "question": r.question, "matched": r.entry_id,
                        "score": r.score, "status": r.status, "counted": r.counted, "note": r.handled_note,
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        return
    if not rows:
        cli.out.print("没有符合条件的咨询记录。")
        return
    labels = {"answered": "已解答", "pending": "待跟进", "handled": "已跟进"}
    table = Table("编号", "时间", "群", "类别", "问题", "状态")
    for r in rows:
        table.add_row(
            str(r.id), r.asked_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), r.group, r.category,
            r.question[:40], labels.get(r.status, r.status),
        )
    cli.out.print(table)
    counted = sum(1 for r in rows if r.counted)
    cli.out.print(f"共 {len(rows)} 条，计 {counted} 人次。")


def _list(month: str | None, category: str | None, status: str | None, as_json: bool) -> None:
    from core.categories import ALL_CATEGORIES
    from core.statistics import list_consultations, month_bounds

    cli = _cli()
    if category and category not in ALL_CATEGORIES:
        raise UserError(f"未知类别“{category}”（可用：{'、'.join(ALL_CATEGORIES)}）")
    start = end = None
    if month:
        start, end = month_bounds(month, cli.settings().tz)
    with cli.session_scope() as session:
        rows = list_consultations(session, start=start, end=end, category=category, status=status)
    _print_rows(rows, as_json)


@consultations_app.command("list")
def consultations_list(
    month: Annotated[str | None, typer.Option("--month", help="月份，如 2026-11。")] = None,
    category: Annotated[str | None, typer.Option("--category", help="类别，如 劳动用工。")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出（每行一条）。")] = False,
) -> None:
    """列出咨询记录（不含任何个人身份信息）。"""
    _list(month, category, None, as_json)


@consultations_app.command("pending")
def consultations_pending(
    month: Annotated[str | None, typer.Option("--month", help="月份，如 2026-11。")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出（每行一条）。")] = False,
) -> None:
    """列出机器人没把握、需要工作人员跟进的咨询。"""
    _list(month, None, "pending", as_json)


@consultations_app.command("handle")
def consultations_handle(
    consultation_id: Annotated[int, typer.Argument(help="咨询编号（见 pufa consultations pending）。")],
    note: Annotated[str, typer.Option("--note", help="跟进情况说明，例如“已电话回复，建议申请劳动仲裁”。")],
) -> None:
    """把一条待跟进的咨询标记为已跟进。"""
    from datetime import datetime

    from bot.consultations import mark_handled

    cli = _cli()
    with cli.session_scope(write=True) as session:
        mark_handled(session, consultation_id, note, datetime.now(cli.settings().tz))
    cli.out.print(f"咨询 {consultation_id} 已标记为已跟进。")
