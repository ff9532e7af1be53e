"""Reading a listing's NumPy arithmetic into SymPy from its syntax tree, without running it."""

from __future__ import annotations

import pytest
import sympy as sp

from verify.code_reading import CodeReadError, CodeShapeError, read_assignment, read_function

A = sp.Matrix([[sp.Symbol("a11"), sp.Symbol("a12")], [sp.Symbol("a21"), sp.Symbol("a22")]])
V = sp.Matrix([[sp.Symbol("v1")], [sp.Symbol("v2")]])


def test_matrix_products_transposes_and_literals_are_read_exactly():
    value = read_assignment("out = 0.5 * A.T @ V\n", {"A": A, "V": V}, "out")
    assert value == sp.Rational(1, 2) * A.T * V


def test_broadcasting_follows_numpy_for_a_row_added_to_every_row():
    row = sp.Matrix([[sp.Symbol("r1"), sp.Symbol("r2")]])
    value = read_assignment("out = A + r\n", {"A": A, "r": row}, "out")
    assert value == A + sp.Matrix([[row[0], row[1]], [row[0], row[1]]])


def test_sum_over_axis_0_with_keepdims_is_a_row_of_column_sums():
    value = read_assignment("out = A.sum(0, keepdims=True)\n", {"A": A}, "out")
    assert value == sp.Matrix([[A[0, 0] + A[1, 0], A[0, 1] + A[1, 1]]])


def test_a_one_line_function_of_the_listing_is_applied_entrywise():
    code = "def f(a): return a*(1-a)\nout = f(V)\n"
    assert read_assignment(code, {"V": V}, "out") == V.applyfunc(lambda e: e * (1 - e))
    x = sp.Symbol("x")
    assert read_function(code, "f", x) == x * (1 - x)


def test_len_is_the_number_of_rows():
    assert read_assignment("n = len(A)\n", {"A": A}, "n") == 2


def test_a_product_of_misfitting_shapes_is_a_shape_error():
    with pytest.raises(CodeShapeError, match="line 1"):
        read_assignment("out = V @ A\n", {"A": A, "V": V}, "out")


@pytest.mark.parametrize("code", ["out = __import__('os').system('true')\n", "out = open('x')\n",
                                  "out = A[0]\n", "out = [1, 2]\n", "out = A ** B\n"])
def test_anything_outside_the_subset_is_refused_without_running(code):
    with pytest.raises(CodeReadError):
        read_assignment(code, {"A": A, "B": A}, "out")


def test_an_absent_assignment_is_none_and_bad_syntax_an_error():
    assert read_assignment("x = 1\n", {}, "out") is None
    with pytest.raises(CodeReadError, match="not valid Python"):
        read_assignment("out = (\n", {}, "out")
