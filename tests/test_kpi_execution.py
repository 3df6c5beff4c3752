"""KPI 九-1 機關年度資本門預算執行率 on the KPI board, computed from the imported capital figures."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from conftest import HSINCHU, TAICHUNG, YILAN, YUNLIN, add_budget, add_month, csrf_token
from tracker.models import Budget, MonthEnd
from tracker.services import kpis
from tracker.services.execution import execution_report

FORMULA = "（實支數＋應付未付數＋賸餘數）÷ 資本門可支用預算數 × 100%"


def board_row(html: str, code: str) -> str:
    return html.split(f'id="kpi-{code}"')[1].split("</tr>")[0]


@pytest.fixture
def ledger(seeded, session):
    """106 capital figures: three programmes report by August, one carries July's, one has a budget only."""
    add_budget(session, YILAN, 500_000, 20_000, 30_000)            # available 550,000 (原 + 追加 + 保留)
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)  # executed 180,000
    add_budget(session, YUNLIN, 200_000)
    add_month(session, YUNLIN, 8, 100_000, 95_000, 5_000)           # executed 100,000
    add_budget(session, TAICHUNG, 1_000_000)
    add_month(session, TAICHUNG, 7, 100_000, 90_000)                # July's stands
    add_budget(session, HSINCHU, 80_000)                            # nothing executed yet
    add_budget(session, YILAN, 9_999, kind="current")               # 經常門 never counts
    add_month(session, YILAN, 8, 9_999, 9_999, kind="current")
    session.commit()
    return seeded


@pytest.fixture
def officer(ledger, make_user, auth, client):
    make_user("officer", "budget_officer")
    auth.login("officer")
    return client


def sums_from_the_tables(session, month: int) -> tuple[D, D]:
    """執行數 and 可支用預算數 summed straight from the rows: each project's latest capital month by ``month``."""
    available = sum((b.original + b.supplementary + b.carried_over) for b in session.scalars(
        sa.select(Budget).where(Budget.year_roc == 106, Budget.kind == "capital")))
    latest: dict[int, MonthEnd] = {}
    for row in session.scalars(sa.select(MonthEnd).where(MonthEnd.year_roc == 106, MonthEnd.kind == "capital",
                                                         MonthEnd.month <= month).order_by(MonthEnd.month)):
        latest[row.project_id] = row
    executed = sum((r.paid + r.payables + r.savings) for r in latest.values())
    return D(executed), D(available)


def test_kpi_9_1_is_executed_over_available_from_the_sums(ledger, session):
    computed = kpis.capital_execution_actual(session, 106)
    executed, available = sums_from_the_tables(session, 8)
    assert (executed, available) == (D(370_000), D(1_830_000))
    assert (computed.executed, computed.available) == (executed, available)
    assert computed.value == executed / available * 100  # from the sums, not an average of the rates
    assert computed.value == execution_report(session, 106, None, "ministry", "capital").total.rates.achievement_rate
    assert (computed.month, computed.is_year_value, computed.is_synthetic) == (8, False, False)
    assert (computed.reported, computed.projects) == (2, 4)
    assert computed.formula == FORMULA
    board = kpis.kpi_board(session, 106, D(5))
    assert [r.kpi.code for r in board if r.computed] == ["九-1"]
    assert next(r for r in board if r.kpi.code == "九-1").kpi.name == "機關年度資本門預算執行率"


def test_the_board_shows_it_with_the_formula_the_month_and_the_coverage(officer):
    row = board_row(officer.get("/kpis?year=106").get_data(as_text=True), "九-1")
    assert "依月報計算：20.22%" in row  # 370,000 ÷ 1,830,000
    assert "年度累計，截至 8 月底" in row and "已報 2／4 個計畫" in row
    assert FORMULA in row and "370,000 ÷ 1,830,000 千元" in row
    assert "模擬資料" not in row
    assert 'aria-label="—"' in row  # the light waits for the actual typed by hand


def test_an_actual_typed_by_hand_is_shown_beside_it(officer):
    page = officer.get("/kpis").get_data(as_text=True)
    assert officer.post("/kpis/九-1/actual?year=106", data={"value": "91.5", "csrf_token": csrf_token(page)}
                        ).status_code == 302
    row = board_row(officer.get("/kpis?year=106").get_data(as_text=True), "九-1")
    assert "填報值：" in row and "91.5 %" in row and "依月報計算：20.22%" in row
    assert 'aria-label="綠燈"' in row  # 91.5% ≥ 90%: the light follows the actual typed by hand


def test_once_december_is_in_it_is_the_years_value(officer, session):
    add_month(session, YILAN, 12, 550_000, 500_000, 30_000, 20_000)  # 550,000
    add_month(session, YUNLIN, 12, 200_000, 190_000)                  # 190,000
    add_month(session, TAICHUNG, 12, 1_000_000, 900_000)             # 900,000
    session.commit()
    computed = kpis.capital_execution_actual(session, 106)
    assert computed.month == 12 and computed.is_year_value
    executed, available = sums_from_the_tables(session, 12)
    assert computed.value == executed / available * 100
    row = board_row(officer.get("/kpis?year=106").get_data(as_text=True), "九-1")
    assert "全年度值（12 月底）" in row and "依月報計算：89.62%" in row  # 1,640,000 ÷ 1,830,000
    assert "已報 3／4 個計畫" in row


def test_demo_figures_are_labelled(seeded, make_user, auth, client, session):
    add_budget(session, YILAN, 100_000, synthetic=True)
    add_month(session, YILAN, 5, 50_000, 40_000, synthetic=True)
    session.commit()
    make_user("lead", "leadership")
    auth.login("lead")
    row = board_row(client.get("/kpis?year=106").get_data(as_text=True), "九-1")
    assert "依月報計算：40.00%" in row and "模擬資料" in row


def test_without_capital_figures_nothing_is_computed(seeded, make_user, auth, client, session):
    add_budget(session, YILAN, 9_999, kind="current")
    add_month(session, YILAN, 3, 9_999, 9_999, kind="current")
    session.commit()
    assert kpis.capital_execution_actual(session, 106) is None
    make_user("lead", "leadership")
    auth.login("lead")
    html = client.get("/kpis?year=106").get_data(as_text=True)
    assert "依月報計算" not in html and "填報值：" not in html
    assert "依月報計算" not in client.get("/kpis?year=107").get_data(as_text=True)
