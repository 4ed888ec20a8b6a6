"""Reading a user's input files with one-line errors: existence, directories, UTF-8, TOML and CSV separators.

Every file a user passes (price CSVs, scenario, weather and emission-factor CSVs, portfolio, project and contract
TOML files) goes through these helpers, so the rules are written once:

- a missing path says ``does not exist``, a directory says ``is a directory``;
- text must be UTF-8 (a UTF-8 byte-order mark is accepted); anything else (GBK, Latin-1, a binary file) is refused
  with the offset of the first undecodable byte;
- a CSV must be comma-separated: a header line without a comma that splits on ``;``, a tab or ``|`` is refused,
  naming the separator found. Such files usually also write decimal commas (``104,01``), so reading them with
  another separator would silently misread the numbers; the user converts the file instead.

Each problem is an :class:`~carbonrisk.models.exceptions.InputError` (or the subclass the caller passes) whose message
starts with what the file is and its path.
"""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from carbonrisk.models.exceptions import InputError

__all__ = ["CSV_SEPARATORS_REFUSED", "read_csv_text", "read_text", "read_toml", "require_file"]

CSV_SEPARATORS_REFUSED: dict[str, str] = {";": "semicolon ';'", "\t": "tab", "|": "pipe '|'"}
"""Separators recognised in a header line without commas, and how the error message names them."""


def require_file(path: str | Path, what: str, error: type[InputError] = InputError) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` if it is an existing regular file.

    Parameters
    ----------
    path : str or Path
        The path the user gave.
    what : str
        What the file is, for the message (``"price file"``).
    error : type, optional
        The :class:`InputError` subclass to raise.

    Raises
    ------
    InputError
        ``'{path}' does not exist`` or ``'{path}' is a directory, expected a file``.
    """
    p = Path(path)
    if p.is_dir():
        raise error(f"{what} '{path}' is a directory, expected a file")
    if not p.is_file():
        raise error(f"{what} '{path}' does not exist")
    return p


def _decode(data: bytes, path: str | Path, what: str, error: type[InputError]) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        raise error(
            f"{what} '{path}' is not UTF-8 text (byte 0x{byte:02x} at offset {exc.start} cannot be decoded); "
            "UTF-8 is required: save the file as UTF-8"
        ) from None
    if "\x00" in text:
        offset = text.index("\x00")
        raise error(
            f"{what} '{path}' is not UTF-8 text (a NUL byte at offset {offset}: a binary file); UTF-8 is required"
        )
    return text


def read_text(path: str | Path, what: str, error: type[InputError] = InputError) -> str:
    """The text of a user's file, decoded as UTF-8 (see :func:`require_file` for ``what`` and ``error``).

    Raises
    ------
    InputError
        Missing path, directory, unreadable file, or bytes that are not UTF-8 text (GBK, binary).
    """
    p = require_file(path, what, error)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"{what} '{path}' cannot be read: {exc.strerror or exc}") from None
    return _decode(data, path, what, error)


def read_toml(path: str | Path, what: str, error: type[InputError] = InputError) -> tuple[dict[str, Any], str]:
    """Parse a user's TOML file; return the parsed table and the text.

    Raises
    ------
    InputError
        As :func:`read_text`, and ``{what} '{path}': invalid TOML: ...`` with the parser's line and column.
    """
    text = read_text(path, what, error)
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} '{path}': invalid TOML: {' '.join(str(exc).split())}") from None


def _check_separator(text: str, path: str | Path, what: str, error: type[InputError]) -> None:
    header = next((line for line in text.splitlines() if line.strip()), "")
    if "," in header:
        return
    for sep, label in CSV_SEPARATORS_REFUSED.items():
        if sep in header:
            raise error(
                f"{what} '{path}' is separated by {label} (header {header.strip()[:60]!r}); "
                "a comma-separated file is required"
            )


def read_csv_text(
    path: str | Path, what: str, error: type[InputError] = InputError, **read_csv_kwargs: Any
) -> pd.DataFrame:
    """Read a user's comma-separated UTF-8 file with :func:`pandas.read_csv` (``read_csv_kwargs`` passed on).

    Raises
    ------
    InputError
        As :func:`read_text`; a file separated by semicolons, tabs or pipes; an empty or unparseable file.
    """
    text = read_text(path, what, error)
    if not text.strip():
        raise error(f"{what} '{path}' is empty; expected a comma-separated file with a header line")
    _check_separator(text, path, what, error)
    try:
        return pd.read_csv(io.StringIO(text), **read_csv_kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise error(f"cannot read {what} '{path}': {first}") from None
