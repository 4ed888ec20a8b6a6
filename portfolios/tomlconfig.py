"""TOML input files with errors that name the key and its line.

``tomllib`` parses but forgets positions, so :class:`KeyLocator` re-reads the text and maps every key path
(``("contracts", 2, "strike")``) to the line where it is written. :class:`Section` wraps a parsed table and reads
typed values from it; every problem (unknown key with the closest valid key suggested, missing key, wrong type, value
outside its range, missing file) is an :class:`~carbonrisk.models.exceptions.InputError` whose one-line message names
the file, the key path, its line and the rule. Ranges are checked by :mod:`carbonrisk.models.validation` (one rule for a
file key and the command-line flag that overrides it): ``file:line: portfolio.n_paths = 50 is not in [100, 10000000]
(paths)``;
:meth:`Section.quantity` reads a key declared in :mod:`carbonrisk.models.quantities`.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from carbonrisk.models.files import read_text
from carbonrisk.models.validation import Quantity, check, check_number
from carbonrisk.portfolios.exceptions import InputError

__all__ = ["KeyLocator", "Section", "load_toml", "parse_toml"]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")
_T = TypeVar("_T")
PathKey = tuple[str | int, ...]


def _split_dotted(text: str) -> list[str]:
    return [part.strip().strip("\"'") for part in text.split(".")]


class KeyLocator:
    """Line numbers (1-based) of the keys and tables of a TOML text (top-level, tables, arrays of tables)."""

    def __init__(self, text: str) -> None:
        self.lines: dict[PathKey, int] = {}
        counts: dict[tuple[str, ...], int] = {}
        prefix: PathKey = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                names = tuple(_split_dotted(header.group(2)))
                if header.group(1) == "[[":
                    index = counts.get(names, 0)
                    counts[names] = index + 1
                    prefix = (*names, index)
                else:
                    prefix = names
                self.lines.setdefault(prefix, number)
                continue
            key = _KEY.match(line)
            if key and not line.lstrip().startswith("#"):
                self.lines.setdefault((*prefix, *_split_dotted(key.group(1))), number)

    def line(self, path: PathKey) -> int | None:
        """Line of ``path`` or of its nearest written ancestor."""
        for cut in range(len(path), 0, -1):
            if path[:cut] in self.lines:
                return self.lines[path[:cut]]
        return None


def _format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


@dataclass(frozen=True)
class Section:
    """A parsed TOML table with the context needed for precise error messages."""

    data: Mapping[str, Any]
    path: PathKey
    file: str
    locator: KeyLocator
    base_dir: Path

    def where(self, key: str | int | None = None) -> str:
        """``file:line`` of ``key`` (of this table when ``None``; the file alone when no line is known)."""
        full = self.path if key is None else (*self.path, key)
        line = self.locator.line(full)
        return f"{self.file}:{line}" if line is not None else self.file

    def key_path(self, key: str | int | None = None) -> str:
        """Printable key path of ``key`` in this table (``contracts[1].ltv``)."""
        return _format_path(self.path if key is None else (*self.path, key))

    def error(self, key: str | int | None, rule: str) -> InputError:
        """An InputError naming ``file``, the key path, its line and ``rule``."""
        return InputError(f"{self.where(key)}: key '{self.key_path(key)}' {rule}")

    def quantity(self, key: str, declared: Quantity, default: Any = None) -> Any:
        """Key ``key`` checked against its declaration (:mod:`carbonrisk.models.quantities`); ``default`` if absent.

        ``default`` falls back to the declaration's; a key without either is required.
        """
        fallback = declared.default if default is None else default
        if declared.type in ("int", "float"):
            kind: tuple[type, ...] = (int,) if declared.type == "int" else (int, float)
            value = self._typed(key, _REQUIRED if fallback is None else fallback, kind,
                                "an integer" if declared.type == "int" else "a number")  # fmt: skip
        elif declared.type == "str" and declared.choices:
            return self.string(key, fallback, choices=declared.choices)
        else:
            value = self._typed(key, _REQUIRED if fallback is None else fallback, (str,), "a string")
        if key not in self.data:
            return value
        return check(declared, value, self.where(key), name=self.key_path(key))

    def check_keys(self, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
        """Reject unknown keys (suggesting the closest valid one) and missing required keys."""
        allowed_list = sorted(set(allowed) | set(required))
        for key in self.data:
            if key not in allowed_list:
                close = difflib.get_close_matches(key, allowed_list, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(allowed_list)}"
                raise self.error(key, f"is not a valid key{hint}")
        for key in required:
            if key not in self.data:
                raise self.error(None, f"is missing required key '{key}'")

    def has(self, key: str) -> bool:
        """Whether ``key`` is present."""
        return key in self.data

    def _typed(self, key: str, default: Any, kinds: tuple[type, ...], label: str) -> Any:
        if key not in self.data:
            if default is _REQUIRED:
                raise self.error(None, f"is missing required key '{key}'")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, f"must be {label}, got {value!r}")
        if not isinstance(value, kinds):
            raise self.error(key, f"must be {label}, got {type(value).__name__} {value!r}")
        return value

    def number(
        self,
        key: str,
        default: Any = None,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
        high_open: bool = False,
    ) -> float:
        """A number within ``[low, high]`` (open ends when ``low_open`` / ``high_open``); ``default`` if absent."""
        value = self._typed(key, _REQUIRED if default is None else default, (int, float), "a number")
        if key not in self.data:
            return float(value)
        return float(
            check_number(
                self.key_path(key), float(value), low=low, high=high, low_inclusive=not low_open,
                high_inclusive=not high_open, where=self.where(key),
            )
        )  # fmt: skip

    def integer(self, key: str, default: Any = None, *, low: int | None = None, high: int | None = None) -> int:
        """An integer within ``[low, high]``; ``default`` if absent."""
        value = int(self._typed(key, _REQUIRED if default is None else default, (int,), "an integer"))
        if key not in self.data:
            return value
        return int(check_number(self.key_path(key), value, low=low, high=high, kind="int", where=self.where(key)))

    def string(self, key: str, default: Any = None, *, choices: Sequence[str] | None = None) -> str:
        """A string (one of ``choices`` when given); ``default`` if absent."""
        value = str(self._typed(key, _REQUIRED if default is None else default, (str,), "a string"))
        if choices is not None and value not in choices:
            close = difflib.get_close_matches(value, list(choices), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise self.error(key, f"= '{value}' must be one of {', '.join(choices)}{hint}")
        return value

    def boolean(self, key: str, default: Any = None) -> bool:
        """A boolean; ``default`` if absent."""
        return bool(self._typed(key, _REQUIRED if default is None else default, (bool,), "true or false"))

    def date(self, key: str, default: Any = None) -> Any:
        """A TOML date or an ISO date string, as ``pandas.Timestamp``."""
        import datetime as _dt

        import pandas as pd

        value = self._typed(key, _REQUIRED if default is None else default, (str, _dt.date), "a date (YYYY-MM-DD)")
        try:
            return pd.Timestamp(value)
        except (ValueError, TypeError):
            raise self.error(key, f"= {value!r} is not a date (YYYY-MM-DD)") from None

    def file_path(self, key: str, default: Any = None) -> Path | None:
        """A path relative to the TOML file's folder that must exist; ``None`` if absent and no default."""
        if key not in self.data and default is None:
            return None
        value = self.string(key, default)
        path = (self.base_dir / value).resolve() if not Path(value).is_absolute() else Path(value)
        if not path.exists():
            raise self.error(key, f"= '{value}' refers to a missing file ({path})")
        return path

    def table(self, key: str, *, required: bool = False) -> Section:
        """Sub-table ``key`` (an empty one when absent and not required)."""
        if key not in self.data:
            if required:
                raise self.error(None, f"is missing required table '{key}'")
            return Section({}, (*self.path, key), self.file, self.locator, self.base_dir)
        value = self.data[key]
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a table, got {type(value).__name__}")
        return Section(value, (*self.path, key), self.file, self.locator, self.base_dir)

    def tables(self, key: str) -> list[Section]:
        """Array of tables ``key`` (``[[key]]``); empty when absent."""
        if key not in self.data:
            return []
        value = self.data[key]
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.error(key, "must be an array of tables ([[...]])")
        return [Section(v, (*self.path, key, i), self.file, self.locator, self.base_dir) for i, v in enumerate(value)]


class _Required:
    def __repr__(self) -> str:
        return "<required>"


_REQUIRED: Any = _Required()


def parse_toml(text: str, label: str, base_dir: Path) -> Section:
    """Parse TOML ``text`` (named ``label`` in errors; relative paths resolve against ``base_dir``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{label}: invalid TOML: {' '.join(str(exc).split())}") from exc
    return Section(data, (), label, KeyLocator(text), base_dir.resolve())


def load_toml(path: str | Path) -> tuple[Section, str]:
    """Parse a TOML file; return its top-level :class:`Section` and the raw text (for the run ledger).

    A missing path, a directory and text that is not UTF-8 are refused (:func:`carbonrisk.models.files.read_text`).
    """
    file = Path(path)
    text = read_text(file, "input file", InputError)
    return parse_toml(text, str(file), file.parent), text
