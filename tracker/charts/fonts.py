"""The charts' one font, shipped as a Python dependency and registered with matplotlib at import.

WenQuanYi Micro Hei (文泉驛微米黑, Apache-2.0) comes in the ``paperang-p2-fonts-cjk`` wheel, so
``pip install -e .`` alone is enough on a fresh machine: no system font is looked up. It covers
Traditional Chinese (Big5 and more) and Latin, and its outlines are TrueType, which is what lets
PDF output embed it as a Type 42 (CID TrueType) font; a CFF-flavoured OpenType font such as
Noto Sans TC would be written into the PDF as a mislabelled font file (matplotlib issue #2869).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

#: The distribution and file that hold the font.
FONT_PACKAGE = "paperang_p2_fonts_cjk"
FONT_RESOURCE = ("fonts", "wqy-microhei.ttc")
#: Families a browser may use for SVG text (kept as text) when it lacks the chart font.
SVG_FALLBACK_FAMILIES = ("Noto Sans TC", "Noto Sans CJK TC", "Microsoft JhengHei", "PingFang TC")
#: Pixels per inch of PNG output.
PNG_DPI = 100


def font_path() -> Path:
    """The font file inside the installed font package."""
    try:
        path = Path(str(resources.files(FONT_PACKAGE).joinpath(*FONT_RESOURCE)))
    except ModuleNotFoundError:
        raise RuntimeError("圖表字型未安裝：請執行 pip install -e .（需要 paperang-p2-fonts-cjk）") from None
    if not path.is_file():
        raise RuntimeError(f"找不到圖表字型檔：{path}")
    return path


def _register(path: Path) -> str:
    """Add the font file to matplotlib's font manager once; its family name."""
    resolved = str(path.resolve())
    known = {str(Path(f.fname).resolve()) for f in font_manager.fontManager.ttflist}
    if resolved not in known:
        font_manager.fontManager.addfont(resolved)
    return font_manager.FontProperties(fname=resolved).get_name()


FONT_PATH = font_path()
#: The family every chart sets its text in ("WenQuanYi Micro Hei").
FONT_FAMILY = _register(FONT_PATH)


def chart_rc() -> dict:
    """The matplotlib settings of every chart: the bundled font, SVG text as text, embedded PDF fonts."""
    return {
        "font.family": "sans-serif",
        # the bundled font draws everything; the rest only name what a browser may use for SVG text
        "font.sans-serif": [FONT_FAMILY, *SVG_FALLBACK_FAMILIES],
        "font.size": 9,
        "axes.unicode_minus": False,
        "text.hinting": "no_hinting",
        "svg.fonttype": "none",  # text stays <text>, searchable and selectable
        "svg.hashsalt": "tracker",  # stable element ids: the same data gives the same SVG
        "pdf.fonttype": 42,  # embed the (subset) TrueType font
        "ps.fonttype": 42,
        "savefig.dpi": PNG_DPI,
    }


# rcParams are process-wide: charts are drawn one at a time so no request sees another's settings.
_LOCK = threading.RLock()


@contextmanager
def chart_style() -> Iterator[None]:
    """Draw and save a chart with :func:`chart_rc` in force (one chart at a time in the process)."""
    with _LOCK, mpl.rc_context(chart_rc()):
        yield
