"""A drawn Figure as bytes: SVG (text kept as text), PNG or PDF (font embedded); and a lean PDF writer.

Only matplotlib's public API: a figure is saved by its own canvases (PNG pixels drawn by
FigureCanvasAgg, then encoded by :func:`png_bytes`). A chart's bytes are kept under the data stamp by
the views (web.charts), so a chart is drawn once per change of the data, not once per request.
"""
from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

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


def save(fig: Figure, fmt: str, dpi: float | None = None) -> bytes:
    """A figure as SVG, PNG (at ``dpi``, default fonts.PNG_DPI) or PDF bytes, with fonts.chart_style in force."""
    check_format(fmt)
    with fonts.chart_style():
        if fmt == "png":  # drawn by matplotlib's Agg canvas, encoded by png_bytes (Pillow tries five filters a row)
            canvas = FigureCanvasAgg(fig)
            saved_dpi = fig.dpi
            fig.dpi = dpi or fonts.PNG_DPI
            try:
                canvas.draw()
                return png_bytes(np.asarray(canvas.buffer_rgba()), fig.dpi)
            finally:
                fig.dpi = saved_dpi
        # SVG is text: written to a str buffer it needs no encoding stream, which costs a call per XML fragment
        buffer = io.StringIO() if fmt == "svg" else io.BytesIO()
        # no creation date nor version stamp: the same chart gives the same bytes
        metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}[fmt]
        fig.savefig(buffer, format=fmt, metadata=metadata, dpi="figure")
    content = buffer.getvalue()
    return content.encode("utf-8") if isinstance(content, str) else content


def retarget_links(svg: bytes, target: str = "_top") -> bytes:
    """Make SVG links open in ``target``: matplotlib writes target="_blank", a page embedding the chart wants _top."""
    if target == "_blank":
        return svg
    return svg.replace(b'target="_blank"', f'target="{target}"'.encode("ascii"))


# --- PDF written directly -------------------------------------------------------------------------
# A paged Gantt is rectangles, lines and one-line texts: written as PDF operators it takes a few
# milliseconds a page, where drawing matplotlib Figures into its PDF backend took a tenth of a second.

def _num(value: float) -> str:
    return f"{value:.2f}"  # hundredths of a point; trailing zeros cost nothing once deflated


def _rgb(color: str) -> str:
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return f"{_num(r)} {_num(g)} {_num(b)}"


