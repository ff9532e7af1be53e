"""Reading a listing's NumPy arithmetic into SymPy from its syntax tree, without running it."""

from __future__ import annotations

import ast
import time

import pytest
import sympy as sp

from verify.code_reading import (
    Budget,
    CodeReadError,
    CodeShapeError,
    CodeTooLargeError,
    OneLiner,
    Reader,
    read_assignment,
    read_function,
)

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


S = sp.Symbol("a")
NESTED = "\n".join(["def h0(a): return a*(1-a)"]
                   + [f"def h{k}(a): return h{k - 1}(a)*h{k - 1}(1-a) + h{k - 1}(a*a)" for k in range(1, 22)]
                   + ["def dsigmoid(a): return h21(a)"])


def test_helpers_nested_past_the_budget_are_too_large_to_decide_at_once():
    start = time.monotonic()
    with pytest.raises(CodeTooLargeError, match="call each other more than 8 deep"):
        read_function(NESTED, "dsigmoid", S)
    assert time.monotonic() - start < 1.0


def test_helpers_that_inline_too_many_calls_stop_at_the_call_budget():
    with pytest.raises(CodeTooLargeError, match="more than 256 calls"):
        read_function(NESTED.replace("return h21(a)", "return h7(a)"), "dsigmoid", S)


def test_a_helper_that_calls_itself_stops_at_the_depth_budget():
    with pytest.raises(CodeTooLargeError):
        read_function("def dsigmoid(a): return dsigmoid(a)", "dsigmoid", S)


@pytest.mark.parametrize("body", ["-" * 150 + "a", "-" * 5000 + "a", "a+" * 50_000 + "a"])
def test_expressions_nested_too_deeply_are_too_large_never_a_crash(body):
    with pytest.raises(CodeTooLargeError):
        read_function(f"def dsigmoid(a): return {body}", "dsigmoid", S)


def test_a_value_larger_than_the_budget_is_too_large():
    huge = Budget(max_nodes=10)
    with pytest.raises(CodeTooLargeError, match="grows past 10 terms"):
        Reader({"a": S}, {"f": OneLiner("x", ast.parse("x*(1-x)*(2-x)*(3-x)*(4-x)*(5-x)", mode="eval").body)},
               huge).value(ast.parse("f(a)", mode="eval").body)
