"""Witnesses for vector and matrix statements: bold names become random matrices of a small size.

A bold lowercase name (``\\mathbf{x}``, ``\\boldsymbol{\\epsilon}``) is a column vector of ``SIZE`` entries, a
bold uppercase name (``\\mathbf{A}``, ``\\boldsymbol{\\Lambda}``) a ``SIZE`` x ``SIZE`` matrix, every other name a
scalar. The parsed expression is evaluated over them: products in order, ``^\\top``, ``\\odot``, inverses,
norms, functions entrywise, and gradients ``\\nabla_{\\mathbf{x}} f`` in the layout the notes use
(``\\nabla_{\\mathbf{x}} \\mathbf{A}\\mathbf{x} = \\mathbf{A}^\\top``: entry (i, j) is d f_j / d x_i). An undefined
function of vectors is a random quadratic in their entries. Shapes that do not fit raise ``ShapeMismatchError``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import symengine as se
import sympy as sp
from sympy.core.function import AppliedUndef

from verify.notation_nodes import Entry, Hadamard, Norm, Partial, Top
from verify.notation_table import DEFAULT_SIZE, ELIDED_SIZE
from verify.notation_values import ENTRY_NAME
from verify.reasons import sides

SIZE = ELIDED_SIZE
Value = sp.Expr | sp.MatrixBase


class ShapeMismatchError(Exception):
    """The expression does not fit the shapes assigned to its bold names."""


def is_bold(s: sp.Basic) -> bool:
    """Whether a symbol is a bold (non-commutative) name."""
    return isinstance(s, sp.Symbol) and not s.is_commutative


def has_matrices(e: sp.Basic) -> bool:
    """Whether an expression involves bold names, transposes, entrywise products or norms of expressions."""
    return isinstance(e, sp.Basic) and (any(is_bold(s) for s in e.free_symbols) or e.has(Top, Hadamard, Norm))


def shape_of(s: sp.Symbol) -> tuple[int, int]:
    """A bold name's shape: uppercase letters are square matrices, lowercase ones column vectors."""
    letter = re.sub(r"\\(mathbf|boldsymbol|bm)\{|[{}\\]|\^.*$|_.*$", "", s.name)
    return (SIZE, SIZE) if letter[:1].isupper() else (SIZE, 1)


def _scalar(v: Value) -> Value:
    """A 1 x 1 matrix as its entry; anything else unchanged."""
    return v[0, 0] if isinstance(v, sp.MatrixBase) and v.shape == (1, 1) else v


def _mul(a: Value, b: Value) -> Value:
    """A product in order: scalars scale, matrices multiply when their shapes fit."""
    a, b = _scalar(a), _scalar(b)
    if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
        if a.shape == b.shape and a.shape[1] == 1 and a.shape[0] > 1:
            return a.dot(b)  # two column vectors side by side: u \cdot v, their dot product
        if a.shape[1] != b.shape[0]:
            raise ShapeMismatchError(f"a product of shapes {a.shape} and {b.shape}")
        return a * b
    return a * b


def _add(a: Value, b: Value) -> Value:
    """A sum of like shapes."""
    a, b = _scalar(a), _scalar(b)
    if isinstance(a, sp.MatrixBase) != isinstance(b, sp.MatrixBase):
        if (isinstance(a, sp.MatrixBase) and a.is_zero_matrix) or (isinstance(b, sp.MatrixBase) and b.is_zero_matrix):
            return b if isinstance(a, sp.MatrixBase) else a
        if a == 0 or b == 0:
            return b if a == 0 else a
        raise ShapeMismatchError("a sum of a scalar and a vector or matrix")
    if isinstance(a, sp.MatrixBase) and a.shape != b.shape:  # type: ignore[union-attr]
        raise ShapeMismatchError(f"a sum of shapes {a.shape} and {b.shape}")  # type: ignore[union-attr]
    return a + b