class PdfPage:
    """One page being drawn, in points from its top-left corner (y downwards, as the layout is computed)."""

    def __init__(self, writer: "PdfWriter", width: float, height: float):
        self.writer, self.width, self.height = writer, width, height
        self.ops: list[str] = []
        self._fill = self._stroke = self._alpha = self._line = None

    def _set_fill(self, color: str, alpha: float = 1.0) -> None:
        if color != self._fill:
            self.ops.append(f"{_rgb(color)} rg")
            self._fill = color
        if alpha != self._alpha:
            self.ops.append(f"/{self.writer.alpha_state(alpha)} gs")
            self._alpha = alpha

    def _set_stroke(self, color: str, width: float, dash: tuple[float, ...] = ()) -> None:
        if color != self._stroke:
            self.ops.append(f"{_rgb(color)} RG")
            self._stroke = color
        if (width, dash) != self._line:
            self.ops.append(f"{_num(width)} w [{' '.join(_num(d) for d in dash)}] 0 d")
            self._line = (width, dash)

    def rect(self, x: float, y: float, w: float, h: float, color: str, alpha: float = 1.0) -> None:
        """A filled rectangle: top-left corner (x, y), width and height."""
        self._set_fill(color, alpha)
        self.ops.append(f"{_num(x)} {_num(self.height - y - h)} {_num(w)} {_num(h)} re f")

    def polygon(self, points: list[tuple[float, float]], color: str, edge: str | None = None,
                edge_width: float = 0.5) -> None:
        """A filled polygon (outlined in ``edge`` if given)."""
        self.polygons([points], color, edge, edge_width)

    def polygons(self, shapes: list[list[tuple[float, float]]], color: str, edge: str | None = None,
                 edge_width: float = 0.5) -> None:
        """Filled polygons of one colour as one path (outlined in ``edge`` if given)."""
        if not shapes:
            return
        self._set_fill(color)
        if edge:
            self._set_stroke(edge, edge_width)
        h = self.height
        path = " ".join(" ".join(f"{x:.2f} {h - y:.2f} {'m' if i == 0 else 'l'}" for i, (x, y) in enumerate(points))
                        + " h" for points in shapes)
        self.ops.append(f"{path} {'b' if edge else 'f'}")

    def lines(self, segments: list[tuple[float, float, float, float]], color: str, width: float,
              dash: tuple[float, ...] = ()) -> None:
        """Straight lines of one style, each from (x0, y0) to (x1, y1)."""
        if not segments:
            return
        self._set_stroke(color, width, dash)
        h = self.height
        self.ops.append(" ".join(f"{_num(a)} {_num(h - b)} m {_num(c)} {_num(h - d)} l" for a, b, c, d in segments)
                        + " S")

    def text(self, x: float, y: float, text: str, size: float, color: str = "#000000", align: str = "left",
             valign: str = "baseline") -> float:
        """One line of text at (x, y): left, center or right of x; y its baseline, top or center. Its width."""
        if not text:
            return 0.0
        font = self.writer.font
        width = font.width(text, size)
        if align == "center":
            x -= width / 2
        elif align == "right":
            x -= width
        ascent, descent = font.ascent * size / font.units_per_em, font.descent * size / font.units_per_em
        if valign == "top":
            y += ascent
        elif valign == "center":
            y += (ascent + descent) / 2
        self._set_fill(color)
        self.ops.append(f"BT /F1 {_num(size)} Tf {_num(x)} {_num(self.height - y)} Td <{self.writer.encode(text)}> Tj ET")
        return width

    def content(self) -> bytes:
        """The page's content stream."""
        return "\n".join(self.ops).encode("ascii")


