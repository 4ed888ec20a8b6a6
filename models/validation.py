"""One validation module for every layer: declared quantities and the one range check.

Every file key and command-line quantity is declared once, as a :class:`Quantity` (type, unit, default, valid range,
one-line description; the catalogue is :mod:`carbonrisk.models.quantities`), and checked by :func:`check`, whose
one-line message always reads::

    <where>: <name> = <value> is <rule> (<unit>)

e.g. ``portfolio.toml:4: portfolio.n_paths = 1000000000000 is not in [100, 10000000] (paths)``. The command line
builds its ``argparse`` types from the same declaration (:func:`argparse_type`), so ``report --paths`` and the
portfolio key ``n_paths`` refuse the same values with the same rule (argparse prefixes ``argument --paths:``).

:func:`check_number` is the same check without a declaration, for the contract fields, market data and model
parameters whose rule is local (``ltv`` in ``(0, 1)``, a volatility ``> 0``): instruments
(:mod:`carbonrisk.finance.instruments`), market data (:mod:`carbonrisk.finance.market`), models
(:mod:`carbonrisk.models.gbm`,
:func:`carbonrisk.models.base.check_paths`) and the TOML reader (:mod:`carbonrisk.portfolios.tomlconfig`) all raise
through it, each with its own exception class (a subclass of :class:`~carbonrisk.models.exceptions.InputError`).

This is the lowest layer (``models``), so ``finance`` and ``portfolios`` may import it.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from carbonrisk.models.exceptions import InputError

__all__ = [
    "Quantity",
    "argparse_type",
    "check",
    "check_choice",
    "check_number",
    "format_value",
    "range_rule",
    "violation",
]

Kind = Literal["int", "float", "str", "bool", "date", "horizon", "list", "table"]
ErrorClass = type[InputError]
"""Exception class a check raises (a subclass of :class:`InputError`)."""


@dataclass(frozen=True)
class Quantity:
    """The declaration of one file key or command-line quantity.

    Attributes
    ----------
    name : str
        Canonical name: the file key path (``portfolio.n_paths``, ``projects.start_year``) or, for a quantity that
        only exists on the command line, ``<command> --<flag>``.
    type : {"int", "float", "str", "bool", "date", "horizon", "list", "table"}
        Value type (``horizon``: a text such as ``20y``, checked in years; ``list``: an array of numbers, ``table``:
        a nested TOML table, both described by ``free_text`` and checked by their reader).
    unit : str
        Unit of the value (``paths``, ``years``, ``CNY``, ``t``, ``CNY/t``, ``1/year``, ``fraction``, ``-`` for a
        name or a choice).
    default : object
        Value when the key or flag is left out (``None``: required, or no default).
    low, high : float or None
        Bounds of the valid range (``None``: unbounded on that side).
    low_inclusive, high_inclusive : bool
        Whether each bound itself is valid.
    description : str
        One line for the reference documentation.
    choices : tuple of str
        Valid values of a ``str`` quantity with a closed set of values (empty: free text, described in
        ``free_text``).
    free_text : str
        What a free-text value must be (a file path, a name), shown as its range.
    also : tuple of str
        Other places that read this quantity: command-line options (``report --paths``) and keys of other files
        (``project file start_year``).
    """

    name: str
    type: Kind
    unit: str
    default: Any
    low: float | None = None
    high: float | None = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    description: str = ""
    choices: tuple[str, ...] = ()
    free_text: str = ""
    also: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Last component of the name (the key as written in its table)."""
        return self.name.rsplit(".", 1)[-1]

    @property
    def range_text(self) -> str:
        """The valid range as documented: an interval, the choices or the free-text rule."""
        if self.type in ("int", "float", "horizon"):
            return _interval(self.low, self.high, self.low_inclusive, self.high_inclusive)
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.type == "bool":
            return "true or false"
        if self.type == "date":
            return self.free_text or "a date YYYY-MM-DD"
        return self.free_text

    def check(
        self, value: Any, where: str | None = None, *, name: str | None = None, error: ErrorClass = InputError
    ) -> Any:
        """:func:`check` of ``value`` against this declaration."""
        return check(self, value, where, name=name, error=error)


