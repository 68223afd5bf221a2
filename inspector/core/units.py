"""Readable numbers: thousands separators, FLOP and byte units."""

from __future__ import annotations


def group_thousands(number: int) -> str:
    """Return 61100840 as '61,100,840'."""
    return f"{number:,}"


def si(number: float, unit: str = "") -> str:
    """Return 8_178_000_000 as '8.18 G' + unit (three significant digits)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(number) >= factor:
            return f"{number / factor:.3g} {prefix}{unit}"
    return f"{number:g} {unit}".rstrip()


def binary_bytes(count: int) -> str:
    """Return a byte count in B, KiB, MiB or GiB, e.g. 244.4 MiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