class PdfWriter:
    """A PDF of pages drawn with :class:`PdfPage`, its text set in the bundled font (embedded, subset, searchable)."""

    def __init__(self, title: str = ""):
        self.font = fonts.pdf_font()
        self.title = title
        self.pages: list[PdfPage] = []
        self._glyphs: dict[int, str] = {}  #: glyph id -> the text it stands for (ToUnicode)
        self._alphas: dict[float, str] = {}

    def page(self, width: float, height: float) -> PdfPage:
        """A new page of this size in points."""
        page = PdfPage(self, width, height)
        self.pages.append(page)
        return page

    def alpha_state(self, alpha: float) -> str:
        """The name of the graphics state that sets this fill opacity."""
        return self._alphas.setdefault(alpha, f"GS{len(self._alphas)}")

    def encode(self, text: str) -> str:
        """The text as hex glyph ids (Identity-H), noting each glyph for the subset and the ToUnicode map."""
        font, glyphs = self.font, self._glyphs
        out = []
        for char in text:
            g = font.glyph(char)
            if g not in glyphs:
                glyphs[g] = char
            if not g and not char.isspace():  # drawn as the empty box, and said, as matplotlib says it
                warnings.warn(f"Glyph {ord(char)} ({char!r}) missing from font(s) {fonts.FONT_FAMILY}.", stacklevel=2)
            out.append(f"{g:04x}")
        return "".join(out)

    def _font_objects(self, first: int) -> list[bytes]:
        """The Type0 font, its CIDFont, descriptor, font program and ToUnicode map, numbered from ``first``."""
        font = self.font
        scale = 1000 / font.units_per_em
        used = sorted(self._glyphs)
        tag = "".join(chr(65 + (sum(used) // 26 ** i) % 26) for i in range(6))
        name = f"{tag}+{font.postscript_name}"
        widths = " ".join(f"{g} [{_num(int(font.advances[g]) * scale)}]" for g in used)
        program = fonts.deflate(font.subset(set(used)))
        bbox = " ".join(_num(v * scale) for v in font.bbox)
        cmap_lines = [f"<{g:04x}> <{''.join(f'{u:04x}' for u in _utf16(self._glyphs[g]))}>" for g in used if g]
        to_unicode = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CIDSystemInfo << /Registry "
                      "(Adobe) /Ordering (UCS) /Supplement 0 >> def /CMapName /Adobe-Identity-UCS def /CMapType 2 def "
                      "1 begincodespacerange <0000> <ffff> endcodespacerange\n"
                      + "".join(f"{min(100, len(cmap_lines) - i)} beginbfchar\n" + "\n".join(cmap_lines[i:i + 100])
                                + "\nendbfchar\n" for i in range(0, len(cmap_lines), 100))
                      + "endcmap CMapName currentdict /CMap defineresource pop end end").encode("ascii")
        to_unicode = fonts.deflate(to_unicode)
        return [
            f"<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H "
            f"/DescendantFonts [{first + 1} 0 R] /ToUnicode {first + 4} 0 R >>".encode("ascii"),
            f"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} /CIDSystemInfo << /Registry (Adobe) "
            f"/Ordering (Identity) /Supplement 0 >> /FontDescriptor {first + 2} 0 R /CIDToGIDMap /Identity "
            f"/DW 1000 /W [{widths}] >>".encode("ascii"),
            f"<< /Type /FontDescriptor /FontName /{name} /Flags 4 /FontBBox [{bbox}] /ItalicAngle 0 "
            f"/Ascent {_num(font.ascent * scale)} /Descent {_num(font.descent * scale)} /CapHeight "
            f"{_num(font.ascent * scale)} /StemV 80 /FontFile2 {first + 3} 0 R >>".encode("ascii"),
            _stream(program, "/Filter /FlateDecode"),
            _stream(to_unicode, "/Filter /FlateDecode"),
        ]

    def bytes(self) -> bytes:
        """The whole document (no creation date: the same pages give the same bytes)."""
        objects: list[bytes | None] = [None, None]  # 1 catalog, 2 page tree
        page_ids = []
        font_first = 3
        resources_id = font_first + 5
        for page in self.pages:
            content_id = resources_id + 1 + 2 * len(page_ids)
            page_ids.append(content_id + 1)
        fonts_part = self._font_objects(font_first)
        states = " ".join(f"/{name} << /Type /ExtGState /ca {_num(alpha)} /CA {_num(alpha)} >>"
                          for alpha, name in self._alphas.items())
        resources = f"<< /Font << /F1 {font_first} 0 R >> /ExtGState << {states} >> >>".encode("ascii")
        objects += fonts_part + [resources]
        for page, page_id in zip(self.pages, page_ids):
            objects.append(_stream(fonts.deflate(page.content()), "/Filter /FlateDecode"))
            objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_num(page.width)} {_num(page.height)}] "
                           f"/Resources {resources_id} 0 R /Contents {page_id - 1} 0 R >>".encode("ascii"))
        objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
        objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{i} 0 R' for i in page_ids)}] /Count {len(page_ids)} >>" \
            .encode("ascii")
        info_id = len(objects) + 1
        objects.append(b"<< /Title <" + ("\ufeff" + self.title).encode("utf-16-be").hex().encode("ascii")
                       + b"> /Producer (tracker) >>")
        out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(objects, start=1):
            offsets.append(len(out))
            out += f"{number} 0 obj\n".encode("ascii") + body + b"\nendobj\n"
        xref = len(out)
        out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
        out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode("ascii")
        out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\n"
                f"startxref\n{xref}\n%%EOF\n").encode("ascii")
        return bytes(out)


def _stream(data: bytes, extra: str = "") -> bytes:
    return f"<< /Length {len(data)} {extra} >>\nstream\n".encode("ascii") + data + b"\nendstream"


def _utf16(text: str) -> list[int]:
    raw = text.encode("utf-16-be")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]
