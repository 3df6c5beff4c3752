"""A drawn Figure as bytes: SVG (text kept as text), PNG or PDF (font embedded)."""
from __future__ import annotations

import codecs
import io
import struct
import zlib

import matplotlib as mpl
import numpy as np
from matplotlib import cbook
from matplotlib.backends.backend_agg import (
    FigureCanvasAgg,
    RendererAgg,
    get_hinting_flag,
)
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.figure import Figure
from matplotlib.ft2font import LoadFlags
from matplotlib.textpath import TextToPath

from tracker.charts import fonts

#: Output formats and their MIME types.
FORMATS = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


class ChartFormatError(ValueError):
    """An output format other than svg, png or pdf."""


def check_format(fmt: str) -> str:
    """The format if it is one the charts write, else ChartFormatError."""
    if fmt not in FORMATS:
        raise ChartFormatError(f"圖表格式須為 {'、'.join(FORMATS)} 之一，而非「{fmt}」")
    return fmt


def mimetype(fmt: str) -> str:
    """The MIME type of an output format."""
    return FORMATS[check_format(fmt)]


class _MemoryFontText:
    """Text measured and drawn with the bundled font read from memory (fonts.memory_font) when it covers the text.

    Mixed into a renderer (or TextToPath): matplotlib's own code runs unchanged and gets the same face
    from ``_memory_font``, so the same numbers and pixels come out, in a third of the time; measurements
    are also remembered from chart to chart (fonts.remembered_extent).
    """

    _use_memory_font = False

    def _with_memory_font(self, text: str, ismath, call):
        outer = self._use_memory_font
        self._use_memory_font = not ismath and not mpl.rcParams["text.kerning_factor"] and fonts.covers(text)
        try:
            return call()
        finally:
            self._use_memory_font = outer

    def _bundled(self, prop) -> bool:
        known = self.__dict__.setdefault("_bundled_props", {})  # per renderer: one figure, a few font sizes
        if prop not in known:
            known[prop.copy()] = fonts.is_bundled(prop)
        return known[prop]

    def _memory_font(self, prop):
        """The font from memory if the text at hand may use it, else None."""
        return fonts.memory_font() if self._use_memory_font and self._bundled(prop) else None

    def _measure(self, s, prop, ismath, dpi, flags, measure):
        """``measure()``, remembered when the bundled font from memory sets the text."""
        def call():
            if self._use_memory_font and self._bundled(prop):
                key = (type(self).__name__, s, prop.get_size_in_points(), dpi, flags)
                return fonts.remembered_extent(key, measure)
            return measure()
        return self._with_memory_font(s, ismath, call)

    def _font_height_metrics(self, prop, dpi: float):
        """The ascent, descent and line gap matplotlib's text layout reads from the font (None: it reads them itself).

        Text layout asks a renderer that has ``_get_font_height_metrics`` (matplotlib 3.11) rather than
        looking the font up and reading its tables for every text it lays out.
        """
        if not self._bundled(prop):
            return None, None, None
        return fonts.height_metrics(prop.get_size_in_points(), dpi)


class _TextToPath(_MemoryFontText, TextToPath):
    def get_text_width_height_descent(self, s, prop, ismath):
        parent = super()
        return self._measure(s, prop, ismath, self.DPI, LoadFlags.NO_HINTING,
                             lambda: parent.get_text_width_height_descent(s, prop, ismath))

    def _get_font(self, prop):
        font = self._memory_font(prop)
        if font is None:
            return super()._get_font(prop)
        font.set_size(self.FONT_SCALE, self.DPI)
        return font


class _RendererSVG(RendererSVG):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._text2path = _TextToPath()

    def _get_font_height_metrics(self, prop):
        return self._text2path._font_height_metrics(prop, 72)  # the figure is at 72 dpi while written as SVG


class _CanvasSVG(FigureCanvasSVG):
    def print_svg(self, filename, *, bbox_inches_restore=None, metadata=None, **_other_renderers_options):
        """FigureCanvasSVG.print_svg with the renderer above (print_figure passes every option to a print method of ours)."""
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as fh:
            if not cbook.file_requires_unicode(fh):
                fh = codecs.getwriter("utf-8")(fh)
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            renderer = MixedModeRenderer(self.figure, width, height, dpi,
                                         _RendererSVG(width * 72, height * 72, fh, image_dpi=dpi, metadata=metadata),
                                         bbox_inches_restore=bbox_inches_restore)
            self.figure.draw(renderer)
            renderer.finalize()


