"""The charts' one font, shipped as a Python dependency and registered with matplotlib at import.

WenQuanYi Micro Hei (文泉驛微米黑, Apache-2.0) comes in the ``paperang-p2-fonts-cjk`` wheel, so
``pip install -e .`` alone is enough on a fresh machine: no system font is looked up. It covers
Traditional Chinese (Big5 and more) and Latin, and its outlines are TrueType, which is what lets
PDF output embed it as a Type 42 (CID TrueType) font; a CFF-flavoured OpenType font such as
Noto Sans TC would be written into the PDF as a mislabelled font file (matplotlib issue #2869).
"""
from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

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


# --- the font read from memory ------------------------------------------------------------------
# matplotlib reads a font file through a Python file object, a seek and a read per FreeType access,
# so every glyph measured or drawn costs tens of microseconds; a chart of 200 rows and a few hundred
# year labels draws some 5,000. The chart renderers (charts.output) measure and draw text that the
# bundled font covers with the same font read from memory: the same FreeType calls, the same result.

_FONT_BYTES: bytes | None = None
_REAL_PATH = os.path.realpath(FONT_PATH)
_memory = threading.local()  #: FreeType faces are not shared between threads (nor, below, across fork)


def _font_bytes() -> bytes:
    global _FONT_BYTES
    if _FONT_BYTES is None:
        _FONT_BYTES = FONT_PATH.read_bytes()
    return _FONT_BYTES


def memory_font() -> FT2Font:
    """This thread's FT2Font of the bundled font (its first face, the one matplotlib registered), read from memory."""
    font = getattr(_memory, "font", None)
    if font is None:
        font = _memory.font = FT2Font(io.BytesIO(_font_bytes()))
        _memory.covered = {}
    reset = getattr(font, "_set_transform", None)  # as font_manager.get_font does: drawing leaves a transform
    if reset is not None:
        reset([[0x10000, 0], [0, 0x10000]], [0, 0])
    return font


def covers(text: str) -> bool:
    """Whether the bundled font has a glyph for every character (else matplotlib's fallback fonts draw some)."""
    font = memory_font()
    covered: dict[str, bool] = _memory.covered
    for char in text:
        known = covered.get(char)
        if known is None:
            known = covered[char] = font.get_char_index(ord(char)) != 0
        if not known:
            return False
    return True


def is_bundled(prop: font_manager.FontProperties) -> bool:
    """Whether matplotlib sets text of these properties in the bundled font first (its first face)."""
    first = font_manager.fontManager._find_fonts_by_props(prop)[0]
    return os.path.realpath(first) == _REAL_PATH and getattr(first, "face_index", 0) == 0


def height_metrics(size_pt: float, dpi: float) -> tuple[float, float, float]:
    """The bundled font's ascent, descent and line gap at a size, as matplotlib's text layout computes them."""
    key = (size_pt, dpi)
    cached = _HEIGHTS.get(key)
    if cached is None:
        font = memory_font()
        for table_name, gap_key, ascent_key, descent_key in (("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
                                                             ("hhea", "lineGap", "ascent", "descent")):
            table = font.get_sfnt_table(table_name)
            if table is None:
                continue
            # the very expression of matplotlib.text.Text._get_layout, for the very same floats
            scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * size_pt * dpi / 72
            cached = _HEIGHTS[key] = (table[ascent_key] * scale, -table[descent_key] * scale, table[gap_key] * scale)
            break
        else:
            cached = (None, None, None)
    return cached


_HEIGHTS: dict[tuple[float, float], tuple] = {}
#: Text extents measured with the bundled font, by text, size, resolution and load flags: the labels of
#: a portfolio come back chart after chart, and measuring one costs FreeType a glyph load per character.
_EXTENTS: dict[tuple, tuple[float, float, float]] = {}
_EXTENTS_MAX = 20_000
_LAYOUTS_MAX = 5_000  #: a layout holds an item per glyph


def remembered_extent(key: tuple, measure) -> tuple[float, float, float]:
    """``measure()`` (width, height, descent of a text in the bundled font), remembered under ``key``."""
    extent = _EXTENTS.get(key)
    if extent is None:
        if len(_EXTENTS) >= _EXTENTS_MAX:
            _EXTENTS.clear()
        extent = _EXTENTS[key] = measure()
    return extent


class RememberedLayouts:
    """The font from memory at one size, whose glyph layouts (``FT2Font._layout``) are remembered by text.

    The Agg renderer lays a text out (shaping it, loading each glyph) before drawing its glyphs; the
    layout depends on the text, the size and the load flags only, and the same labels come back.
    Everything else is the font's own.
    """

    def __init__(self, font: FT2Font, size_pt: float, dpi: float):
        self._font, self._size = font, (size_pt, dpi)

    def _layout(self, text, flags, features=None, language=None):
        layouts: dict = _memory.__dict__.setdefault("layouts", {})
        key = (text, self._size, flags, features, language)
        items = layouts.get(key)
        if items is None:
            if len(layouts) >= _LAYOUTS_MAX:
                layouts.clear()
            items = layouts[key] = self._font._layout(text, flags, features=features, language=language)
        return items

    def __getattr__(self, name):
        return getattr(self._font, name)


def _forget_memory_font() -> None:
    _memory.__dict__.clear()


if hasattr(os, "register_at_fork"):  # a FreeType face must not cross a fork (gunicorn preloading the app)
    os.register_at_fork(after_in_child=_forget_memory_font)
