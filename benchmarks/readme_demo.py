"""Regenerate README.md's demo block: what ``make demo`` prints, and the timings a new user sees.

``python benchmarks/readme_demo.py`` runs ``carbonrisk demo`` in a child process (as ``make demo`` does: stdout
not a terminal, so rich prints 80 columns without colour) twice: first with ``NUMBA_CACHE_DIR`` pointing at an
empty temporary folder (a fresh clone: the numba kernels are compiled, ``cold``), then again with the same folder
(``warm``: the compiled kernels are loaded from it). The warm run's stdout replaces the block between
:data:`START` and :data:`END` in README.md, with the output folder shown as ``.../carbonrisk-demo``; the timings
(wall time of the whole command, interpreter start and imports included) replace the line between
:data:`TIMING_START` and :data:`TIMING_END`. ``--check`` compares instead of writing (exit 1 on a difference). The
demo portfolio itself is shown by the documentation (``docs/reference/portfolio_file.md`` includes the file).

:func:`compare` is the test's rule (``tests/test_readme_demo.py``): exactly equal, except the run id and the
seconds on the ``run id:`` line, when the environment matches ``requirements.lock``; otherwise every number within
the relative tolerance of ``carbonrisk runs rerun`` (:data:`carbonrisk.portfolios.ledger.RERUN_RTOL`) or one unit of its
last printed digit (a printed figure is rounded), and all text equal.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- demo-output:start -->", "<!-- demo-output:end -->"
TIMING_START, TIMING_END = "<!-- demo-timing:start -->", "<!-- demo-timing:end -->"
OUT_NAME = "carbonrisk-demo"
_RUN_ID = re.compile(r"^run id: \S+ \(\d+(\.\d+)? s\)$", re.MULTILINE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class DemoRun:
    """The stdout of one ``carbonrisk demo`` (output folder shown as ``.../carbonrisk-demo``) and its wall time."""

    stdout: str
    wall_s: float


def run_demo(out_parent: Path, numba_cache: Path | None = None, extra: tuple[str, ...] = ()) -> DemoRun:
    """``carbonrisk demo --out out_parent/carbonrisk-demo`` in a child process (with ``NUMBA_CACHE_DIR`` when
    given; else numba's own cache beside the sources)."""
    env = os.environ | {"PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    env.pop("FORCE_COLOR", None)
    out = out_parent / OUT_NAME
    code = (
        "import sys; from carbonrisk.portfolios.cli import main; sys.argv[0] = 'carbonrisk'; raise SystemExit(main())"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, "demo", "--out", str(out), *extra],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"carbonrisk demo failed (exit {done.returncode}): {done.stderr.strip()}")
    return DemoRun(done.stdout.replace(str(out_parent), "..."), wall)


def block(text: str, start: str, end: str) -> str:
    """The text between the markers ``start`` and ``end`` of ``text`` (without them)."""
    try:
        _, rest = text.split(start, 1)
        inner, _ = rest.split(end, 1)
    except ValueError:
        raise ValueError(f"README.md has no {start} ... {end} block") from None
    return inner


def replace_block(text: str, start: str, end: str, inner: str) -> str:
    """``text`` with the block between ``start`` and ``end`` replaced by ``inner``."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return head + start + inner + end + tail


def fenced(body: str, lang: str = "") -> str:
    """``body`` as a fenced code block between two marker lines."""
    return f"\n```{lang}\n{body.rstrip()}\n```\n"


def readme_output(readme: str) -> str:
    """The demo stdout shown in the README (the fenced block's body)."""
    inner = block(readme, START, END).strip()
    lines = inner.splitlines()
    if not (lines and lines[0].startswith("```") and lines[-1] == "```"):
        raise ValueError(f"README.md's {START} block is not one fenced code block")
    return "\n".join(lines[1:-1]) + "\n"


def _masked(text: str) -> str:
    """``text`` without trailing blanks on its lines (rich pads them; editors strip them) and with the run id
    and seconds of the ``run id:`` line masked."""
    return _RUN_ID.sub("run id: <id> (<s> s)", _trimmed(text).strip())


def _trimmed(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def _decimals(token: str) -> int:
    return len(token.split(".", 1)[1]) if "." in token else 0


def compare(shown: str, printed: str, *, exact: bool, rtol: float) -> list[str]:
    """Differences between the README's block and a demo's stdout (empty: the README is current).

    The ``run id:`` line's id and seconds never compare. ``exact``: every other character equal. Otherwise the
    text between numbers must be equal and each number within ``rtol`` relative or one unit of its last printed
    decimal of the other.
    """
    a, b = _masked(shown), _masked(printed)
    if exact:
        if a == b:
            return []
        rows = [
            f"line {i + 1}: README {x!r} != demo {y!r}"
            for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines(), strict=False))
            if x != y
        ]
        return rows or [f"README has {len(a.splitlines())} lines, the demo printed {len(b.splitlines())}"]
    out = []
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return [f"README has {len(la)} lines, the demo printed {len(lb)}"]
    for i, (x, y) in enumerate(zip(la, lb, strict=True)):
        tx, ty = _NUMBER.findall(x), _NUMBER.findall(y)
        if _NUMBER.sub("#", x).replace(" ", "") != _NUMBER.sub("#", y).replace(" ", "") or len(tx) != len(ty):
            out.append(f"line {i + 1}: README {x!r} != demo {y!r}")
            continue
        for u, v in zip(tx, ty, strict=True):
            fu, fv = float(u.replace(",", "")), float(v.replace(",", ""))
            unit = 10.0 ** -max(_decimals(u), _decimals(v))
            if abs(fu - fv) > max(rtol * max(abs(fu), abs(fv)), unit * 1.000001):
                out.append(f"line {i + 1}: README {u} != demo {v}")
    return out


def timing_line(cold: DemoRun, warm: DemoRun, load: float, cores: int) -> str:
    """The README's timing sentence (``load``: the 1-minute load average when the runs ended)."""
    busy = " (other jobs running: expect less on an idle machine)" if load > 1.5 * cores else ""
    text = (
        f"`make demo` took {cold.wall_s:.0f} s the first time (numba compiles the kernels and caches them) and "
        f"{warm.wall_s:.0f} s after that, plus the install, on a {cores}-core machine with load average "
        f"{load:.1f}{busy}; measured by `python benchmarks/readme_demo.py` (the whole command, a cold run with an "
        "empty `NUMBA_CACHE_DIR`, then a warm one)."
    )
    return "\n" + textwrap.fill(text, width=116, break_on_hyphens=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or ``--check``) README.md's demo block and timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when README.md is stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba-cache"
        cache.mkdir()
        cold = run_demo(Path(tmp) / "cold", cache)
        warm = run_demo(Path(tmp) / "warm", cache)
    print(f"cold {cold.wall_s:.1f} s, warm {warm.wall_s:.1f} s")
    if args.check:
        from carbonrisk.portfolios.ledger import RERUN_RTOL, environment_versions

        exact = environment_versions()["matches_lock"] == "yes"
        problems = compare(readme_output(text), warm.stdout, exact=exact, rtol=RERUN_RTOL)
        for line in problems:
            print(line)
        return 1 if problems else 0
    text = replace_block(text, START, END, fenced(_trimmed(warm.stdout)))
    load = os.getloadavg()[0]
    text = replace_block(text, TIMING_START, TIMING_END, timing_line(cold, warm, load, os.cpu_count() or 1))
    README.write_text(text, encoding="utf-8")
    print(f"README.md updated: {len(warm.stdout.splitlines())} lines of demo output")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
