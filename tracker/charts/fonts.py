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
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import matplotlib as mpl
import numpy as np
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
# Text measured outside a figure (charts.report wraps names to a width) uses the bundled font read
# once into memory: FT2Font reading a file object does a seek and a read per FreeType access.

_FONT_BYTES: bytes | None = None
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
    return font


def _forget_memory_font() -> None:
    _memory.__dict__.clear()


if hasattr(os, "register_at_fork"):  # a FreeType face must not cross a fork (gunicorn preloading the app)
    os.register_at_fork(after_in_child=_forget_memory_font)


# --- the font as a PDF writes it ----------------------------------------------------------------
# The Gantt PDF is written directly (charts.output.PdfWriter): its text needs the bundled font's glyph
# ids, advances and a subset of its outlines. They are read from the font file's own tables (the
# OpenType format, not a matplotlib internal): face 0 of the collection, the face matplotlib uses.

#: Tables a CIDFontType2 font program keeps (PDF 32000 9.9: no cmap needed; glyphs by id).
_PDF_TABLES = (b"OS/2", b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"prep")


class PdfFont:
    """Face 0 of the bundled font read from its tables: glyph ids, advances, and subset font programs."""

    def __init__(self, data: bytes):
        self._data = data
        tag = data[:4]
        offset = struct.unpack_from(">I", data, 12)[0] if tag == b"ttcf" else 0
        count = struct.unpack_from(">H", data, offset + 4)[0]
        self.tables: dict[bytes, tuple[int, int]] = {}
        for i in range(count):
            name, _sum, start, length = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
            self.tables[name] = (start, length)
        head = self.table(b"head")
        self.units_per_em = struct.unpack_from(">H", head, 18)[0]
        self.bbox = struct.unpack_from(">hhhh", head, 36)
        long_loca = struct.unpack_from(">h", head, 50)[0] == 1
        self.num_glyphs = struct.unpack_from(">H", self.table(b"maxp"), 4)[0]
        hhea = self.table(b"hhea")
        self.ascent, self.descent = struct.unpack_from(">hh", hhea, 4)
        metrics = struct.unpack_from(">H", hhea, 34)[0]
        hmtx = np.frombuffer(self.table(b"hmtx"), dtype=">u2", count=2 * metrics).reshape(metrics, 2)
        advances = np.empty(self.num_glyphs, dtype=np.int64)
        advances[:metrics] = hmtx[:, 0]
        advances[metrics:] = hmtx[-1, 0]
        self.advances = advances
        loca = self.table(b"loca")
        if long_loca:
            self.loca = np.frombuffer(loca, dtype=">u4", count=self.num_glyphs + 1).astype(np.int64)
        else:
            self.loca = np.frombuffer(loca, dtype=">u2", count=self.num_glyphs + 1).astype(np.int64) * 2
        self.cmap = self._read_cmap()
        self.postscript_name = self._read_name(6) or "WenQuanYiMicroHei"

    def table(self, tag: bytes) -> bytes:
        """The raw bytes of one table."""
        start, length = self.tables[tag]
        return self._data[start:start + length]

    def _read_cmap(self) -> dict[int, int]:
        """The Unicode cmap (format 12 if present, else format 4) as code point -> glyph id."""
        cmap = self.table(b"cmap")
        n = struct.unpack_from(">H", cmap, 2)[0]
        subtables = {}
        for i in range(n):
            platform, encoding, offset = struct.unpack_from(">HHI", cmap, 4 + 8 * i)
            subtables[(platform, encoding)] = offset
        result: dict[int, int] = {}
        offset = subtables.get((3, 10))
        if offset is not None and struct.unpack_from(">H", cmap, offset)[0] == 12:
            groups = struct.unpack_from(">I", cmap, offset + 12)[0]
            for start, end, glyph in struct.iter_unpack(">III", cmap[offset + 16:offset + 16 + 12 * groups]):
                result.update(zip(range(start, end + 1), range(glyph, glyph + end - start + 1)))
            return result
        offset = subtables.get((3, 1), subtables.get((0, 3)))
        segs = struct.unpack_from(">H", cmap, offset + 6)[0] // 2
        arrays = [np.frombuffer(cmap, dtype=">u2", count=segs, offset=offset + 14 + k * 2 * segs + (2 if k else 0))
                  for k in range(4)]
        ends, starts, deltas, ranges = (a.astype(np.int64) for a in arrays)
        range_base = offset + 16 + 6 * segs
        for s in range(segs):
            for code in range(int(starts[s]), int(ends[s]) + 1):
                if code == 0xFFFF:
                    continue
                if ranges[s] == 0:
                    glyph = (code + deltas[s]) & 0xFFFF
                else:
                    at = range_base + 2 * s + int(ranges[s]) + 2 * (code - int(starts[s]))
                    glyph = struct.unpack_from(">H", cmap, at)[0]
                    glyph = (glyph + int(deltas[s])) & 0xFFFF if glyph else 0
                if glyph:
                    result[code] = int(glyph)
        return result

    def _read_name(self, name_id: int) -> str | None:
        names = self.table(b"name")
        count, strings = struct.unpack_from(">HH", names, 2)
        for i in range(count):
            platform, _enc, _lang, nid, length, offset = struct.unpack_from(">HHHHHH", names, 6 + 12 * i)
            if nid == name_id:
                raw = names[strings + offset:strings + offset + length]
                return raw.decode("utf-16-be" if platform in (0, 3) else "latin-1", "replace")
        return None

    def glyph(self, char: str) -> int:
        """The glyph id of a character (0, the missing glyph, when the font lacks it)."""
        return self.cmap.get(ord(char), 0)

    def width(self, text: str, size: float) -> float:
        """The width in points of a one-line text (advances, no kerning), as charts.report.text_width measures."""
        cmap, advances = self.cmap, self.advances
        return sum(int(advances[cmap.get(ord(c), 0)]) for c in text) * size / self.units_per_em

    def _components(self, glyph: int) -> list[int]:
        """The glyphs a composite glyph is built of (none for a simple glyph)."""
        start, end = int(self.loca[glyph]), int(self.loca[glyph + 1])
        glyf_start = self.tables[b"glyf"][0]
        if end - start < 10 or struct.unpack_from(">h", self._data, glyf_start + start)[0] >= 0:
            return []
        found, at = [], glyf_start + start + 10
        while True:
            flags, component = struct.unpack_from(">HH", self._data, at)
            found.append(component)
            at += 4 + (4 if flags & 0x1 else 2)
            at += 2 if flags & 0x8 else 4 if flags & 0x40 else 8 if flags & 0x80 else 0
            if not flags & 0x20:
                return found

    def subset(self, glyphs: set[int]) -> bytes:
        """A TrueType font program with the outlines of these glyphs only (glyph ids kept; others empty)."""
        keep = {0, *glyphs}
        todo = list(keep)
        while todo:
            for component in self._components(todo.pop()):
                if component not in keep:
                    keep.add(component)
                    todo.append(component)
        glyf_start = self.tables[b"glyf"][0]
        sizes = np.zeros(self.num_glyphs, dtype=np.int64)
        parts = []
        for g in sorted(keep):
            start, end = int(self.loca[g]), int(self.loca[g + 1])
            piece = self._data[glyf_start + start:glyf_start + end]
            piece += b"\0" * (-len(piece) % 4)
            sizes[g] = len(piece)
            parts.append(piece)
        loca = np.zeros(self.num_glyphs + 1, dtype=">u4")
        np.cumsum(sizes, out=loca[1:])
        # the advances of glyphs left out are zeroed: the PDF gives every width (W), and zeros cost nothing to deflate
        metrics = struct.unpack_from(">H", self.table(b"hhea"), 34)[0]
        hmtx = np.frombuffer(self.table(b"hmtx"), dtype=">u2", count=2 * metrics).reshape(metrics, 2).copy()
        left_out = np.ones(metrics, dtype=bool)
        left_out[[g for g in keep if g < metrics]] = False
        hmtx[left_out] = 0
        head = bytearray(self.table(b"head"))
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment: not checked by readers
        struct.pack_into(">h", head, 50, 1)  # long loca offsets
        tables = {tag: self.table(tag) for tag in _PDF_TABLES if tag in self.tables}
        tables.update({b"glyf": b"".join(parts), b"loca": loca.tobytes(), b"head": bytes(head),
                       b"hmtx": hmtx.tobytes() + self.table(b"hmtx")[4 * metrics:]})
        return _sfnt(tables)


