"""A number together with the arithmetic that produced it, written with the user's values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Worked:
    """`value` and the worked `formula` that gives it, e.g. `⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 8`.

    `symbolic` is the same formula in letters (`⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1`), for tooltips.
    """

    value: int
    formula: str
    symbolic: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"value": self.value, "formula": self.formula, "symbolic": self.symbolic}
