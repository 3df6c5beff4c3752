"""Phase fractions (1/3) as the plan writes them."""
import pytest

from tracker.domain.phase import Phase, PhaseError, parse_phase, phase_label


def test_parses_half_and_full_width_fractions():
    assert parse_phase("矯正機關智慧監控系統建置計畫(1/3)") == Phase(1, 3)
    assert parse_phase("「提昇法醫鑑識量能計畫」（1/4）") == Phase(1, 4)
    assert parse_phase("毒品及其代謝物來源辨識技術之開發及其應用（1/2）（2年期）") == Phase(1, 2)
    assert parse_phase("法務部調查局資訊設備汰換計畫") is None


def test_label_and_years():
    phase = Phase(1, 3)
    assert phase.label == "第 1 年／共 3 年"
    assert phase.years(106) == (106, 108)
    assert Phase(2, 4).years(106) == (105, 108)
    assert phase_label(None, None) == "—"


@pytest.mark.parametrize("index, total", [(4, 3), (0, 2), (1, 0)])
def test_impossible_phase_is_refused(index, total):
    with pytest.raises(PhaseError):
        Phase(index, total)
