"""Read the NumPy arithmetic of a notes listing into SymPy, from its syntax tree, without running it.

The audit judges a listing's backward lines (``dZ1 = dA1 * dsigmoid(A1)``) by what they compute.
``ast.parse`` gives the tree; this module walks a small subset of it -- names, numbers, ``+ - * /
** @``, ``.T``, ``.sum(axis, keepdims=True)``, ``len(x)``, ``np.mean``/``np.exp``/``np.sum`` and the
listing's own one-line functions (``def dsigmoid(a): return a*(1-a)``) -- over SymPy matrices with
NumPy's broadcasting. Nothing is evaluated by Python: anything outside the subset raises
``CodeReadError`` naming the construct and its line.

The work a listing can cause is bounded (``Budget``): how deeply expressions nest, how deeply its
one-liners call each other, how many calls are inlined in all, and how large a value may grow. Past
a bound the reader raises ``CodeTooLargeError``, which the audit reports as "unknown: too large to
decide" -- a ``dsigmoid`` of 22 nested helpers stops at the ninth, in milliseconds.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp

Value = sp.Expr | sp.MatrixBase


class CodeReadError(ValueError):
    """A listing uses Python outside the subset this reader understands (the message names it and its line)."""


class CodeShapeError(CodeReadError):
    """A listing line combines arrays whose shapes do not fit (NumPy would raise here too)."""


class CodeTooLargeError(CodeReadError):
    """Reading the listing would pass a budget (nesting, helper calls, expression size): too large to decide."""


@dataclass
class Budget:
    """What reading one listing value may cost; each bound past which the reader gives up."""

    max_nesting: int = 80  # expression nodes inside one another (Python's own parser stops near 200)
    max_call_depth: int = 8  # one-liners calling one-liners
    max_calls: int = 256  # one-liner calls inlined in all
    max_nodes: int = 4000  # SymPy nodes in one entry of a value
    calls: int = 0


def size_at_most(expr: sp.Basic, limit: int) -> bool:
    """Whether ``expr`` has at most ``limit`` nodes as a tree (stops counting at the limit: never slow)."""
    count = 0
    for _ in sp.preorder_traversal(expr):
        count += 1
        if count > limit:
            return False
    return True


def _check_size(v: Value, budget: Budget, node: ast.AST) -> Value:
    """``v`` itself, or CodeTooLargeError when an entry of it is larger than the budget allows."""
    entries = v if isinstance(v, sp.MatrixBase) else [v]
    if not all(size_at_most(e, budget.max_nodes) for e in entries):
        raise CodeTooLargeError(f"line {getattr(node, 'lineno', '?')} of the listing: the value grows past "
                                f"{budget.max_nodes} terms")
    return v


@dataclass(frozen=True)
class OneLiner:
    """A listing's ``def f(x): return <expr>`` (one parameter, one return)."""

    param: str
    body: ast.expr


def _spelled(node: ast.AST, limit: int = 60) -> str:
    """A short spelling of a (small) node for a message, or its kind when it is too deep or long."""
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):
        return f"<{type(node).__name__}>"
    return text if len(text) <= limit else f"{text[:limit]}..."


def _error(node: ast.AST, what: str) -> CodeReadError:
    """An error naming the construct and the listing line it is on."""
    return CodeReadError(f"line {getattr(node, 'lineno', '?')} of the listing: {what}")


def _shape(v: Value) -> tuple[int, int]:
    """(rows, cols) of a matrix; a scalar broadcasts as (1, 1)."""
    return v.shape if isinstance(v, sp.MatrixBase) else (1, 1)


def _broadcast(a: Value, b: Value, node: ast.AST) -> tuple[Value, Value]:
    """Both operands at a common shape, by NumPy's rule for two axes."""
    if not isinstance(a, sp.MatrixBase) and not isinstance(b, sp.MatrixBase):
        return a, b
    (ra, ca), (rb, cb) = _shape(a), _shape(b)
    if (ra != rb and 1 not in (ra, rb)) or (ca != cb and 1 not in (ca, cb)):
        raise CodeShapeError(f"line {getattr(node, 'lineno', '?')} of the listing: shapes {(ra, ca)} and "
                             f"{(rb, cb)} do not broadcast")
    rows, cols = max(ra, rb), max(ca, cb)

    def grow(v: Value) -> sp.Matrix:
        r, c = _shape(v)
        m = v if isinstance(v, sp.MatrixBase) else sp.Matrix([[v]])
        return sp.Matrix(rows, cols, lambda i, j: m[i if r > 1 else 0, j if c > 1 else 0])

    return grow(a), grow(b)


