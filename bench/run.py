"""The benchmark: median timings of the pages, API, charts and scans on a synthetic portfolio.

    python bench/run.py [--scale 1] [--db URL] [--runs 5]

Without --db it builds (once, and keeps) a SQLite file under bench/.data/ for the scale. It prints
one JSON object; times are medians in milliseconds, measured in this process with Flask's test
client (no network), beside two floors measured in the same run: a hand-written SQL aggregate of
the same execution figures, and a bare Flask route returning a constant.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate import FIRST_YEAR_ROC, generate, has_synthetic_portfolio  # noqa: E402

from tracker import db, migrate  # noqa: E402
from tracker.app import create_app  # noqa: E402
from tracker.models import Milestone, Project, User  # noqa: E402
from tracker.services import accounts, audit  # noqa: E402
from tracker.services.scans import run_scans  # noqa: E402

YEAR_ROC = FIRST_YEAR_ROC + 4  # 110: the middle of the synthetic decade
AS_OF = date(YEAR_ROC + 1911, 8, 31)

SQL_FLOOR = """
SELECT s.name, SUM(b.original + b.supplementary + b.carried_over), SUM(m.allocated),
       SUM(m.paid + m.payables + m.savings)
FROM month_end_figures m
JOIN budgets b ON b.project_id = m.project_id AND b.year_roc = m.year_roc AND b.kind = m.kind
               AND b.is_synthetic = m.is_synthetic
