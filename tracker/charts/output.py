"""A drawn Figure as bytes: SVG (text kept as text), PNG or PDF (font embedded)."""
from __future__ import annotations

import io

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


def save(fig: Figure, fmt: str) -> bytes:
    """A figure as SVG, PNG or PDF bytes, with the charts' settings (fonts.chart_style) in force."""
    check_format(fmt)
    buffer = io.BytesIO()
    # no creation date nor version stamp: the same chart gives the same bytes
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {"Software": None}}[fmt]
    with fonts.chart_style():
        fig.savefig(buffer, format=fmt, metadata=metadata, dpi=fonts.PNG_DPI if fmt == "png" else "figure")
    return buffer.getvalue()


def retarget_links(svg: bytes, target: str = "_top") -> bytes:
    """Make SVG links open in ``target``: matplotlib writes target="_blank", a page embedding the chart wants _top."""
    if target == "_blank":
        return svg
    return svg.replace(b'target="_blank"', f'target="{target}"'.encode("ascii"))
