"""`pufa report monthly|annual` and `pufa demo seed`: statistics the township hands in, and demo data to try them.

Registered in pufa/cli.py with `register(app)`. Thin: open a session, call reports/, print one line per file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from core.errors import UserError

report_app = typer.Typer(help="统计报表：月度咨询与推送统计（xlsx/csv）、年度综述（Markdown/xlsx）。", no_args_is_help=True)
demo_app = typer.Typer(help="演示数据：生成一批逼真的咨询和推送记录，用来试用报表。", no_args_is_help=True)


def _cli() -> Any:
    from pufa import cli

    return cli


def _key_dates(session: Any) -> list[Any]:
    from content.keydates import load_key_dates
    from scheduler.calendar import custom_rows, merged_registry

    return list(merged_registry(load_key_dates(), custom_rows(session)))


@report_app.command("monthly")
def monthly_command(
    month: Annotated[str, typer.Option("--month", help="统计月份，如 2026-11。")],
    fmt: Annotated[str | None, typer.Option("--format", help="xlsx（默认）或 csv（一个 zip，内含每张表一个 CSV 文件）。")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="输出文件路径；默认当前目录下“普法统计-月份.xlsx/.zip”。")] = None,
) -> None:
    """导出某月的咨询与推送统计：汇总、按类别、按村/群、按日、待跟进问题。"""
    from core.statistics import month_bounds
    from reports.export import output_format, write_csv_zip, write_xlsx
    from reports.monthly import build_monthly_report

    cli = _cli()
    s = cli.settings()
    start, _end = month_bounds(month, s.tz)  # a malformed month fails before anything is opened
    chosen = output_format(fmt, out)
    path = out or Path(f"普法统计-{start:%Y-%m}.{'zip' if chosen == 'csv' else 'xlsx'}")
    with cli.session_scope() as session:
        report = build_monthly_report(session, month, s.tz, cli._now())
        if chosen == "csv":
            write_csv_zip(report.tables, path)
        else:
            write_xlsx(report.tables, path, title=f"{s.township}{report.summary.month}普法统计")
    summary = report.summary
    cli.out.print(
        f"已导出 {path}：咨询 {summary.person_times} 人次（待跟进 {summary.pending}），"
        f"推送 {summary.pushes} 篇次，覆盖 {summary.groups_reached} 个群、{summary.reach} 人次。"
        + ("本月没有记录，各项为0。" if summary.empty else ""),
        markup=False,
    )


@report_app.command("annual")
def annual_command(
    year: Annotated[str, typer.Option("--year", help="年度，如 2026。")],
    out: Annotated[Path | None, typer.Option("--out", help="输出文件（.md 或 .xlsx）；不给则把 Markdown 打印出来。")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="md（默认）或 xlsx。")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="只输出各项数字（JSON）。")] = False,
) -> None:
    """生成年度普法统计综述（可写入法治政府建设年度报告），附按月按类别统计表。"""
    from core.statistics import parse_year
    from reports.annual import annual_tables, build_annual_figures, figures_as_mapping, render_annual
    from reports.export import output_format, write_xlsx

    cli = _cli()
    s = cli.settings()
    parse_year(year)
    chosen = output_format(fmt, out, default="md", allowed=("md", "xlsx"))
    with cli.session_scope() as session:
        figures = build_annual_figures(session, year, s.tz, township=s.township, key_dates=_key_dates(session))
    if as_json:
        sys.stdout.write(json.dumps(figures_as_mapping(figures), ensure_ascii=False) + "\n")
        return
    text = render_annual(figures, [s.data_dir / "templates"])
    if out is None and chosen == "md":
        cli.out.print(text.markdown, markup=False)
        return
    path = out or Path(f"普法年度统计-{figures.year}.{chosen}")
    if chosen == "xlsx":
        write_xlsx(annual_tables(figures, text, cli._now(), s.tz), path, title=f"{s.township}{figures.year}年普法统计")
    else:
        try:
            path.write_text(text.markdown, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"无法写入文件 {path}：{exc.strerror or exc}") from None
    cli.out.print(f"已生成 {path}：{text.paragraph}", markup=False)


@demo_app.command("seed")
def demo_seed_command(
    months: Annotated[int, typer.Option("--months", help="生成多少个月（到本月为止）。")] = 12,
    groups: Annotated[int, typer.Option("--groups", help="演示村群个数。")] = 20,
    per_group_month: Annotated[int, typer.Option("--per-group-month", help="每个群每月大约多少条咨询。")] = 25,
    last_month: Annotated[str | None, typer.Option("--until", help="最后一个月，如 2026-11；默认本月。")] = None,
    seed: Annotated[int, typer.Option("--seed", help="随机种子（相同种子生成相同数据）。")] = 1,
    force: Annotated[bool, typer.Option("--force", help="数据库里已有真实记录时仍然写入（慎用）。")] = False,
) -> None:
    """生成演示数据（演示群、推送记录、咨询记录），方便试用报表；已有真实记录时拒绝运行。"""
    from reports.demo import seed_demo

    cli = _cli()
    s = cli.settings()
    now = cli._now()
    with cli.session_scope(write=True) as session:
        result = seed_demo(
            session, months=months, groups=groups, per_group_month=per_group_month,
            last_month=last_month or f"{now:%Y-%m}", tz=s.tz, now=now, key_dates=_key_dates(session),
            seed=seed, force=force,
        )
    cli.out.print(
        f"已生成演示数据（{result.first_month} 至 {result.last_month}）：演示群 {result.groups} 个，"
        f"推送 {result.pushes} 次（{result.outbox_rows} 条发送记录），咨询 {result.consultations} 条。"
        f"试试：pufa report monthly --month {result.last_month}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
    app.add_typer(demo_app, name="demo")
