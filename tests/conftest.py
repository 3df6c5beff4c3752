"""Fixtures: a real database per test (SQLite file, or PostgreSQL when TRACKER_TEST_DATABASE_URL is set)."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from decimal import Decimal

from tracker import db, migrate
from tracker.app import create_app
from tracker.models import Budget, MonthEnd, Project
from tracker.services import accounts, audit, seed

ROOT = Path(__file__).resolve().parent.parent
SEED_PATH = ROOT / "seeds" / "projects_106.json"
PLAN_TEXT = ROOT / "seeds" / "source" / "000_bb5b647293294e5c.txt"
PASSWORD = "correct-horse-42"
#: aiosmtpd's per-connection INFO lines, from its own thread, would reach the terminal past pytest's capture.
logging.getLogger("mail.log").setLevel(logging.WARNING)
#: Set by .ci/run for the PostgreSQL pass, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_PG_URL = os.environ.get("TRACKER_TEST_DATABASE_URL")


def reset_postgres(url: str) -> None:
    """Empty the PostgreSQL test database."""
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path) -> str:
    """A fresh, empty database for this test."""
    if TEST_PG_URL:
        reset_postgres(TEST_PG_URL)
        return TEST_PG_URL
    return db.sqlite_url(tmp_path / "tracker.db")


@pytest.fixture
def app(database_url, tmp_path):
    """The tracker on a migrated, empty database."""
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "DATA_DIR": str(tmp_path / "instance"),
        "SEED_PATH": str(SEED_PATH),
    })
    migrate.upgrade(db.get_engine(app))
    yield app
    db.get_engine(app).dispose()


@pytest.fixture
def session(app):
    """A session on the test database."""
    with db.new_session(app) as s:
        yield s


@pytest.fixture
def seeded(app):
    """The tracker with the 106 plan loaded."""
    with db.new_session(app) as s:
        seed.load_seed_file(s, SEED_PATH)
        s.commit()
    return app


@pytest.fixture
def make_user(app):
    """Create a user: make_user(name, role, system=None, password=PASSWORD)."""

    def _make(name: str, role: str, system: str | None = None, password: str = PASSWORD):
        with db.new_session(app) as s:
            user = accounts.create_user(s, name, role, password, system, audit.CLI)
            s.commit()
            return user

    return _make


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


class TrackerRunner:
    """Runs the `tracker` command against the test app."""

    def __init__(self, app):
        self._runner = app.test_cli_runner()

    def invoke(self, args, **kwargs):
        from tracker.cli import main

        return self._runner.invoke(main, args, **kwargs)


@pytest.fixture
def runner(app):
    """A CLI runner for the `tracker` command, bound to the app."""
    return TrackerRunner(app)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Auth:
    """Log in and out through the real login form."""

    def __init__(self, client):
        self.client = client

    def login(self, name: str, password: str = PASSWORD):
        page = self.client.get("/login")
        return self.client.post("/login", data={"name": name, "password": password,
                                                "csrf_token": csrf_token(page.get_data(as_text=True))})

    def logout(self):
        page = self.client.get("/")
        return self.client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def new_browser(app, name: str, password: str = PASSWORD):
    """A new browser that logged in (or tried to) through the login form: (client, response)."""
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    return browser, browser.post("/login", data={"name": name, "password": password,
                                                 "csrf_token": csrf_token(page)})


def user_named(session, name: str):
    """The account of this name, read afresh."""
    from tracker.models import User

    session.expire_all()
    return session.scalars(sa.select(User).where(User.name == name)).one()


def token_for(app, name: str) -> str:
    """A new API token (90 days) for the account of this name, issued as the CLI would."""
    with db.new_session(app) as s:
        token, _row = accounts.issue_token(s, name, audit.CLI, 90)
        s.commit()
    return token


def api_status(client, token: str, path: str = "/api/v1/kpis") -> int:
    """The status an API call with this token gets."""
    return client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code


@pytest.fixture
def auth(client):
    """Login helper."""
    return Auth(client)


# --- budget figures for tests (amounts in 千元) ------------------------------

YILAN = "法務部矯正署宜蘭監獄擴建計畫"
YUNLIN = "法務部矯正署雲林第二監獄擴建計畫"
TAICHUNG = "臺灣高等法院臺中分院檢察署、臺灣臺中地方法院檢察署暨法務部行政執行署臺中分署擴遷建辦公廳舍計畫案"
HSINCHU = "法務部行政執行署新竹分署辦公廳舍自有化中程計畫"


def project_id(session, name: str) -> int:
    """The id of the project with this name."""
    return session.scalar(sa.select(Project.id).where(Project.name == name))


def add_budget(session, name, original, supplementary=0, carried_over=0, kind="capital", synthetic=False):
    """A 106 budget row for a project."""
    session.add(Budget(project_id=project_id(session, name), year_roc=106, kind=kind, original=Decimal(original),
                       supplementary=Decimal(supplementary), carried_over=Decimal(carried_over),
                       is_synthetic=synthetic))


def add_month(session, name, month, allocated, paid, payables=0, savings=0, kind="capital", synthetic=False):
    """A 106 month-end row for a project."""
    session.add(MonthEnd(project_id=project_id(session, name), year_roc=106, month=month, kind=kind,
                         allocated=Decimal(allocated), paid=Decimal(paid), payables=Decimal(payables),
                         savings=Decimal(savings), is_synthetic=synthetic))


BUDGET_CSV_HEADER = "計畫名稱,年度,經資門,原預算數,追加預算數,以前年度保留數"
MONTH_CSV_HEADER = "計畫名稱,年度,月份,經資門,累計分配數,累計實支數,應付未付數,累計賸餘數"


@pytest.fixture
def lagging(seeded, session):
    """宜蘭 lags: 60% of NT$300 million allocated executed by August, NT$120 million unexecuted; 雲林 is on track."""
    add_budget(session, YILAN, 550_000)
    add_month(session, YILAN, 5, 150_000, 100_000)
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)
    add_budget(session, YUNLIN, 200_000)
    add_month(session, YUNLIN, 5, 50_000, 50_000)
    add_month(session, YUNLIN, 8, 100_000, 100_000)
    session.commit()
    return seeded
