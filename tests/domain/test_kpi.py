"""KPI lights follow the KPI's direction."""
from decimal import Decimal as D

from tracker.domain.kpi import kpi_light
from tracker.domain.slippage import Light


def test_at_least():
    assert kpi_light("at_least", D(3800), D(3800)) is Light.GREEN
    assert kpi_light("at_least", D(3800), D(3610)) is Light.YELLOW   # 5% short
    assert kpi_light("at_least", D(3800), D(3609)) is Light.RED
    assert kpi_light("at_least", D(90), None) is Light.NONE


def test_at_most():
    assert kpi_light("at_most", D(52), D(52)) is Light.GREEN          # 檢察官辦案日數: fewer days is better
    assert kpi_light("at_most", D(52), D("54.6")) is Light.YELLOW
    assert kpi_light("at_most", D(52), D(55)) is Light.RED
    assert kpi_light("at_most", D(11), D(9)) is Light.GREEN           # 超收率 11% 以下
    assert kpi_light("at_most", D(11), D(12), near_miss_pct=D(10)) is Light.YELLOW
