"""Reading a user's CSV file with the project's one-line errors (shared by scenarios, weather and emission factors).

The rules (exists, not a directory, UTF-8, comma-separated) live in :mod:`carbonrisk.models.files`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from carbonrisk.models.files import read_csv_text

__all__ = ["read_user_csv"]


def read_user_csv(path: str | Path, what: str) -> pd.DataFrame:
    """``pandas.read_csv(path)``; a missing or unreadable file raises :class:`InputError` naming ``what`` and the path.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for the message (``"weather file"``).

    Raises
    ------
    carbonrisk.models.exceptions.InputError
        See :func:`carbonrisk.models.files.read_csv_text`.
    """
    return read_csv_text(path, what)
