"""Reading a user's CSV file with the project's one-line errors (shared by scenarios, weather and emission factors)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.exceptions import InputError

__all__ = ["read_user_csv"]


def read_user_csv(path: str | Path, what: str) -> pd.DataFrame:
    """``pandas.read_csv(path)``; a missing or unreadable file raises :class:`InputError` naming ``what`` and the path.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for the message (``"weather file"``).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{what} '{path}' does not exist")
    try:
        return pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {what} '{path}': {str(exc).splitlines()[0]}") from exc