class Evaluator:
    """Evaluate one expression over concrete matrices; undefined functions get one random quadratic per name."""

    def __init__(self, values: dict[sp.Symbol, Value], rng: random.Random) -> None:
        self.values = values
        self.rng = rng
        self.functions: dict[str, list[sp.Rational]] = {}
        self.own: dict[sp.Symbol, sp.MatrixBase] = {}

    def __call__(self, e: sp.Basic) -> Value:
        """The value of ``e``."""
        if isinstance(e, sp.Symbol):
            m = ENTRY_NAME.match(e.name)
            twin = self.twin(m.group("base")) if m else None
            if m and twin is not None:
                return _pick(twin, (sp.Integer(m.group("k")),))  # beta_1 of \boldsymbol{\beta}
            return self.values.get(e, e)
        if isinstance(e, sp.MatrixBase):
            entries = [_scalar(self(x)) for x in e]
            if any(isinstance(x, sp.MatrixBase) for x in entries):
                raise ShapeMismatchError("a matrix whose entries are vectors")
            return sp.Matrix(e.rows, e.cols, entries)
        if e.is_Number or not e.args:
            return e
        if isinstance(e, Top):
            v = self(e.args[0])
            return v.T if isinstance(v, sp.MatrixBase) else v
        if isinstance(e, Hadamard):
            a, b = self(e.args[0]), self(e.args[1])
            if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
                if a.shape != b.shape:
                    raise ShapeMismatchError(f"an entrywise product of shapes {a.shape} and {b.shape}")
                return a.multiply_elementwise(b)
            return _mul(a, b)
        if isinstance(e, Norm):
            v, p = self(e.args[0]), e.args[1]
            entries = list(v) if isinstance(v, sp.MatrixBase) else [v]
            return sp.Add(*(sp.Abs(x) for x in entries)) if p == 1 else sp.sqrt(sp.Add(*(x**2 for x in entries)))
        if isinstance(e, Partial) and isinstance(e.args[1], sp.Indexed):
            return self.by_entry(e.args[0], e.args[1])
        if isinstance(e, Partial):
            return self.gradient(e.args[0], e.args[1])
        if isinstance(e, sp.Indexed):
            return self.entry(e)
        if isinstance(e, Entry):
            return _pick(self(e.args[0]), e.args[1].args)
        if isinstance(e, sp.Sum):
            return self.total(e)
        if isinstance(e, sp.Add):
            out = self(e.args[0])
            for arg in e.args[1:]:
                out = _add(out, self(arg))
            return out
        if isinstance(e, sp.Mul):
            out: Value = sp.Integer(1)
            for arg in e.args:
                out = _mul(out, self(arg))
            return out
        if isinstance(e, sp.Pow):
            return self.power(self(e.base), self(e.exp))
        if isinstance(e, AppliedUndef):
            return self.undefined(e.func.__name__, [self(a) for a in e.args])
        if isinstance(e, sp.Function):
            args = [self(a) for a in e.args]
            if len(args) == 1 and isinstance(args[0], sp.MatrixBase):
                return args[0].applyfunc(e.func)
            if any(isinstance(a, sp.MatrixBase) for a in args):
                raise ShapeMismatchError(f"{e.func} of a vector or matrix")
            return e.func(*args)
        raise ShapeMismatchError(f"{type(e).__name__} is not read over matrices")

    def total(self, e: sp.Sum) -> Value:
        """A sum over concrete bounds (n is the size of the vectors), term by term."""
        body, (index, lo, hi) = e.function, e.limits[0]
        lo, hi = (sp.Integer(SIZE) if b == DEFAULT_SIZE else b for b in (lo, hi))
        if not (lo.is_Integer and hi.is_Integer):
            raise ShapeMismatchError("a sum whose bounds are not numbers")
        rest = sp.Sum(body, *e.limits[1:]) if len(e.limits) > 1 else body
        out: Value = sp.Integer(0)
        for v in range(int(lo), int(hi) + 1):
            out = _add(out, self(rest.xreplace({index: sp.Integer(v)})))
        return out

    def twin(self, letter: str) -> sp.MatrixBase | None:
        """The value of the bold name whose entries the letter writes (x of \\mathbf{x}, a of \\mathbf{A})."""
        letter = letter.lstrip("\\")
        for s, v in self.values.items():
            if is_bold(s) and isinstance(v, sp.MatrixBase) and _letter(s).lstrip("\\") in {letter, letter.upper()}:
                return v
        return None

    def matrix_of(self, base: sp.IndexedBase, count: int) -> sp.MatrixBase:
        """The matrix whose entries an indexed name writes: its bold twin (x_i of \\mathbf{x}, a_{ij} of
        \\mathbf{A}), else a random one of its own, the same on both sides of the statement."""
        label = base.label
        letter = (_letter(label) if isinstance(label, sp.Symbol) else str(label)).lstrip("\\")
        found = self.twin(letter)
        if found is not None:
            return found
        key = sp.Symbol(f"\\mathbf{{{letter}}}", commutative=False)
        if key in self.values:
            return self.values[key]
        if key not in self.own:  # shared with the evaluators a gradient opens, so both sides see one matrix
            rows, cols = (SIZE, 1) if count == 1 else (SIZE, SIZE)
            self.own[key] = sp.Matrix(rows, cols, lambda i, j: sp.Rational(self.rng.randint(-20, 20),
                                                                           self.rng.randint(7, 29)))
        self.values[key] = self.own[key]
        return self.values[key]

    def entry(self, e: sp.Indexed) -> Value:
        """An entry x_i or a_{ij} at concrete (1-based) indices."""
        return _pick(self.matrix_of(e.base, len(e.indices)), e.indices)

    def by_entry(self, f: sp.Basic, var: sp.Indexed) -> Value:
        """d f / d x_k: f over x's matrix with that one entry symbolic, differentiated there."""
        matrix = self.matrix_of(var.base, len(var.indices))
        k = _position(matrix, var.indices)
        slot = sp.Dummy("e")
        changed = sp.Matrix(matrix)
        changed[k] = slot
        key = next(s for s, v in self.values.items() if v is matrix)
        inner = Evaluator({**self.values, key: changed}, self.rng)
        inner.functions, inner.own = self.functions, self.own
        value = inner(f)
        outputs = value.applyfunc(lambda x: _diff_at(x, slot, {slot: matrix[k]})) if isinstance(
            value, sp.MatrixBase) else _diff_at(value, slot, {slot: matrix[k]})
        return outputs

    def power(self, base: Value, exponent: Value) -> Value:
        """A scalar power, or an integer power of a square matrix (-1 is the inverse)."""
        base = _scalar(base)
        if not isinstance(base, sp.MatrixBase):
            return base**exponent
        if not (exponent.is_Integer and base.is_square):
            raise ShapeMismatchError("a power of a vector or of a non-square matrix")
        if exponent < 0 and base.det() == 0:
            raise ShapeMismatchError("the inverse of a singular matrix")
        return base**exponent

    def undefined(self, name: str, args: list[Value]) -> Value:
        """A function the notes leave general: c0 + sum of c x + d x^2 over every entry of its arguments."""
        entries = [x for a in args for x in (list(a) if isinstance(a, sp.MatrixBase) else [a])]
        coefficients = self.functions.setdefault(name, [])
        while len(coefficients) < 1 + 2 * len(entries):
            coefficients.append(sp.Rational(self.rng.randint(-20, 20), self.rng.randint(7, 29)))
        return coefficients[0] + sp.Add(*(coefficients[1 + 2 * k] * x + coefficients[2 + 2 * k] * x**2
                                          for k, x in enumerate(entries)))

    def gradient(self, f: sp.Basic, var: sp.Basic) -> Value:
        """d f / d var with var's entries symbolic; entry (i, j) is d f_j / d var_i (denominator layout)."""
        if not isinstance(var, sp.Symbol):
            raise ShapeMismatchError("a gradient with respect to an expression")
        point = self.values.get(var, var)
        shape = point.shape if isinstance(point, sp.MatrixBase) else (1, 1)
        entries = sp.Matrix(shape[0], shape[1], lambda i, j: sp.Dummy(f"e{i}{j}"))
        inner = Evaluator({**self.values, var: entries if isinstance(point, sp.MatrixBase) else entries[0, 0]},
                          self.rng)
        inner.functions, inner.own = self.functions, self.own
        value = inner(f)
        outputs = list(value) if isinstance(value, sp.MatrixBase) else [value]
        at = dict(zip(list(entries), list(point) if isinstance(point, sp.MatrixBase) else [point], strict=True))
        grads = [[_diff_at(out, x, at) for out in outputs] for x in entries]
        if len(outputs) == 1:
            g = sp.Matrix(shape[0], shape[1], [row[0] for row in grads])
            return _scalar(g)
        return sp.Matrix(grads)