def _entrywise(op: Callable[[sp.Expr, sp.Expr], sp.Expr], a: Value, b: Value, node: ast.AST) -> Value:
    """``op`` entry by entry after broadcasting."""
    a, b = _broadcast(a, b, node)
    if isinstance(a, sp.MatrixBase):
        return sp.Matrix(a.rows, a.cols, lambda i, j: op(a[i, j], b[i, j]))
    return op(a, b)


def _apply(fn: Callable[[sp.Expr], sp.Expr], v: Value) -> Value:
    """``fn`` on every entry (or on a scalar)."""
    return v.applyfunc(fn) if isinstance(v, sp.MatrixBase) else fn(v)


def _number(node: ast.Constant) -> sp.Rational:
    """An int or float literal as an exact rational (0.5 -> 1/2), never through sympify."""
    if isinstance(node.value, bool) or not isinstance(node.value, int | float):
        raise _error(node, f"the constant {node.value!r} is not a number")
    f = Fraction(str(node.value))
    return sp.Rational(f.numerator, f.denominator)


class Reader:
    """Walks expressions of one listing with an environment of SymPy values and the listing's one-liners."""

    def __init__(self, env: Mapping[str, Value], functions: Mapping[str, OneLiner], budget: Budget | None = None,
                 call_depth: int = 0) -> None:
        self.env = dict(env)
        self.functions = dict(functions)
        self.budget = budget or Budget()
        self.call_depth = call_depth
        self.nesting = 0

    def value(self, node: ast.expr) -> Value:
        """The SymPy value of an expression node."""
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise _error(node, f"{type(node).__name__} is not read")
        if self.nesting >= self.budget.max_nesting:
            raise CodeTooLargeError(f"line {getattr(node, 'lineno', '?')} of the listing: expressions nest more "
                                    f"than {self.budget.max_nesting} deep")
        self.nesting += 1
        try:
            return method(node)
        finally:
            self.nesting -= 1

    def _Name(self, node: ast.Name) -> Value:
        if node.id not in self.env:
            raise _error(node, f"name {node.id!r} has no value here")
        return self.env[node.id]

    def _Constant(self, node: ast.Constant) -> Value:
        return _number(node)

    def _UnaryOp(self, node: ast.UnaryOp) -> Value:
        if isinstance(node.op, ast.USub):
            return _apply(lambda e: -e, self.value(node.operand))
        if isinstance(node.op, ast.UAdd):
            return self.value(node.operand)
        raise _error(node, f"unary {type(node.op).__name__} is not read")

    def _BinOp(self, node: ast.BinOp) -> Value:
        a, b = self.value(node.left), self.value(node.right)
        if isinstance(node.op, ast.MatMult):
            if not (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase)) or a.cols != b.rows:
                raise CodeShapeError(f"line {node.lineno} of the listing: @ of shapes {_shape(a)} and {_shape(b)} "
                                     "is undefined")
            return a * b
        ops: dict[type, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
            ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y, ast.Mult: lambda x, y: x * y,
            ast.Div: lambda x, y: x / y, ast.Pow: lambda x, y: x**y,
        }
        op = ops.get(type(node.op))
        if op is None:
            raise _error(node, f"operator {type(node.op).__name__} is not read")
        if isinstance(node.op, ast.Pow) and not (isinstance(b, sp.Integer) and 0 <= b <= 8):
            raise _error(node, "only small whole powers are read")
        return _entrywise(op, a, b, node)

    def _Attribute(self, node: ast.Attribute) -> Value:
        if node.attr == "T":
            v = self.value(node.value)
            return v.T if isinstance(v, sp.MatrixBase) else v
        raise _error(node, f"attribute .{node.attr} is not read")

    def _Call(self, node: ast.Call) -> Value:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "sum":
            return self._sum(self.value(func.value), node.args, node.keywords, node)
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in {"np", "numpy"}:
            return self._numpy(func.attr, node)
        if isinstance(func, ast.Name) and func.id == "len" and len(node.args) == 1:
            v = self.value(node.args[0])
            return sp.Integer(_shape(v)[0])
        if isinstance(func, ast.Name) and func.id in self.functions and len(node.args) == 1 and not node.keywords:
            return self._one_liner(self.functions[func.id], node)
        raise _error(node, f"the call {_spelled(func)}(...) is not read")

    def _one_liner(self, one: OneLiner, node: ast.Call) -> Value:
        """A call of the listing's own one-liner, inlined, within the call budget."""
        budget = self.budget
        budget.calls += 1
        if self.call_depth >= budget.max_call_depth or budget.calls > budget.max_calls:
            what = (f"one-line functions call each other more than {budget.max_call_depth} deep"
                    if self.call_depth >= budget.max_call_depth else f"more than {budget.max_calls} calls to inline")
            raise CodeTooLargeError(f"line {node.lineno} of the listing: {what}")
        arg = self.value(node.args[0])
        inner = Reader(self.env, self.functions, budget, self.call_depth + 1)
        inner.env[one.param] = sp.Symbol("_arg")
        body = _check_size(inner.value(one.body), budget, node)
        return _check_size(_apply(lambda e: body.xreplace({sp.Symbol("_arg"): e}), arg), budget, node)

    def _numpy(self, name: str, node: ast.Call) -> Value:
        if name == "exp" and len(node.args) == 1:
            return _apply(sp.exp, self.value(node.args[0]))
        if name == "mean" and len(node.args) == 1:
            v = self.value(node.args[0])
            return sp.Add(*v) / len(v) if isinstance(v, sp.MatrixBase) else v
        if name == "sum" and node.args:
            return self._sum(self.value(node.args[0]), node.args[1:], node.keywords, node)
        raise _error(node, f"np.{name}(...) is not read")

    def _sum(self, v: Value, args: list[ast.expr], keywords: list[ast.keyword], node: ast.AST) -> Value:
        axis = args[0] if args else next((k.value for k in keywords if k.arg == "axis"), None)
        if not isinstance(v, sp.MatrixBase):
            return v
        if axis is None:
            return sp.Add(*v)
        if not isinstance(axis, ast.Constant) or axis.value not in (0, 1, -1):
            raise _error(node, "sum over an axis other than 0 or 1")
        if axis.value == 0:
            return sp.Matrix(1, v.cols, lambda _, j: sp.Add(*v[:, j]))
        return sp.Matrix(v.rows, 1, lambda i, _: sp.Add(*v[i, :]))


