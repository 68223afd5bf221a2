"""The README cannot drift from the program: every marked example is run and compared (tests/readme_examples.py)."""

from __future__ import annotations

import pytest

from tests.readme_examples import ELLIPSIS, README, Example, check, find_examples, matches

EXAMPLES = find_examples(README.read_text())


def test_the_readme_has_checked_examples_of_every_kind() -> None:
    kinds = [example.kind for example in EXAMPLES]
    assert kinds.count("console") >= 5 and "json" in kinds and "python" in kinds, kinds


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.where)
def test_readme_example_matches_the_program(example: Example) -> None:
    problems = check(example)
    assert not problems, "\n\n".join(problems) + "\n\n(python -m tests.readme_examples --write regenerates)"


def test_an_abridged_block_still_checks_what_it_shows() -> None:
    actual = ["head", "a", "b", "tail"]
    assert matches(["head", ELLIPSIS, "tail"], actual)
    assert matches(["head", ELLIPSIS], actual)
    assert not matches(["head", ELLIPSIS, "other"], actual)  # a drifted line after the ellipsis is caught
    assert not matches(["head", "a"], actual)  # without the ellipsis every line counts
