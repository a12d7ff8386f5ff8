"""The console's pages. Each handler opens a session from the shared factory, calls services, renders."""


from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.consultations import mark_handled
from content.keydates import load_key_dates
from core import groups as group_registry
from core import statistics as stats
from core.categories import ALL_CATEGORIES
from core.clock import Clock
from core.errors import UserError
from core.settings import Settings
from pufa.app import Database
from pufa.web import accounts
from pufa.web.accounts import StaffUser
from pufa.web.queries import latest_consultations
from scheduler.calendar import custom_rows, merged_registry, occurrences_in
from scheduler.queue import list_pushes

STATUS_LABELS = {"answered": "已解答", "pending": "待跟进", "handled": "已跟进"}
MAX_ROWS = 500


def chart_bars(by_day: dict[Any, int], days: list[Any]) -> list[dict[str, Any]]:
    """Rows for the CSS bar chart: label, value and width in percent of the busiest day."""
    peak = max([by_day.get(d, 0) for d in days] + [1])
    return [{"label": f"{d.month}/{d.day}", "value": by_day.get(d, 0), "pct": round(100 * by_day.get(d, 0) / peak)}
            for d in days]


def register(app: FastAPI, *, render: Any, settings: Settings, db: Database, clock: Clock,
             staff: Any, editor: Any) -> None:
    tz = settings.tz
    Staff = Annotated[StaffUser, Depends(staff)]
    Editor = Annotated[StaffUser, Depends(editor)]

    # -- 首页 ---------------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, user: Staff) -> Response:
        now = clock.now()
        local = now.astimezone(tz)
        start, end = stats.month_bounds(f"{local:%Y-%m}", tz)
        chart_start = datetime(local.year, local.month, local.day, tzinfo=tz) - timedelta(days=29)
        with db.sessions() as session:
            person_times = stats.count_person_times(session, start, end)
            pending_count, pending = latest_consultations(session, status="pending", limit=5)
            pushes = [
                {"due_at": p.due_at, "title": p.content.title, "targets": p.targets}
                for p in list_pushes(session, since=now)[:8]
            ]
            rows = custom_rows(session)
            registry = merged_registry(load_key_dates(), rows)
            by_day = stats.person_times_by_day(session, chart_start, chart_start + timedelta(days=30), tz)
        today = local.date()
        dates = [o for year in (local.year, local.year + 1)
                 for o in occurrences_in(registry, rows, year, pufa_month=settings.pufa_month) if o.end >= today]
        seen, upcoming = set(), []
        for occ in sorted(dates, key=lambda o: o.start):
            if (occ.key, occ.year) not in seen:
                seen.add((occ.key, occ.year))
                upcoming.append({"name": occ.name, "label": occ.label(), "days_left": (occ.start - today).days})
        days = stats.days_of(chart_start, chart_start + timedelta(days=30))
        return render(request, "home.html", user, month=f"{local.year}年{local.month}月", person_times=person_times,
                      pending_count=pending_count, pending=pending, pushes=pushes,
                      key_dates=upcoming[:6], bars=chart_bars(by_day, days), chart_total=sum(by_day.values()))

    # -- 咨询记录 -------------------------------------------------------------------------------
    @app.get("/consultations", response_class=HTMLResponse)
    def consultations(request: Request, user: Staff, month: str = "", category: str = "", group: str = "",
                      status: str = "") -> Response:
        local = clock.now().astimezone(tz)
        month = month.strip() or ("" if status == "pending" else f"{local:%Y-%m}")
        error = ""
        start = end = None
        if month:
            try:
                start, end = stats.month_bounds(month, tz)
            except UserError as exc:
                error, month = exc.message, f"{local:%Y-%m}"
                start, end = stats.month_bounds(month, tz)
        category = category if category in ALL_CATEGORIES else ""
        status = status if status in STATUS_LABELS else ""
        group_id = int(group) if group.isdigit() else None
        with db.sessions() as session:
            groups = [{"id": g.id, "name": g.name or g.room_id} for g in group_registry.list_groups(session)]
            total, rows = latest_consultations(session, start=start, end=end, category=category or None,
                                               status=status or None, group_id=group_id, limit=MAX_ROWS)
        return render(request, "consultations.html", user, rows=rows, total=total, shown=len(rows),
                      month=month, category=category, group=group_id, status=status, groups=groups,
                      categories=ALL_CATEGORIES, status_labels=STATUS_LABELS, error=error)

    @app.post("/consultations/{consultation_id}/handle")
    def consultation_handle(request: Request, consultation_id: int, user: Editor,
                            note: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "") -> Response:
        now = clock.now()
        with db.sessions.begin() as session:
            mark_handled(session, consultation_id, note, now)
            accounts.record_audit(session, actor=user.name, action="consultation.handle", now=now,
                                  target=f"咨询 {consultation_id}", detail=note.strip()[:500])
        target = back if back.startswith("/consultations") and not back.startswith("//") else "/consultations"
        separator = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{separator}msg=handled", status_code=303)

    # -- 统计报表 -------------------------------------------------------------------------------
    @app.get("/reports", response_class=HTMLResponse)
    def reports_page(request: Request, user: Staff, month: str = "", year: str = "") -> Response:
        from reports.annual import build_annual_figures, render_annual
        from reports.monthly import build_monthly_report

        local = clock.now().astimezone(tz)
        month = month.strip() or f"{local:%Y-%m}"
        year = year.strip() or str(local.year)
        start, end = stats.month_bounds(month, tz)
        with db.sessions() as session:
            report = build_monthly_report(session, month, tz, clock.now())
            by_day = stats.person_times_by_day(session, start, end, tz)
            registry = list(merged_registry(load_key_dates(), custom_rows(session)))
            figures = build_annual_figures(session, year, tz, township=settings.township, key_dates=registry)
        annual = render_annual(figures, [settings.data_dir / "templates"])
        return render(request, "reports.html", user, month=month, year=year, summary=report.summary,
                      bars=chart_bars(by_day, stats.days_of(start, end)), annual=annual)

    @app.get("/reports/monthly")
    def reports_monthly_download(request: Request, user: Staff, month: str = "", format: str = "xlsx") -> Response:
        from pufa.web.app import download, write_to_bytes
        from reports.export import write_csv_zip, write_xlsx
        from reports.monthly import build_monthly_report

        start, _end = stats.month_bounds(month, tz)
        if format not in {"xlsx", "csv"}:
            raise UserError("格式只能是 xlsx 或 csv")
        with db.sessions() as session:  # the pending rows stream while the file is written
            report = build_monthly_report(session, month, tz, clock.now())
            if format == "csv":
                data = write_to_bytes(lambda p: write_csv_zip(report.tables, p), ".zip")
                return download(data, f"普法统计-{start:%Y-%m}.zip", "application/zip")
            title = f"{settings.township}{report.summary.month}普法统计"
            data = write_to_bytes(lambda p: write_xlsx(report.tables, p, title=title), ".xlsx")
        return download(data, f"普法统计-{start:%Y-%m}.xlsx",
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