def _parse(code: str) -> ast.Module:
    """The listing's tree; CodeReadError if it is not Python, CodeTooLargeError if Python's parser gives up."""
    try:
        return ast.parse(code)
    except SyntaxError as e:
        raise CodeReadError(f"the listing is not valid Python: {e.msg} (line {e.lineno})") from e
    except (RecursionError, MemoryError, ValueError) as e:
        raise CodeTooLargeError(f"the listing nests too deeply for Python's parser ({type(e).__name__})") from e


def one_liners(tree: ast.Module) -> dict[str, OneLiner]:
    """The listing's ``def f(x): return <expr>`` functions."""
    out = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.FunctionDef) and len(node.args.args) == 1 and len(node.body) == 1
                and isinstance(node.body[0], ast.Return) and node.body[0].value is not None):
            out[node.name] = OneLiner(node.args.args[0].arg, node.body[0].value)
    return out


def read_assignment(code: str, env: Mapping[str, Value], name: str) -> Value | None:
    """The value of the listing's first assignment to ``name``, with ``env`` binding every other name (None: absent).

    Each line is read on its own, with the names it uses bound by ``env``, so a wrong line is found
    at that line rather than in every line after it.
    """
    tree = _parse(code)
    assigns = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Assign) and len(n.targets) == 1
                      and isinstance(n.targets[0], ast.Name) and n.targets[0].id == name),
                     key=lambda n: (n.lineno, n.col_offset))
    if not assigns:
        return None
    return Reader(env, one_liners(tree)).value(assigns[0].value)


def read_function(code: str, name: str, param: sp.Symbol) -> sp.Expr:
    """The body of the listing's one-liner ``name`` with its parameter bound to ``param``."""
    tree = _parse(code)
    functions = one_liners(tree)
    if name not in functions:
        raise CodeReadError(f"the listing defines no one-line function {name}()")
    one = functions[name]
    value = Reader({one.param: param}, functions).value(one.body)
    if isinstance(value, sp.MatrixBase):
        raise CodeReadError(f"{name}() returns an array")
    return value
