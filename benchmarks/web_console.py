"""Web console page latency on a realistic township database (SQLite), served in-process (FastAPI TestClient).

    .venv/bin/python benchmarks/web_console.py            # 20 groups x 12 months, 400 questions per group-month
    .venv/bin/python benchmarks/web_console.py --quick    # 5 groups x 2 months

Seeds with `pufa demo seed`'s generator, imports the content library, logs in, then requests each page 20 times
(after one warm-up) and prints the median and worst wall time per page. The knowledge-base page is measured on a
question (the matcher is built on first use and cached, so the warm-up pays for it).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 20, 10, 0, tzinfo=TZ)
PAGES = [
    "/", "/consultations", "/consultations?status=pending&month=", "/calendar?month=2026-12&day=2026-12-04",
    "/content", "/content/constitution-day-basics", "/reports?month=2026-11", "/reports/monthly?month=2026-11",
    "/groups", "/outbox", "/kb?q=老板拖欠工资不给怎么办", "/login-state",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    groups, months, per = (5, 2, 100) if args.quick else (20, 12, 400)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from content.keydates import load_key_dates
    from content.store import import_items
    from core.clock import ManualClock
    from core.settings import Settings
    from pufa.app import open_database
    from pufa.library import load_library
    from pufa.qa_wiring import template_globals
    from pufa.web.accounts import create_staff
    from pufa.web.app import create_web_app
    from reports.demo import seed_demo

    with tempfile.TemporaryDirectory(prefix="pufa-web-bench-") as folder:
        settings = Settings(environment="test", data_dir=Path(folder), hash_secret="bench")  # type: ignore[arg-type]
        db = open_database(settings)
        started = time.perf_counter()
        with db.sessions.begin() as session:
            import_items(session, load_library(template_globals(settings)).items, NOW)
            result = seed_demo(session, months=months, groups=groups, per_group_month=per, last_month="2026-12",
                               tz=TZ, now=NOW, key_dates=list(load_key_dates()), force=True)
            create_staff(session, name="bench", role="admin", password="bench-password", now=NOW)
        seeded = time.perf_counter() - started
        client = TestClient(create_web_app(settings, db, ManualClock(NOW)))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"name": "bench", "password": "bench-password", "csrf_token": token})
        print(f"database: SQLite, {groups} groups x {months} months, {result.consultations} consultations, "
              f"{result.outbox_rows} outbox rows (seeded in {seeded:.1f} s)")
        print(f"{'page':<48} {'median ms':>10} {'max ms':>8}")
        for path in PAGES:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
            print(f"{path:<48} {statistics.median(times):>10.1f} {max(times):>8.1f}")
        db.dispose()


if __name__ == "__main__":
    main()