def format_value(value: Any) -> str:
    """A value as it appears in messages: integers in full, floats with ``%g`` (up to 12 digits), text quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.12g}"
    if isinstance(value, str):
        return repr(value)
    return repr(value)


def _bound(x: float | None, sign: str) -> str:
    if x is None:
        return sign + "inf"
    if isinstance(x, int):
        return str(x)
    if float(x) == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.12g}"


def _interval(low: float | None, high: float | None, low_inclusive: bool, high_inclusive: bool) -> str:
    left = "[" if low_inclusive and low is not None else "("
    right = "]" if high_inclusive and high is not None else ")"
    return f"{left}{_bound(low, '-')}, {_bound(high, '')}{right}"


def range_rule(low: float | None, high: float | None, low_inclusive: bool = True, high_inclusive: bool = True) -> str:
    """The rule a value outside the range broke: ``not in [a, b]``, ``not > a``, ``not <= b``."""
    if low is not None and high is not None:
        return "not in " + _interval(low, high, low_inclusive, high_inclusive)
    if low is not None:
        return f"not {'>=' if low_inclusive else '>'} {_bound(low, '-')}"
    if high is not None:
        return f"not {'<=' if high_inclusive else '<'} {_bound(high, '')}"
    return "not finite"


def violation(
    value: Any,
    kind: Kind = "float",
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> tuple[Any, str | None]:
    """``(coerced value, rule broken or None)`` for a number of ``kind`` ``int`` or ``float``."""
    if isinstance(value, bool):
        return value, "not a number" if kind == "float" else "not an integer"
    if kind == "int":
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            value = int(value)
        if not isinstance(value, int):
            try:
                import numpy as np

                if isinstance(value, np.integer):
                    value = int(value)
            except ImportError:  # pragma: no cover
                pass
        if not isinstance(value, int):
            return value, "not an integer"
        v: float = value
    else:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return value, "not a number"
        if not math.isfinite(v):
            return v, "not a finite number"
        value = v
    too_low = low is not None and (v < low if low_inclusive else v <= low)
    too_high = high is not None and (v > high if high_inclusive else v >= high)
    if too_low or too_high:
        return value, range_rule(low, high, low_inclusive, high_inclusive)
    return value, None


def _message(where: str | None, name: str, value: Any, rule: str, unit: str) -> str:
    prefix = f"{where}: " if where else ""
    suffix = f" ({unit})" if unit and unit != "-" else ""
    return f"{prefix}{name} = {format_value(value)} is {rule}{suffix}"


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    unit: str = "",
    kind: Literal["int", "float"] = "float",
    where: str | None = None,
    error: ErrorClass = InputError,
) -> Any:
    """Check a number against ``[low, high]`` and return it (``float``, or ``int`` for ``kind="int"``).

    Raises
    ------
    InputError
        (or ``error``) ``"<where>: <name> = <value> is <rule> (<unit>)"`` when ``value`` is not a finite number
        (not an integer for ``kind="int"``) or lies outside the range.
    """
    coerced, rule = violation(value, kind, low, high, low_inclusive, high_inclusive)
    if rule is not None:
        raise error(_message(where, name, value, rule, unit))
    return coerced


def check_choice(
    name: str,
    value: Any,
    choices: Sequence[str],
    *,
    where: str | None = None,
    error: ErrorClass = InputError,
) -> str:
    """``value`` if it is one of ``choices``, else ``error`` naming the closest valid choice."""
    if isinstance(value, str) and value in choices:
        return value
    import difflib

    close = difflib.get_close_matches(str(value), list(choices), n=1) if isinstance(value, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise error(_message(where, name, value, f"not one of {', '.join(choices)}{hint}", ""))


def check(
    quantity: Quantity,
    value: Any,
    where: str | None = None,
    *,
    name: str | None = None,
    error: ErrorClass = InputError,
) -> Any:
    """Check ``value`` against the declaration ``quantity`` and return it coerced to its type.

    Parameters
    ----------
    quantity : Quantity
        The declaration.
    value : object
        The value read from a file, a flag or an argument.
    where : str, optional
        Location prefix of the message (``file:line``).
    name : str, optional
        Name shown in the message (default ``quantity.name``; a file gives its key path, ``contracts[1].ltv``).
    error : type
        Exception class raised (a subclass of :class:`InputError`).

    Raises
    ------
    InputError
        ``"<where>: <name> = <value> is <rule> (<unit>)"``.
    """
    label = quantity.name if name is None else name
    if quantity.type in ("int", "float"):
        return check_number(
            label,
            value,
            low=quantity.low,
            high=quantity.high,
            low_inclusive=quantity.low_inclusive,
            high_inclusive=quantity.high_inclusive,
            unit=quantity.unit,
            kind=quantity.type,
            where=where,
            error=error,
        )
    if quantity.type == "horizon":
        from carbonrisk.models.grid import horizon_years

        try:
            years = horizon_years(value)
        except InputError as exc:
            raise error(f"{where}: {exc}" if where else str(exc)) from None
        _, rule = violation(
            years, "float", quantity.low, quantity.high, quantity.low_inclusive, quantity.high_inclusive
        )
        if rule is not None:
            raise error(_message(where, label, value, f"{rule} years", ""))
        return value
    if quantity.type == "bool":
        if not isinstance(value, bool):
            raise error(_message(where, label, value, "not true or false", ""))
        return value
    if quantity.type == "str":
        if not isinstance(value, str):
            raise error(_message(where, label, value, "not a text", ""))
        if quantity.choices:
            return check_choice(label, value, quantity.choices, where=where, error=error)
        return value
    return value


def argparse_type(quantity: Quantity) -> Callable[[str], Any]:
    """An ``argparse`` ``type=`` that parses a flag's text and checks it against ``quantity``.

    The error is argparse's one line ``argument --paths: 1000000000000 is not in [100, 10000000] (paths)``: the
    same rule and unit as the file key's message.
    """

    def parse(text: str) -> Any:
        value: Any = text
        if quantity.type == "int":
            try:
                value = int(text.replace("_", ""))
            except ValueError:
                try:
                    as_float = float(text)
                except ValueError:
                    raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
                value = int(as_float) if math.isfinite(as_float) and as_float == int(as_float) else text
                if not isinstance(value, int):
                    raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        elif quantity.type == "float":
            try:
                value = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        try:
            return check(quantity, value)
        except InputError as exc:
            message = str(exc)
            head = f"{quantity.name} = "
            raise argparse.ArgumentTypeError(message[len(head) :] if message.startswith(head) else message) from None

    parse.__name__ = quantity.key
    return parse