def _letter(s: sp.Symbol) -> str:
    """The letter of a bold name: ``\\mathbf{x}`` -> x, ``\\boldsymbol{\\beta}`` -> \\beta."""
    return re.sub(r"^\\(?:mathbf|boldsymbol|bm)\{(.*)\}$", r"\1", s.name)


def _position(matrix: sp.MatrixBase, indices: tuple[sp.Basic, ...]) -> tuple[int, int]:
    """The 0-based (row, column) of a 1-based entry; one index counts along a vector."""
    if not all(i.is_Integer and 1 <= i <= SIZE for i in indices):
        raise ShapeMismatchError("an entry whose index is not a number from 1 to the size")
    if len(indices) == 1:
        if 1 not in matrix.shape:
            raise ShapeMismatchError("one index into a matrix")
        return (int(indices[0]) - 1, 0) if matrix.shape[1] == 1 else (0, int(indices[0]) - 1)
    if len(indices) != 2 or 1 in matrix.shape:
        raise ShapeMismatchError("two indices into a vector")
    return int(indices[0]) - 1, int(indices[1]) - 1


def _pick(value: Value, indices: tuple[sp.Basic, ...]) -> Value:
    """The entry of a vector or matrix at 1-based indices."""
    if not isinstance(value, sp.MatrixBase):
        raise ShapeMismatchError("an entry of a scalar")
    return value[_position(value, tuple(indices))]


