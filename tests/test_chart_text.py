"""Names are drawn as they are written: a `$` in a programme's name never goes through matplotlib's mathtext."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from tracker import db
from tracker.models import Project
from tracker.services import accounts, audit
from conftest import YILAN, add_budget, add_month

#: A name mathtext cannot parse (it made every chart answer 500), and names it would typeset.
NAMES = [r"$\frac{1}{$ 計畫", "$x^2$", "A$B$C"]


@pytest.fixture
def headers(seeded, make_user):
    make_user("reader", "leadership")
    with db.new_session(seeded) as s:
        token, _ = accounts.issue_token(s, "reader", audit.CLI, 90)
        s.commit()
    return {"Authorization": f"Bearer {token}"}


def rename(session, name: str) -> int:
    """Give 宜蘭 the odd name, with figures so it is on every chart; its id."""
    project = session.scalars(sa.select(Project).where(Project.name == YILAN)).one()
    add_budget(session, YILAN, 550_000)
    add_month(session, YILAN, 8, 300_000, 150_000)
    project.name = name
    session.commit()
    return project.id


@pytest.mark.parametrize("name", NAMES)
def test_a_dollar_in_a_name_is_drawn_literally(seeded, session, client, headers, name):
    pid = rename(session, name)
    gantt = client.get("/gantt.svg?system=矯正", headers=headers)
    assert gantt.status_code == 200
    assert name.replace("&", "&amp;") in gantt.get_data(as_text=True)  # the literal text, kept as text
    curve = client.get(f"/execution/s-curve.svg?project={pid}", headers=headers)
    assert curve.status_code == 200 and name in curve.get_data(as_text=True)
    for path in ("/gantt.png", "/gantt.pdf", f"/execution/s-curve.png?project={pid}", "/execution/rates.svg"):
        assert client.get(path, headers=headers).status_code == 200, path
    report = client.get("/report.pdf?month=106-08", headers=headers)
    assert report.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(report.data)).pages)
    assert "$" in text