def _sfnt(tables: dict[bytes, bytes]) -> bytes:
    """A font file of these tables (an OpenType table directory, tables 4-byte aligned)."""
    n = len(tables)
    search = 1 << (n.bit_length() - 1)
    header = struct.pack(">IHHHH", 0x00010000, n, search * 16, n.bit_length() - 1, n * 16 - search * 16)
    offset = 12 + 16 * n
    directory, bodies = [], []
    for tag in sorted(tables):
        body = tables[tag]
        padded = body + b"\0" * (-len(body) % 4)
        checksum = sum(struct.unpack(f">{len(padded) // 4}I", padded)) & 0xFFFFFFFF if len(padded) < 4096 else 0
        directory.append(struct.pack(">4sIII", tag, checksum, offset, len(body)))
        bodies.append(padded)
        offset += len(padded)
    return header + b"".join(directory) + b"".join(bodies)


_PDF_FONT: PdfFont | None = None
_PDF_FONT_LOCK = threading.Lock()


def pdf_font() -> PdfFont:
    """The bundled font's face 0 as the PDF writer uses it (read once per process)."""
    global _PDF_FONT
    with _PDF_FONT_LOCK:
        if _PDF_FONT is None:
            _PDF_FONT = PdfFont(_font_bytes())
        return _PDF_FONT


def deflate(data: bytes) -> bytes:
    """zlib-compressed bytes for a PDF FlateDecode stream."""
    return zlib.compress(data, 1)  # level 1: within a tenth of level 6's size here, in a sixth of the time
