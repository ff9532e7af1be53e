"""A table row is read with its headers: its derivative and range cells are judged against the row's function."""

from __future__ import annotations

from pathlib import Path

from verify.audit import audit_file

DATA = Path(__file__).resolve().parent / "data"


def _cells() -> dict[tuple[int, str], str]:
    """(line, cell LaTeX) -> verdict of the table sheet's derivative and range cells."""
    report = audit_file(DATA / "activation_table.md", sections=())
    return {(v.line, v.text): v.verdict for v in report.fragments if v.verdict != "notation"}


def test_right_derivative_and_range_cells_are_correct():
    cells = _cells()
    for line in (7, 8, 9, 10):
        assert [v for (ln, _), v in cells.items() if ln == line] == ["correct", "correct"], line


def test_a_wrong_derivative_cell_is_an_error_in_its_row():
    assert _cells()[(11, "3x")] == "error"
    assert _cells()[(11, r"\mathbb{R}")] == "correct"


def test_a_range_that_includes_a_value_the_function_never_takes_is_an_error():
    assert _cells()[(12, "[0,\\infty)")] == "error"
    assert _cells()[(12, "e^{x}")] == "correct"
