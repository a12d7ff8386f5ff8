"""Report exports over 1,000,000 consultation rows on SQLite (targets: monthly xlsx ≤ 5 s wall, ≤ 300 MB peak RSS).

Fills a SQLite file under /tmp with `pufa demo seed`'s generator (bulk inserts), then times the real commands in
fresh processes, measuring each one's wall time and peak RSS (os.wait4):

    .venv/bin/python benchmarks/reports.py            # both scenarios, ~2-3 minutes
    .venv/bin/python benchmarks/reports.py --quick    # 100,000 rows, for a smoke run

Scenario A (realistic): 20 groups × 12 months, 1,000,000 rows in the year (~83,000 in the exported month).
Scenario B (worst case): all 1,000,000 rows in the exported month (~70,000 of them pending questions).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the seeding child imports the project from here

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 31, 23, 0, tzinfo=TZ)


def seed(data_dir: Path, *, months: int, groups: int, per_group_month: int) -> tuple[float, int, int]:
    """Runs in its own process (see `main`), so the measuring parent stays small: a child's peak RSS on Linux
    starts from its parent's at fork."""
    from sqlalchemy import func, select

    from content.keydates import load_key_dates
    from core.models import Consultation, OutboxItem
    from core.settings import Settings
    from pufa.database import open_database
    from reports.demo import seed_demo

    settings = Settings(environment="test", data_dir=data_dir)
    db = open_database(settings)
    started = time.perf_counter()
    with db.sessions.begin() as session:
        seed_demo(session, months=months, groups=groups, per_group_month=per_group_month, last_month="2026-11",
                  tz=TZ, now=NOW, key_dates=list(load_key_dates()), seed=7, batch=50_000)
    elapsed = time.perf_counter() - started
    with db.sessions() as session:
        rows = int(session.scalar(select(func.count(Consultation.id))) or 0)
        outbox = int(session.scalar(select(func.count(OutboxItem.id))) or 0)
    db.dispose()
    return elapsed, rows, outbox


def timed(args: list[str], data_dir: Path, cwd: Path) -> tuple[float, float, str]:
    """Run `pufa ARGS` in a fresh process: (wall seconds, peak RSS MB, first output line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUFA_") and k != "DATABASE_URL"}
    env.update(PUFA_DATA_DIR=str(data_dir), PUFA_ENVIRONMENT="test", PUFA_HASH_SECRET="bench-secret")
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as output:
        proc = subprocess.Popen([sys.executable, "-m", "pufa.cli", *args], cwd=cwd, env=env, stdout=output,
                                stderr=subprocess.STDOUT, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = status
        output.seek(0)
        out = output.read()
    if status != 0:
        raise SystemExit(f"pufa {' '.join(args)} failed: {out}")
    return wall, usage.ru_maxrss / 1024, out.strip().splitlines()[0][:110]


def scenario(name: str, work: Path, *, months: int, groups: int, per_group_month: int, month: str) -> list[str]:
    data_dir = work / name / "data"
    data_dir.mkdir(parents=True)
    done = subprocess.run([sys.executable, __file__, "--seed", str(data_dir), str(months), str(groups),
                           str(per_group_month)], capture_output=True, text=True, check=True)
    seconds, rows, outbox = (float(v) for v in done.stdout.split())
    db_file = data_dir / "pufa.db"
    size = sum(p.stat().st_size for p in data_dir.glob("pufa.db*")) / 1e6 if db_file.exists() else 0.0
    lines = [f"## {name}: {int(rows):,} consultation rows, {int(outbox):,} outbox rows ({size:.0f} MB SQLite), "
             f"seeded in {seconds:.1f} s"]
    runs = [
        ("monthly xlsx", ["report", "monthly", "--month", month, "--out", "m.xlsx"]),
        ("monthly csv", ["report", "monthly", "--month", month, "--format", "csv", "--out", "m.zip"]),
        ("annual md", ["report", "annual", "--year", "2026", "--out", "a.md"]),
        ("annual xlsx", ["report", "annual", "--year", "2026", "--out", "a.xlsx"]),
        ("startup only (pufa --version)", ["--version"]),
    ]
    for label, args in runs:
        best = None
        for _ in range(3):
            wall, rss, first = timed(args, data_dir, work / name)
            best = (wall, rss, first) if best is None or wall < best[0] else best
        assert best is not None
        lines.append(f"{label:<30} wall {best[0]:5.2f} s  peak RSS {best[1]:6.1f} MB   ({best[2]})")
    xlsx = work / name / "m.xlsx"
    lines.append(f"monthly xlsx file {xlsx.stat().st_size / 1e3:,.0f} kB")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--seed", nargs=4, help=argparse.SUPPRESS)  # internal: DATA_DIR MONTHS GROUPS PER_MONTH
    options = parser.parse_args()
    if options.seed:
        data_dir, months, groups, per = options.seed
        print(*seed(Path(data_dir), months=int(months), groups=int(groups), per_group_month=int(per)))
        return
    scale = 10 if options.quick else 1
    print(f"# reports benchmark — {datetime.now(TZ):%Y-%m-%d %H:%M} — Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} CPUs; best of 3 runs, each a fresh `pufa` process")
    print("# load average at start (other work on this machine):", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="pufa-bench-", dir="/tmp") as tmp:
        work = Path(tmp)
        for line in scenario("A realistic year", work, months=12, groups=20, per_group_month=4167 // scale,
                             month="2026-11"):
            print(line, flush=True)
        for line in scenario("B worst case: one month", work, months=1, groups=20, per_group_month=52_800 // scale,
                             month="2026-11"):
            print(line, flush=True)
    print("# load average at end:", " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
