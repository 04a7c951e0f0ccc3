"""The voice x voice similarity heatmap, as SVG (drawn here, no dependency; every label escaped) and
as PNG (matplotlib, Agg backend, when installed)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

__all__ = ["heatmap_png", "heatmap_png_bytes", "heatmap_svg", "write_heatmaps"]

Matrix = Sequence[Sequence[float | None]]


def _colour(x: float | None, lo: float, hi: float) -> str:
    """White (lo) to deep blue (hi); grey for no value."""
    if x is None or math.isnan(x):
        return "#dddddd"
    t = 0.0 if hi <= lo else min(1.0, max(0.0, (x - lo) / (hi - lo)))
    r, g, b = (int(255 + (c - 255) * t) for c in (8, 48, 107))
    return f"#{r:02x}{g:02x}{b:02x}"


def _range(matrix: Matrix, floor: float | None) -> tuple[float, float]:
    vals = [x for row in matrix for x in row if x is not None and not math.isnan(x)]
    lo: float = floor if floor is not None and not math.isnan(floor) else (min(vals) if vals else 0.0)
    return min(lo, min(vals, default=lo)), 1.0


def heatmap_svg(labels: Sequence[str], matrix: Matrix, *, title: str = "", floor: float | None = None) -> str:
    """A standalone SVG: one cell per voice pair with its cosine; colour runs from the floor to 1."""
    n = len(labels)
    cell, left, top = 64, 150, 60 + (20 if title else 0)
    width, height = left + n * cell + 20, top + n * cell + 40
    lo, hi = _range(matrix, floor)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        out.append(f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>')
    for i, label in enumerate(labels):
        y = top + i * cell + cell / 2 + 4
        x = left + i * cell + cell / 2
        out.append(f'<text x="{left - 8}" y="{y}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<text x="{x}" y="{top - 8}" text-anchor="middle">{escape(label)}</text>')
    for i in range(n):
        for j in range(n):
            value = matrix[i][j]
            fill = _colour(value, lo, hi)
            px, py = left + j * cell, top + i * cell
            out.append(f'<rect x="{px}" y="{py}" width="{cell}" height="{cell}" fill="{fill}" stroke="white"/>')
            if value is not None and not math.isnan(value):
                ink = "white" if (value - lo) / max(hi - lo, 1e-9) > 0.55 else "black"
                out.append(f'<text x="{px + cell / 2}" y="{py + cell / 2 + 4}" text-anchor="middle" '
                           f'fill="{ink}">{value:.2f}</text>')
    note = f"colour: floor {lo:.2f} (white) to 1.00" if floor is not None and not math.isnan(floor) else \
        f"colour: {lo:.2f} (white) to 1.00; floor unknown"
    out.append(f'<text x="{left}" y="{height - 12}">{escape(note)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def heatmap_png_bytes(labels: Sequence[str], matrix: Matrix, *, title: str = "",
                      floor: float | None = None) -> bytes | None:
    """The heatmap as PNG bytes, drawn by matplotlib's Agg renderer through its object API (no pyplot:
    no global figure state, no backend switched under a notebook); None without matplotlib."""
    try:
        from matplotlib import colormaps
        from matplotlib.figure import Figure
    except ImportError:
        return None
    import numpy as np

    n = len(labels)
    data = np.array([[math.nan if x is None else float(x) for x in row] for row in matrix], dtype=float)
    lo, hi = _range(matrix, floor)
    fig = Figure(figsize=(1.2 + 0.9 * max(n, 2), 1.0 + 0.9 * max(n, 2)), dpi=120)
    ax = fig.subplots()
    cmap = colormaps["Blues"].with_extremes(bad="#dddddd")
    im = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=lo, vmax=hi)
    ax.set_xticks(range(n), [str(x) for x in labels], rotation=45, ha="right")
    ax.set_yticks(range(n), [str(x) for x in labels])
    for i in range(n):
        for j in range(n):
            if not math.isnan(data[i, j]):
                ink = "white" if (data[i, j] - lo) / max(hi - lo, 1e-9) > 0.55 else "black"
                ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", color=ink, fontsize=9)
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def heatmap_png(labels: Sequence[str], matrix: Matrix, path: Path, *, title: str = "",
                floor: float | None = None) -> bool:
    """Write :func:`heatmap_png_bytes` to ``path``; False when matplotlib is not installed."""
    png = heatmap_png_bytes(labels, matrix, title=title, floor=floor)
    if png is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return True


def write_heatmaps(stem: Path, labels: Sequence[str], matrix: Matrix, *, title: str = "",
                   floor: float | None = None, png: bool = True, svg_text: str | None = None) -> list[Path]:
    """``<stem>.svg`` always (``svg_text``: the heatmap already drawn), ``<stem>.png`` too when asked and
    matplotlib is there; the paths written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    svg = stem.with_name(stem.name + ".svg")
    if svg_text is None:
        svg_text = heatmap_svg(labels, matrix, title=title, floor=floor)
    svg.write_text(svg_text, encoding="utf-8")
    written = [svg]
    png_path = stem.with_name(stem.name + ".png")
    if png and heatmap_png(labels, matrix, png_path, title=title, floor=floor):
        written.append(png_path)
    return written
