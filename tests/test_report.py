"""The monthly report PDF has every section, in Chinese, with ROC dates."""
from __future__ import annotations

from datetime import date

import pytest
from pypdf import PdfReader

from conftest import YILAN, add_budget, add_month
from tracker.services.execution_scan import scan_execution


@pytest.fixture
def month_with_figures(seeded, session):
    add_budget(session, YILAN, 550_000)
    add_month(session, YILAN, 8, 300_000, 150_000, 20_000, 10_000)
    add_month(session, YILAN, 9, 320_000, 160_000, 20_000, 10_000)
    session.commit()
    scan_execution(session, date(2017, 9, 30))
    session.commit()
    return seeded


def test_report_106_09_has_every_section(month_with_figures, runner, tmp_path):
    path = tmp_path / "report.pdf"
    result = runner.invoke(args=["report", "--month", "106-09", "-o", str(path)])
    assert result.exit_code == 0, result.output
    reader = PdfReader(str(path))
    pages = [page.extract_text() for page in reader.pages]
    assert "法務部 106 年度重要計畫管考月報（106年9月）" in pages[0]
    assert "資料截至 106年9月30日" in pages[0]
    assert "重要計畫期程" in pages[1] and "法務部矯正署宜蘭監獄擴建計畫" in pages[1]  # the Gantt
    text = "\n".join(pages)
    assert "預算執行情形" in text and "矯正" in text and "59.38%" in text  # 分配預算執行率 (160 + 20 + 10) ÷ 320
    assert "未解除警示" in text and "分配預算執行率偏低" in text
    assert "關鍵績效指標" in text and "檢察官辦案日數" in text
    assert "模擬資料" not in text  # real (imported) figures: no synthetic notice
    assert b"WenQuanYi" in path.read_bytes()  # the font travels with the file


def test_report_without_figures_still_has_its_sections(seeded, runner, tmp_path):
    path = tmp_path / "empty.pdf"
    assert runner.invoke(args=["report", "--month", "106-09", "-o", str(path)]).exit_code == 0
    text = "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)
    assert "本月尚無預算或月報數字" in text and "目前沒有未解除的警示" in text


def test_report_refuses_a_bad_month(seeded, runner, tmp_path):
    result = runner.invoke(args=["report", "--month", "106-13", "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "月份須為 1 至 12" in result.output
