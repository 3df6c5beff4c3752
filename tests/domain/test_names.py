"""Programme names as people type them: 台/臺, full-width letters, spaces and punctuation fold to one key."""
from tracker.domain.names import closest, fold

TAICHUNG = "臺灣高等法院臺中分院檢察署、臺灣臺中地方法院檢察署暨法務部行政執行署臺中分署擴遷建辦公廳舍計畫案"
CHIAYI = "法務部調查局嘉義市調查站辦公房舍遷建計畫"
NAMES = [
    "福建連江地方法院檢察署遷建檔案室",
    TAICHUNG,
    "臺灣彰化地方法院檢察署暨法務部行政執行署彰化分署聯合遷建辦公廳舍計畫",
    CHIAYI,
    "法務部調查局資訊設備汰換計畫",
]


def test_tai_and_tai_fold_to_one_name():
    assert fold("台中分署") == fold("臺中分署")
    assert fold(TAICHUNG) == fold(TAICHUNG.replace("臺", "台"))


def test_full_width_half_width_spaces_and_case_fold():
    assert fold("ＡＢＣ計畫　１２３") == fold("abc 計畫123") == fold(" ABC計畫 123 ")


def test_punctuation_variants_fold():
    assert fold("嘉義市‧調查站") == fold("嘉義市・調查站") == fold("嘉義市·調查站")
    assert fold("第一期（A）") == fold("第一期(A)") == fold("第一期【A】")
    assert fold("計畫－二期") == fold("計畫-二期") == fold("計畫—二期")
    assert fold("「智慧」監控") == fold("“智慧”監控") == fold("智慧監控")


def test_different_names_stay_different():
    assert fold("嘉義市調查站") != fold("嘉義縣調查站")


def test_a_fragment_finds_the_long_official_name_first():
    assert closest("台中分署", NAMES)[0] == TAICHUNG
    assert closest("嘉義調查站", NAMES)[0] == CHIAYI


def test_at_most_n_suggestions_and_none_for_nonsense():
    assert len(closest("檢察署", NAMES, n=3)) == 3
    assert len(closest("檢察署", NAMES, n=1)) == 1
    assert closest("xyz", NAMES) == []
    assert closest("", NAMES) == []


def test_names_folding_alike_are_offered_once():
    assert closest("嘉義", [CHIAYI, CHIAYI.replace("調查站", " 調查站")]) == [CHIAYI]
