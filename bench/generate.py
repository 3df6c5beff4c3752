"""Build a synthetic national-scale portfolio in a separate database for the benchmark.

At scale 1: 5,000 projects, 50,000 milestones, 10 years x 12 months of capital month-end figures
(600,000 rows), 10 years of budgets and 50 users. Scale 10 is ten times that, 0.01 a hundredth.
Every amount and date is invented (fixed random seed); nothing here is the ministry's.

    python bench/generate.py --scale 1 --db sqlite:////tmp/bench.db
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker import db, migrate  # noqa: E402
from tracker.models import (Budget, Milestone, MonthEnd, Project, System, User, WorkPlan,  # noqa: E402
                            project_systems)
from tracker.services import audit, seed  # noqa: E402

PROJECTS_PER_SCALE = 5_000
MILESTONES_PER_PROJECT = 10
YEARS = 10
FIRST_YEAR_ROC = 106
USERS_PER_SCALE = 50
BATCH = 5_000
CHUNK_PROJECTS = 1_000  #: projects generated and written at a time
CATEGORIES = ("公共建設", "科技發展", "社會發展", "其它")
STATUSES = ("not_started", "in_progress", "done", "on_hold")


def _batched(session, table, rows):
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(table), rows[start:start + BATCH])


def has_synthetic_portfolio(url: str) -> bool:
    """Whether the database already holds a generated portfolio."""
    engine = db.make_engine(url)
    try:
        if not sa.inspect(engine).has_table("work_plans"):
            return False
        with engine.connect() as connection:
            return connection.scalar(sa.select(WorkPlan.id).where(WorkPlan.name.like("合成工作計畫%")).limit(1)) is not None
    finally:
        engine.dispose()


def generate(url: str, scale: float, rng_seed: int = 7, echo=print) -> dict:
    """Create the schema, load the 106 plan, then add the synthetic portfolio; return the counts."""
    started = time.perf_counter()
    if has_synthetic_portfolio(url):
        raise SystemExit(f"{url} already holds a synthetic portfolio: generate into an empty database")
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(rng_seed)
    n_projects = max(1, int(PROJECTS_PER_SCALE * scale))
    with db.make_sessionmaker(engine)() as session:  # as every writer: the data stamp moves
        seed.load_seed_file(session, ROOT / "seeds" / "projects_106.json", audit.Who("bench"))
        session.commit()
        systems = list(session.scalars(sa.select(System).order_by(System.sort_order)))
        n_plans = max(5, n_projects // 100)
        plans = [{"name": f"合成工作計畫 {i:04d}", "sort_order": 100 + i} for i in range(n_plans)]
        _batched(session, WorkPlan.__table__, plans)
        plan_ids = list(session.scalars(sa.select(WorkPlan.id).where(WorkPlan.name.like("合成工作計畫%"))))
        first_id = (session.scalar(sa.select(sa.func.max(Project.id))) or 0) + 1
        projects, links, milestones, budgets, month_ends = [], [], [], [], []
        totals = {"milestones": 0, "month_ends": 0, "budgets": 0}
        for i in range(n_projects):
            pid = first_id + i
            first = FIRST_YEAR_ROC + rng.randrange(0, 5)
            last = min(first + rng.randrange(0, 6), FIRST_YEAR_ROC + YEARS - 1)
            projects.append({"id": pid, "seq": 1000 + i, "name": f"合成計畫 {i:05d}（模擬資料）",
                             "name_as_written": f"合成計畫 {i:05d}", "work_plan_id": rng.choice(plan_ids),
                             "category": rng.choice(CATEGORIES), "first_year_roc": first, "last_year_roc": last,
                             "phase_index": None, "phase_total": None, "description": "", "content": "",
                             "facts": {}, "is_very_large": rng.random() < 0.1})
            links.append({"project_id": pid, "system_id": rng.choice(systems).id})
            start = date(first + 1911, 1, 1)
            span = (date(last + 1911, 12, 31) - start).days
            for k in range(MILESTONES_PER_PROJECT):
                s = start + timedelta(days=span * k // MILESTONES_PER_PROJECT)
                f = start + timedelta(days=span * (k + 1) // MILESTONES_PER_PROJECT)
                status = rng.choice(STATUSES)
                percent = 100 if status == "done" else (rng.randrange(1, 100) if status == "in_progress" else 0)
                milestones.append({"project_id": pid, "seq": k + 1, "name": f"里程碑 {k + 1}", "source_text": "",
                                   "planned_start_on": s, "planned_finish_on": f, "baseline_start_on": s,
                                   "baseline_finish_on": f, "status": status, "percent_complete": percent,
                                   "actual_start_on": s if status != "not_started" else None,
                                   "actual_finish_on": f if status == "done" else None, "version": 1})
            for year in range(FIRST_YEAR_ROC, FIRST_YEAR_ROC + YEARS):
                available = rng.randrange(10_000, 500_000)
                budgets.append({"project_id": pid, "year_roc": year, "kind": "capital", "original": available,
                                "supplementary": 0, "carried_over": 0, "is_synthetic": False})
                pace = rng.uniform(0.5, 1.0)
                for month in range(1, 13):
                    allocated = available * month // 12
                    paid = int(allocated * pace)
                    month_ends.append({"project_id": pid, "year_roc": year, "month": month, "kind": "capital",
                                       "allocated": allocated, "paid": paid, "payables": 0, "savings": 0,
                                       "is_synthetic": False})
            if len(projects) == CHUNK_PROJECTS or i == n_projects - 1:  # written in chunks: N=10 fits in memory
                _batched(session, Project.__table__, projects)
                _batched(session, project_systems, links)
                _batched(session, Milestone.__table__, milestones)
                _batched(session, Budget.__table__, budgets)
                _batched(session, MonthEnd.__table__, month_ends)
                totals["milestones"] += len(milestones)
                totals["month_ends"] += len(month_ends)
                totals["budgets"] += len(budgets)
                projects, links, milestones, budgets, month_ends = [], [], [], [], []
        from werkzeug.security import generate_password_hash

        password = generate_password_hash("bench-password-1", method="pbkdf2:sha256:1000")
        roles = ("project_manager", "budget_officer", "leadership", "admin")
        users = [{"name": f"bench{i:03d}", "role": roles[i % 4], "password_hash": password,
                  "system_id": systems[i % len(systems)].id if i % 4 == 0 else None, "is_active": True,
                  "must_change_password": False, "session_epoch": 1}
                 for i in range(max(4, int(USERS_PER_SCALE * scale)))]
        _batched(session, User.__table__, users)
        session.commit()
    if engine.dialect.name == "postgresql":  # fresh statistics, or the planner guesses on 600,000 rows
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))
    engine.dispose()
    counts = {"projects": n_projects, **totals, "users": len(users), "seconds": round(time.perf_counter() - started, 1)}
    echo(f"generated {counts}")
    return counts


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", required=True, help="an empty database (SQLAlchemy URL)")
    args = parser.parse_args()
    generate(args.db, args.scale)


if __name__ == "__main__":
    main()