JOIN project_systems ps ON ps.project_id = m.project_id
JOIN systems s ON s.id = ps.system_id
WHERE m.year_roc = :year AND m.month = :month AND m.kind = 'capital' AND m.is_synthetic = :synthetic
GROUP BY s.name
"""


#: The keys the issue asks for; run() refuses to print a result without every one of them.
REQUIRED_KEYS = ("scale", "portfolio_page_ms", "project_page_ms", "execution_api_ms", "execution_sql_floor_ms",
                 "alerts_page_ms", "gantt_svg_ms", "gantt_png_ms", "scan_ms", "flask_floor_ms", "peak_rss_mb",
                 "database")


def median_ms(func, runs: int) -> float:
    """Median wall time of func() over runs (after one warm-up call), in milliseconds."""
    func()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 2)


def ok(response) -> None:
    """Fail loudly rather than time an error page."""
    if response.status_code != 200:
        raise SystemExit(f"benchmark request failed: {response.status_code} {response.request.path}")


def bench_app(url: str):
    """The tracker on the benchmark database."""
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "DATA_DIR": str(ROOT / "bench" / ".data"),
                       "RUN_SCHEDULER_IN_SERVER": False, "LOG_LEVEL": "warning"})  # no access line per timed request


def touch(app, round_no: int, programmes: int = 10) -> None:
    """A manager reports on one milestone in each of a few programmes (different ones every round)."""
    with db.new_session(app) as session:
        firsts = sa.select(Milestone.id).where(Milestone.seq == 1)
        count = session.scalar(sa.select(sa.func.count()).select_from(firsts.subquery()))
        ids = session.scalars(firsts.order_by(Milestone.id)
                              .offset(round_no * programmes % max(count - programmes, 1)).limit(programmes)).all()
        for m in session.scalars(sa.select(Milestone).where(Milestone.id.in_(ids))):
            m.percent_complete = (m.percent_complete + 3) % 100
        session.commit()


def measure_scans(url: str, runs: int) -> dict:
    """The scans, in this (scheduler-like) process: full, unchanged and after a few programmes change."""
    app = bench_app(url)

    def scan(full: bool):
        with db.new_session(app) as session:
            run_scans(session, AS_OF, app.config, audit.Who("bench"), full=full)
            session.commit()

    result = {}
    started = time.perf_counter()
    scan(True)  # a full scan: on a new database, every alert opens
    result["scan_first_ms"] = round((time.perf_counter() - started) * 1000, 2)
    result["scan_ms"] = median_ms(lambda: scan(True), max(3, runs // 2))
    result["scan_unchanged_ms"] = median_ms(lambda: scan(False), runs)
    samples = []
    for round_no in range(runs):
        touch(app, round_no)
        started = time.perf_counter()
        scan(False)
        samples.append((time.perf_counter() - started) * 1000)
    result["scan_incremental_ms"] = round(statistics.median(samples), 2)
    result["scan_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    db.get_engine(app).dispose()
    return result


def run(scale: float, url: str | None, runs: int) -> dict:
    """Measure everything; return the result object."""
    if url is None:
        data = ROOT / "bench" / ".data"
        data.mkdir(exist_ok=True)
        url = db.sqlite_url(data / f"bench-{scale:g}.db")
    if not has_synthetic_portfolio(url):  # built once; a kept database is measured again as it is
        generate(url, scale, echo=lambda *_: None)
    app = bench_app(url)
    engine = db.get_engine(app)
    migrate.upgrade(engine)  # a kept benchmark database follows the schema of the code being measured
    with db.new_session(app) as session:
        admin = session.scalars(sa.select(User).where(User.role == "admin").limit(1)).one()
        token, _ = accounts.issue_token(session, admin.name, audit.Who("bench"), 90)
        project_id = session.scalar(sa.select(sa.func.max(Project.id)))
        session.commit()
        admin_name = admin.name
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"name": admin_name, "password": "bench-password-1", "csrf_token": csrf})
    if response.status_code != 302:
        raise SystemExit("benchmark login failed")

    result = {"scale": scale, "database": engine.dialect.name}
    # The scans run in their own process, as the scheduler does in production: the web process's
    # peak memory is then the web process's own.
    scans = subprocess.run([sys.executable, __file__, "--part", "scans", "--scale", str(scale), "--db", url,
                            "--runs", str(runs)], capture_output=True, text=True, check=False)
    if scans.returncode != 0:
        raise SystemExit(f"benchmark scans failed:\n{scans.stderr}")
    result.update(json.loads(scans.stdout.strip().splitlines()[-1]))
    result["portfolio_page_ms"] = median_ms(lambda: ok(client.get(f"/?as_of={AS_OF.isoformat()}")), runs)
    cold = []
    for round_no in range(runs):  # the first view after someone changed a milestone: built afresh
        touch(app, 1000 + round_no, programmes=1)
        started = time.perf_counter()
        ok(client.get(f"/?as_of={AS_OF.isoformat()}"))
        cold.append((time.perf_counter() - started) * 1000)
    result["portfolio_page_cold_ms"] = round(statistics.median(cold), 2)
    result["project_page_ms"] = median_ms(lambda: ok(client.get(f"/projects/{project_id}?as_of={AS_OF.isoformat()}")), runs)
    result["execution_api_ms"] = median_ms(
        lambda: ok(client.get(f"/api/v1/execution?year={YEAR_ROC}&as_of={YEAR_ROC}-08&by=system", headers=headers)), runs)

    def sql_floor():
        with engine.connect() as connection:
            connection.execute(sa.text(SQL_FLOOR), {"year": YEAR_ROC, "month": 8, "synthetic": False}).all()

    result["execution_sql_floor_ms"] = median_ms(sql_floor, runs)
    result["alerts_page_ms"] = median_ms(lambda: ok(client.get("/alerts")), runs)
    for fmt in ("svg", "png"):
        result[f"gantt_{fmt}_ms"] = median_ms(
            lambda: ok(client.get(f"/gantt.{fmt}?rows=200&as_of={AS_OF.isoformat()}")), runs)

    from flask import Flask

    bare = Flask("floor")
    bare.add_url_rule("/", "constant", lambda: "ok")
    bare_client = bare.test_client()
    result["flask_floor_ms"] = median_ms(lambda: bare_client.get("/"), runs)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    engine.dispose()
    return result


def main() -> None:
    """Command line: print the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", default=None, help="a database URL (default: a SQLite file under bench/.data/)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--part", choices=("all", "scans"), default="all", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "scans":
        print(json.dumps(measure_scans(args.db, max(5, args.runs))))
        return
    result = run(args.scale, args.db, max(5, args.runs))
    missing = [key for key in REQUIRED_KEYS if not isinstance(result.get(key), (int, float, str))
               or (isinstance(result[key], float) and result[key] <= 0)]
    if missing:
        raise SystemExit(f"benchmark incomplete: no measurement for {', '.join(missing)}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