class _RendererAgg(_MemoryFontText, RendererAgg):
    def get_text_width_height_descent(self, s, prop, ismath):
        parent = super()
        return self._measure(s, prop, ismath, self.dpi, get_hinting_flag(),
                             lambda: parent.get_text_width_height_descent(s, prop, ismath))

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        parent = super()
        return self._with_memory_font(s, ismath, lambda: parent.draw_text(gc, x, y, s, prop, angle, ismath, mtext))

    def _prepare_font(self, font_prop):
        font = self._memory_font(font_prop)
        if font is None:
            return super()._prepare_font(font_prop)
        font.clear()
        font.set_size(font_prop.get_size_in_points(), self.dpi)
        if hasattr(font, "_layout"):  # matplotlib 3.11 lays text out glyph by glyph: remember the layouts
            return fonts.RememberedLayouts(font, font_prop.get_size_in_points(), self.dpi)
        return font

    def _get_font_height_metrics(self, prop):
        return self._font_height_metrics(prop, self.dpi)  # the figure's resolution while it is drawn


#: zlib level of PNG output: with the Up filter, as small as Pillow's default output of a chart, in a third of the time.
PNG_COMPRESSION = 3
#: Rows filtered and deflated at a time.
PNG_BAND_ROWS = 256


def png_bytes(rgba: np.ndarray, dpi: float) -> bytes:
    """An RGBA image (rows top to bottom) as PNG: every row filtered with Up, deflated in one IDAT chunk.

    Pillow tries all five PNG filters on every row; a chart (bands, grid lines, bars: rows much like
    the row above) compresses as well with Up alone, which numpy computes for the whole image at once.
    """
    height, width, _ = rgba.shape
    rows = rgba.reshape(height, width * 4)
    # filtered and deflated a band of rows at a time: a 200-row chart is 20 MB of pixels, and a
    # second and third copy of it would raise the web worker's peak memory for nothing
    deflate = zlib.compressobj(PNG_COMPRESSION)
    parts = []
    band = np.empty((PNG_BAND_ROWS, width * 4 + 1), dtype=np.uint8)
    band[:, 0] = 2  # the Up filter: each byte minus the one above it (modulo 256)
    for top in range(0, height, PNG_BAND_ROWS):
        n = min(PNG_BAND_ROWS, height - top)
        if top == 0:
            band[0, 1:] = rows[0]
            np.subtract(rows[1:n], rows[:n - 1], out=band[1:n, 1:])
        else:
            np.subtract(rows[top:top + n], rows[top - 1:top + n - 1], out=band[:n, 1:])
        parts.append(deflate.compress(memoryview(band[:n]).cast("B")))
    parts.append(deflate.flush())
    idat = b"".join(parts)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    per_metre = int(dpi / 0.0254 + 0.5)  # as Pillow writes the resolution
    return b"".join((b"\x89PNG\r\n\x1a\n",
                     chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)),  # 8-bit RGBA
                     chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
                     chunk(b"IDAT", idat),
                     chunk(b"IEND", b"")))


class _CanvasAgg(FigureCanvasAgg):
    def print_png(self, filename_or_obj, *, metadata=None, pil_kwargs=None, **_other_renderers_options):
        """Draw and write the PNG with :func:`png_bytes` (Pillow when asked for metadata or options)."""
        if pil_kwargs or any(value is not None for value in (metadata or {}).values()):
            return super().print_png(filename_or_obj, metadata=metadata, pil_kwargs=pil_kwargs)
        FigureCanvasAgg.draw(self)
        content = png_bytes(np.asarray(self.buffer_rgba()), self.figure.dpi)
        with cbook.open_file_cm(filename_or_obj, "wb") as fh:
            fh.write(content)

    def get_renderer(self):
        """FigureCanvasAgg.get_renderer with the renderer above."""
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _RendererAgg(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


#: Canvases of the formats whose text the bundled font in memory speeds up (PDF embeds the font file: as matplotlib does).
_CANVASES = {"svg": _CanvasSVG, "png": _CanvasAgg}


def save(fig: Figure, fmt: str) -> bytes:
    """A figure as SVG, PNG or PDF bytes, with the charts' settings (fonts.chart_style) in force."""
    check_format(fmt)
    # SVG is text: written to a str buffer it needs no encoding stream, which costs a call per XML fragment
    buffer = io.StringIO() if fmt == "svg" else io.BytesIO()
    # no creation date nor version stamp: the same chart gives the same bytes
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}[fmt]
    with fonts.chart_style():
        if fmt in _CANVASES:
            _CANVASES[fmt](fig)  # becomes fig.canvas, which savefig prints with
        fig.savefig(buffer, format=fmt, metadata=metadata, dpi=fonts.PNG_DPI if fmt == "png" else "figure")
    content = buffer.getvalue()
    return content.encode("utf-8") if isinstance(content, str) else content


def retarget_links(svg: bytes, target: str = "_top") -> bytes:
    """Make SVG links open in ``target``: matplotlib writes target="_blank", a page embedding the chart wants _top."""
    if target == "_blank":
        return svg
    return svg.replace(b'target="_blank"', f'target="{target}"'.encode("ascii"))
