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

from carbonrisk.portfolios.formatting import Unit, column_label, column_unit, format_value

__all__ = ["figure_tag", "page", "section", "table_tag"]

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;color:#1b1b1b}
h1{font-size:1.6em;border-bottom:2px solid #2b6a4f;padding-bottom:.2em}h2{font-size:1.25em;color:#2b6a4f}
table{border-collapse:collapse;margin:.5em 0 1.2em 0;font-size:.82em;max-width:100%}
th,td{border:1px solid #ccd;padding:.25em .45em;text-align:right}th{background:#eef3f0;vertical-align:bottom}
td{white-space:nowrap}.tw{max-width:100%}p.cap{font-size:.85em;color:#555;margin:-.9em 0 1.2em 0}
td.l,th.l{text-align:left}.warn{background:#fff4e0;border-left:4px solid #e69500;padding:.4em .8em;margin:.3em 0}
figure{margin:1em 0}figcaption{font-size:.85em;color:#555}.meta{color:#666;font-size:.85em}
figure img{max-width:100%;height:auto}h3{font-size:1.02em;margin:.8em 0 .3em 0}
td.l{white-space:normal;max-width:36em}.cols{display:flex;gap:2em;flex-wrap:wrap}.cols>div{flex:1 1 30em;min-width:0}
.bar{display:inline-block;width:9em;height:.8em;background:#e4e9e6;vertical-align:middle}.bar>div{height:100%}
#summary ul{margin:.2em 0;padding-left:1.2em}#summary li{margin:.15em 0}li.w{color:#7a4a00}
.toc ol{columns:3;font-size:.9em;margin:.2em 0}.toc h2{font-size:1.1em}
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


def _cell(value: object, unit: Unit) -> str:
    text = html.escape(format_value(value, unit))
    if unit in (Unit.TEXT, Unit.DATE) or not isinstance(value, int | float | np.integer | np.floating):
        return f'<td class="l">{text}</td>'
    return f"<td>{text}</td>"


def _wrap(table: str, caption: str) -> str:
    """A table in its wrapper, the caption below it as a paragraph as wide as the page (a ``<caption>`` would be
    squeezed to the width of a narrow table)."""
    cap = f'<p class="cap">{html.escape(caption)}</p>' if caption else ""
    return f'<div class="tw">{table}{cap}</div>'


_WIDE_COLUMNS = 12
_WIDE_ROWS = 6


def _transposed_table(data: pd.DataFrame, units: object, table_id: str, caption: str) -> str:
    """A wide table with few rows, one row per column (so it fits the page): fields down, items across."""
    unit_map = units if isinstance(units, dict) else None
    first, *fields = list(data.columns)
    head = f'<th class="l">{html.escape(column_label(first, unit_map))}</th>' + "".join(
        f'<th class="l">{html.escape(str(v))}</th>' for v in data[first]
    )
    rows = "".join(
        f'<tr><td class="l">{html.escape(column_label(c, unit_map))}</td>'
        + "".join(_cell(v, column_unit(c, unit_map)) for v in data[c])
        + "</tr>"
        for c in fields
    )
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return _wrap(f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>", caption)


def table_tag(frame: pd.DataFrame, *, index: bool = False, table_id: str = "", caption: str = "") -> str:
    """Render ``frame`` as an HTML table, each column formatted by its unit (:mod:`carbonrisk.portfolios.formatting`).

    Headers are readable labels with the unit (``NPV P5 (CNY)``); ``frame.attrs["units"]`` overrides the unit read
    from a column name. A table of more than 12 columns and at most 6 rows is shown transposed (one row per
    column, the first column's values as headers), so it fits a 1280 px page.
    """
    data = frame.reset_index() if index else frame
    units = frame.attrs.get("units")
    if len(data.columns) > _WIDE_COLUMNS and 0 < len(data) <= _WIDE_ROWS:
        return _transposed_table(data, units, table_id, caption)
    columns = list(data.columns)
    kinds = [column_unit(c, units) for c in columns]
    head = "".join(f'<th class="l">{html.escape(column_label(c, units))}</th>' for c in columns)
    rows = "".join(
        "<tr>" + "".join(_cell(v, k) for v, k in zip(row, kinds, strict=True)) + "</tr>"
        for row in data.itertuples(index=False)
    )
    ident = f' id="{html.escape(table_id)}"' if table_id else ""
    return _wrap(f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>", caption)


def section(title: str, *parts: str, anchor: str = "", keep: bool = False) -> str:
    """A titled section (``anchor`` for the table of contents; ``keep``: no page break before it in the PDF)."""
    ident = f' id="{html.escape(anchor)}"' if anchor else ""
    cls = ' class="keep"' if keep else ""
    return f"<section{ident}{cls}><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def warnings_block(messages: Sequence[str]) -> str:
    """Warnings raised during the run, one box each (or a note that there were none)."""
    if not messages:
        return "<p>No warnings.</p>"
    return "".join(f'<div class="warn">{html.escape(m)}</div>' for m in messages)


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _print_css(footer: str) -> str:
    """A4 print layout: margins, a page break before each section, ``footer`` and page numbers on every page."""
    small = "font-size:8pt;color:#555"
    return (
        "@page{size:A4;margin:14mm 12mm 16mm 12mm;"
        f"@bottom-left{{content:{_css_string(footer)};{small}}}"
        f'@bottom-right{{content:"page " counter(page) " of " counter(pages);{small}}}}}'
        "@media print{body{max-width:none;margin:0;font-size:9pt}section{break-before:page}"
        ".bar,.bar>div{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
        "section:first-of-type,section.keep{break-before:auto}figure img{max-width:100%}tr,figure{break-inside:avoid}}"
    )


def page(title: str, body: str, meta: str = "", footer: str = "") -> str:
    """A complete HTML document; ``footer`` is printed at the bottom of every PDF page (e.g. the run id)."""
    css = _CSS + _print_css(footer or title)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/>'
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{html.escape(meta)}</p>{body}</body></html>\n'
    )
