"""Sphinx extension of the carbonrisk documentation: reference pages generated from the code, test citations.

Nothing in the reference is written by hand, so it cannot drift from the code:

* ``.. carbonrisk-cli::`` renders every command and option of the ``carbonrisk`` command line from its argument
  parser (:func:`carbonrisk.portfolios.cli.build_parser`), including each command's epilog (the ``--json`` keys);
* ``.. carbonrisk-keys:: GROUP`` renders the declared file keys of one group (``portfolio``, ``command-line``,
  ``instrument``, ``contract-market``, ``geothermal``) from the validation declarations
  (:class:`carbonrisk.models.validation.Quantity`): type, unit, default, valid range and description;
* the role ``:test:`tests/path/test_file.py::test_name``` cites the test that checks a claim. It links to the
  test's source on the generated *validation evidence* pages (one page per test module, written at build time
  into ``docs/evidence/generated/``), and a citation of a test that does not exist is a build warning, hence an
  error under ``-W``.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parents[2]
EVIDENCE = ROOT / "docs" / "evidence" / "generated"
logger = logging.getLogger(__name__)


# --- test citations ------------------------------------------------------------------------------------------------
def test_label(path: str, name: str) -> str:
    """Label of test ``name`` (a function or ``Class.method``) of test file ``path`` on the evidence pages."""
    stem = re.sub(r"[^a-z0-9]+", "-", f"{path.removesuffix('.py')}-{name}".lower())
    return f"test-{stem}"


def _tests_of(path: Path) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            found.append((node.name, node))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                    found.append((f"{node.name}.{item.name}", item))
    return found


def write_evidence_pages(app: Sphinx) -> None:
    """One page per test module: each test's docstring and source, with a label the ``:test:`` role links to."""
    if EVIDENCE.exists():
        shutil.rmtree(EVIDENCE)
    EVIDENCE.mkdir(parents=True)
    modules = sorted(p for p in (ROOT / "tests").rglob("test_*.py"))
    index = [
        "Test modules",
        "============",
        "",
        "Generated from the test suite at build time: every test, its docstring and its source.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    for module in modules:
        rel = module.relative_to(ROOT).as_posix()
        page = re.sub(r"[^A-Za-z0-9_]+", "_", rel.removesuffix(".py"))
        index.append(f"   {page}")
        lines = [rel, "=" * len(rel), ""]
        doc = ast.get_docstring(ast.parse(module.read_text(encoding="utf-8")))
        if doc:
            lines += [_rst_escape(doc), ""]
        for name, node in _tests_of(module):
            lines += [f".. _{test_label(rel, name)}:", "", f"``{name}``", "-" * (len(name) + 4), ""]
            test_doc = ast.get_docstring(node)
            if test_doc:
                lines += [_rst_escape(test_doc), ""]
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            lines += [
                f".. literalinclude:: /../{rel}",
                "   :language: python",
                f"   :lines: {start}-{node.end_lineno}",
                f"   :lineno-start: {start}",
                "",
            ]
        (EVIDENCE / f"{page}.rst").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (EVIDENCE / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")


def _rst_escape(text: str) -> str:
    """Docstrings of tests are prose: show them literally (no accidental RST markup)."""
    return "\n".join(f"| {line}" if line.strip() else "|" for line in _plain(text).splitlines())


def _plain(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("`", "\\`").replace("|", "\\|").replace("_", "\\_")


def test_role(
    name: str, rawtext: str, text: str, lineno: int, inliner: Any, options: Any = None, content: Any = None
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """``:test:`tests/x/test_y.py::test_z``` -> a link to that test on the evidence pages (checked to exist)."""
    path, _, func = text.partition("::")
    file = ROOT / path
    if not func or not file.is_file() or func not in {n for n, _ in _tests_of(file)}:
        msg = inliner.reporter.warning(f"cited test does not exist: {text}", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    node = pending_xref(
        rawtext, refdomain="std", reftype="ref", reftarget=test_label(path, func), refexplicit=True, refwarn=True
    )
    node += nodes.literal(rawtext, func, classes=["xref", "std", "std-ref"])
    return [node], []


# --- the command line ----------------------------------------------------------------------------------------------
def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices.items())
    return []


def _option_rows(parser: argparse.ArgumentParser) -> list[tuple[str, str, str]]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        flags = ", ".join(action.option_strings) if action.option_strings else (action.metavar or action.dest)
        if action.option_strings and action.nargs != 0:
            flags += f" {action.metavar or action.dest.upper()}"
        default = "" if action.default in (None, argparse.SUPPRESS, False) else repr(action.default)
        rows.append((str(flags), default, (action.help or "").replace("%(default)s", default)))
    return rows


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], widths: str) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", f"   :widths: {widths}", ""]
    for row in [header, *rows]:
        cells = [f"``{row[0]}``" if row is not header else row[0], *row[1:]]
        out.append(f"   * - {_plain(cells[0]) if row is header else cells[0]}")
        out += [f"     - {_plain(str(c)) if c else ' '}" for c in cells[1:]]
    return [*out, ""]


class CliDirective(Directive):
    """Every command of ``carbonrisk`` with its usage, description, options and epilog."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from carbonrisk.portfolios.cli import build_parser

        lines: list[str] = []
        parser = build_parser()

        def emit(prog: str, sub: argparse.ArgumentParser, level: str) -> None:
            lines.extend([f"``{prog}``", level * (len(prog) + 4), ""])
            if sub.description:
                lines.extend([_plain(sub.description), ""])
            usage = sub.format_usage().removeprefix("usage: ").strip()
            lines.extend(["::", "", textwrap.indent(usage, "   "), ""])
            rows = _option_rows(sub)
            if rows:
                lines.extend(_table(("option", "default", "meaning"), rows, "30 15 55"))
            if sub.epilog:
                lines.extend(["::", "", textwrap.indent(sub.epilog.strip(), "   "), ""])
            for name, child in _subcommands(sub):
                emit(f"{prog} {name}", child, "^" if level == "-" else '"')

        for name, sub in _subcommands(parser):
            emit(f"carbonrisk {name}", sub, "-")
        return _parse(self, lines)


# --- file keys -----------------------------------------------------------------------------------------------------
def _quantities(group: str) -> list[Any]:
    from carbonrisk.finance.quantities import declared_instrument_quantities, declared_market_quantities
    from carbonrisk.models.geothermal.quantities import declared_geothermal_quantities
    from carbonrisk.models.quantities import declared_quantities

    if group == "portfolio":
        return [q for q in declared_quantities() if " " not in q.name]
    if group == "command-line":
        return [q for q in declared_quantities() if " " in q.name]
    if group == "instrument":
        return declared_instrument_quantities()
    if group == "contract-market":
        return declared_market_quantities()
    if group == "geothermal":
        return declared_geothermal_quantities()
    raise ValueError(f"unknown key group {group!r}")


class KeysDirective(Directive):
    """Table of the declared keys of one group, split by their table (the name up to the last dot)."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        group = self.arguments[0]
        by_table: dict[str, list[Any]] = {}
        for q in _quantities(group):
            table = q.name.rsplit(".", 1)[0] if "." in q.name and " " not in q.name else q.name.split(" --")[0]
            by_table.setdefault(table, []).append(q)
        lines: list[str] = []
        for table, qs in by_table.items():
            lines.extend([f"``{table}``", "-" * (len(table) + 4), ""])
            rows = [
                (
                    q.key if " " not in q.name else q.name.split(" ", 1)[1].split(" ")[-1],
                    q.type,
                    q.unit,
                    "required" if q.default is None else _default(q.default),
                    q.range_text,
                    q.description + (f" (also: {', '.join(q.also)})" if q.also else ""),
                )
                for q in qs
            ]
            lines.extend(_table(("key", "type", "unit", "default", "valid range", "meaning"), rows, "16 7 9 10 20 38"))
        return _parse(self, lines)


def _default(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return str(value)


def _parse(directive: Directive, lines: list[str]) -> list[nodes.Node]:
    container = nodes.section()
    container.document = directive.state.document
    nested_parse_with_titles(directive.state, StringList(lines, source="generated"), container)
    return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives, the ``:test:`` role and the evidence-page generator."""
    app.connect("builder-inited", write_evidence_pages)
    app.add_directive("carbonrisk-cli", CliDirective)
    app.add_directive("carbonrisk-keys", KeysDirective)
    app.add_role("test", test_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