def _random_value(s: sp.Symbol, rng: random.Random, sample: Callable[[random.Random, sp.Symbol], sp.Rational]
                  ) -> Value:
    """A random value for a name: a matrix of its shape for a bold name, else a scalar."""
    if not is_bold(s):
        return sample(rng, s)
    rows, cols = shape_of(s)
    return sp.Matrix(rows, cols, lambda i, j: sp.Rational(rng.randint(-20, 20), rng.randint(7, 29)))


def _diff_at(expr: sp.Expr, x: sp.Symbol, at: dict[sp.Basic, sp.Basic]) -> sp.Expr:
    """d expr / d x at the point ``at``: with symengine (many entries, large expressions), SymPy where it cannot."""
    try:
        point = {se.sympify(k): se.sympify(v) for k, v in at.items()}
        return se.diff(se.sympify(expr), se.sympify(x)).subs(point)._sympy_()
    except (TypeError, ValueError, RuntimeError, AttributeError, NotImplementedError):
        return sp.diff(expr, x).xreplace(at)


def _zero_like(v: Value, other: Value) -> Value:
    """A written 0 beside a vector or matrix is the zero of that shape."""
    if not isinstance(v, sp.MatrixBase) and v == 0 and isinstance(other, sp.MatrixBase):
        return sp.zeros(*other.shape)
    return v


def evaluate_at_random(exprs: list[sp.Basic], rng: random.Random,
                       sample: Callable[[random.Random, sp.Symbol], sp.Rational],
                       fixed: dict[sp.Symbol, Value]) -> list[Value]:
    """The expressions over random matrices (names in ``fixed`` keep their given values)."""
    names = sorted(sp.Tuple(*exprs).free_symbols, key=sp.default_sort_key)
    values = {s: fixed[s] if s in fixed else _random_value(s, rng, sample) for s in names if isinstance(s, sp.Symbol)}
    ev = Evaluator(values, rng)
    return [_scalar(ev(e)) for e in exprs]


def random_value(s: sp.Symbol, rng: random.Random) -> Value:
    """A random value of a bold name's shape (entries in [-20/7, 20/7])."""
    return _random_value(s, rng, lambda r, _s: sp.Rational(r.randint(1, 20), r.randint(7, 29)))


def matrix_witness(a: sp.Basic, b: sp.Basic, points: int, seed: int,
                   sample: Callable[[random.Random, sp.Symbol], sp.Rational]) -> tuple[bool, str]:
    """Compare two matrix expressions at random matrices: (all agree, counterexample text)."""
    rng = random.Random(seed)
    names = sorted(sp.Tuple(a, b).free_symbols, key=sp.default_sort_key)
    for _ in range(points):
        sizes = {lim[2] for e in sp.Tuple(a, b).atoms(sp.Sum) for lim in e.limits if isinstance(lim[2], sp.Symbol)}
        indices = {s: sp.Integer(SIZE) if s == DEFAULT_SIZE or s in sizes else sp.Integer(rng.randint(1, SIZE))
                   for s in names if isinstance(s, sp.Symbol) and (s.is_integer or s in sizes)}
        values = {s: _random_value(s, rng, sample) for s in names if isinstance(s, sp.Symbol) and s not in indices}
        ev = Evaluator(values, rng)
        va, vb = _scalar(ev(a.subs(indices))), _scalar(ev(b.subs(indices)))  # subs leaves a sum's own index alone
        va, vb = _zero_like(va, vb), _zero_like(vb, va)
        ma, mb = isinstance(va, sp.MatrixBase), isinstance(vb, sp.MatrixBase)
        if ma != mb or (ma and va.shape != vb.shape):
            shape_a = va.shape if ma else "scalar"
            shape_b = vb.shape if mb else "scalar"
            return False, f"the sides have shapes {shape_a} and {shape_b}"
        left, right = (va, vb) if ma else (sp.Matrix([va]), sp.Matrix([vb]))
        for k, (x, y) in enumerate(zip(left, right, strict=True)):
            n = sp.N(x - y, 50)
            if n.free_symbols or not n.is_number:
                raise ShapeMismatchError("names remain after substitution")
            if abs(n) > sp.Float(10) ** -30:
                where = f"entry {divmod(k, left.shape[1])}: " if ma else ""
                return False, sides(f"at random {SIZE}x{SIZE} matrices and {SIZE}-vectors (seed {seed}), {where}", x, y)
    return True, f"agrees at {points} random {SIZE}x{SIZE} matrices and {SIZE}-vectors"
