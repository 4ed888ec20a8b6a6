"""Self-contained HTML pages: inline CSS, figures embedded as base64 PNG, no script, no network request.

Figures are bare ``matplotlib.figure.Figure`` objects (never pyplot), so rendering a report neither needs nor
changes the process's matplotlib backend (a notebook keeps its inline figures).
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["figure_tag", "page", "section", "table_tag"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#1b1b1b}
h1{font-size:1.6em;border-bottom:2px solid #2b6a4f;padding-bottom:.2em}h2{font-size:1.25em;color:#2b6a4f}
table{border-collapse:collapse;margin:.5em 0 1.2em 0;font-size:.9em}
th,td{border:1px solid #ccd;padding:.25em .6em;text-align:right}th{background:#eef3f0}
td.l,th.l{text-align:left}.warn{background:#fff4e0;border-left:4px solid #e69500;padding:.4em .8em;margin:.3em 0}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}.meta{color:#666;font-size:.85em}
"""


def figure_tag(fig: Figure, caption: str, alt: str) -> str:
    """Render ``fig`` to an embedded PNG ``<figure>`` and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")  # a bare Figure: no pyplot state, no backend
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"/>'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _cell(value: object, fmt: str) -> str:
    if isinstance(value, (float, np.floating)):
        return f"<td>{value:{fmt}}</td>" if np.isfinite(value) else "<td></td>"
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return f"<td>{value:,}</td>" if abs(int(value)) >= 10_000 else f"<td>{value}</td>"  # years stay 2025
    if isinstance(value, pd.Timestamp):
        return f'<td class="l">{value.date() if value == value.normalize() else value}</td>'
    return f'<td class="l">{html.escape(str(value))}</td>'


def table_tag(frame: pd.DataFrame, *, float_format: str = ",.2f", index: bool = False, table_id: str = "") -> str:
    """Render ``frame`` as an HTML table (numbers right-aligned with ``float_format``)."""
    data = frame.reset_index() if index else frame
    head = "".join(f'<th class="l">{html.escape(str(c))}</th>' for c in data.columns)
    rows = "".join(
        "<tr>" + "".join(_cell(v, float_format) for v in row) + "</tr>" for row in data.itertuples(index=False)
    )
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def section(title: str, *parts: str) -> str:
    """A titled section."""
    return f"<section><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def warnings_block(messages: Sequence[str]) -> str:
    """Warnings raised during the run, one box each (or a note that there were none)."""
    if not messages:
        return "<p>No warnings.</p>"
    return "".join(f'<div class="warn">{html.escape(m)}</div>' for m in messages)


def page(title: str, body: str, meta: str = "") -> str:
    """A complete HTML document."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{html.escape(meta)}</p>{body}</body></html>\n'
    )
