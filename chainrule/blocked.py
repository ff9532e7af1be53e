"""The blocked, in-place loop a generated NumPy kernel runs on large inputs.

Hand-written NumPy (``s = 1/(1+np.exp(-z)); s*(1-s)``) makes one full-size temporary per operation:
each is a fresh allocation that the kernel then faults in page by page, and every operation streams
its operands through memory again. A generated kernel instead walks its inputs in blocks of ``BLOCK``
elements (whole rows for a row-wise kernel) and evaluates its cse'd expression as a list of ufunc
calls with ``out=`` into a few block-sized scratch buffers ("registers") that stay in the cache: one
pass over memory to read the inputs and one to write the result. What depends only on the kernel's
``scalars`` (rates, decays, epsilon) or on the row length is computed once, before the loop.

``schedule`` turns a kernel's cse output into those lines; the generator prints them (chainrule.codegen).
A node with no in-place form (a ``where``) is evaluated on the block by the plain printer. The loop runs
only where the layout allows it (``_layout`` in the generated module: arrays of one C-contiguous shape,
scalars with one value, enough elements); otherwise the kernel runs its plain expression.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import sympy as sp
from sympy.codegen.cfunctions import log1p
from sympy.codegen.numpy_nodes import logaddexp
from sympy.printing.printer import Printer

from derive.arrays import Col, Count, Eye, RMax, Row, RSum

Kind = Literal["scalar", "row", "full", "matrix"]
_RANK: Mapping[str, int] = {"scalar": 0, "row": 1, "full": 2, "matrix": 3}

#: SymPy functions of one argument with a NumPy (or SciPy) ufunc of the same name.
UNARY: Mapping[type, str] = {
    sp.exp: "numpy.exp", sp.log: "numpy.log", sp.tanh: "numpy.tanh", sp.sqrt: "numpy.sqrt",
    sp.Abs: "numpy.absolute", sp.sign: "numpy.sign", sp.sin: "numpy.sin", sp.cos: "numpy.cos",
    sp.erf: "scipy.special.erf", log1p: "numpy.log1p",
}
#: Relations, which write 0 or 1 into a float register (an indicator).
RELATIONS: Mapping[type, str] = {
    sp.StrictGreaterThan: "numpy.greater", sp.StrictLessThan: "numpy.less",
    sp.GreaterThan: "numpy.greater_equal", sp.LessThan: "numpy.less_equal",
}
REDUCTIONS: Mapping[type, str] = {RSum: "numpy.sum", RMax: "numpy.max"}


class ScheduleError(ValueError):
    """An expression cannot be scheduled (its root is not an array value)."""


@dataclass(frozen=True)
class Operand:
    """A value the loop can pass to a ufunc: a block view, a register, a hoisted scalar or a literal."""

    text: str
    kind: Kind
    register: int | None = None


@dataclass(frozen=True)
class Schedule:
    """The lines of a blocked kernel: before the loop, per block, and the registers each kind needs."""

    hoisted: tuple[str, ...]
    body: tuple[str, ...]
    registers: tuple[Kind, ...]
    #: Block-sized buffers filled with one scalar before the loop, read as ``_c0``, ``_c1``...: (kind, value) each.
    constants: tuple[tuple[Kind, str], ...] = ()


@dataclass
class _Compiler:
    """Post-order code emission with register reuse: a register is free once its last reader has run."""

    printer: Printer
    kinds: Mapping[sp.Symbol, Kind]
    views: Mapping[sp.Symbol, str]
    hoisted: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    registers: list[Kind] = field(default_factory=list)
    free: list[int] = field(default_factory=list)
    constants: list[tuple[Kind, str]] = field(default_factory=list)
    values: dict[sp.Symbol, Operand] = field(default_factory=dict)
    left: Counter[sp.Symbol] = field(default_factory=Counter)

    def kind(self, e: sp.Basic) -> Kind:
        """scalar (one value per call), row (one per row), full (one per element) or matrix (n per element)."""
        if isinstance(e, (Count, Eye)) or e.is_number:
            return "scalar"
        if isinstance(e, (Col, Row)):
            return "matrix"
        if isinstance(e, sp.Symbol):
            return self.values[e].kind if e in self.values else self.kinds[e]
        if isinstance(e, (RSum, RMax)):
            return "row"
        return max((self.kind(a) for a in e.args), key=_RANK.__getitem__, default="scalar")

    def scalar(self, e: sp.Basic) -> Operand:
        """A value the same for every block: a literal, an argument, or a line before the loop."""
        if e.is_Number or isinstance(e, sp.Symbol):
            return Operand(self.text(e, blocks=False), "scalar")
        name = f"_s{len(self.hoisted)}"
        self.hoisted.append(f"{name} = {self.text(e, blocks=False)}")
        return Operand(name, "scalar")

    def text(self, e: sp.Basic, blocks: bool = True) -> str:
        """``e`` printed with temporaries as their operands and, in the loop, arguments as their block views."""
        table = {s: sp.Symbol(v) for s, v in self.views.items()} if blocks else {}
        table |= {s: sp.Symbol(op.text) for s, op in self.values.items()}
        return self.printer.doprint(e.xreplace(table))

    def register(self, kind: Kind) -> Operand:
        """A free register of ``kind``, or a new one."""
        for i in self.free:
            if self.registers[i] == kind:
                self.free.remove(i)
                return Operand(f"_r{i}", kind, i)
        self.registers.append(kind)
        return Operand(f"_r{len(self.registers) - 1}", kind, len(self.registers) - 1)

    def release(self, op: Operand) -> None:
        """Free ``op``'s register unless a temporary stored in it is still to be read."""
        if op.register is None:
            return
        owner = next((s for s, v in self.values.items() if v.register == op.register), None)
        if owner is not None:
            self.left[owner] -= 1
            if self.left[owner] > 0:
                return
            del self.values[owner]
        if op.register not in self.free:
            self.free.append(op.register)

    def call(self, func: str, args: list[Operand], kind: Kind, dest: Operand | None, extra: str = "") -> Operand:
        """Emit ``func(*args, out=target)``; the target is ``dest``, a register freed by this call, or a new one."""
        for a in args:
            self.release(a)
        target = dest or self._reuse(args, kind) or self.register(kind)
        self.body.append(f"{func}({', '.join(a.text for a in args)}{extra}, out={target.text})")
        return target

    def _reuse(self, args: list[Operand], kind: Kind) -> Operand | None:
        """A register among ``args`` of ``kind`` that no one reads after this call."""
        for a in args:
            if a.register is not None and a.register in self.free and self.registers[a.register] == kind:
                self.free.remove(a.register)
                return a
        return None

    def value(self, e: sp.Basic, dest: Operand | None = None) -> Operand:
        """Emit the lines computing ``e``; the last writes into ``dest`` when given."""
        kind = self.kind(e)
        if kind == "scalar" and dest is None:
            return self.scalar(e)
        if isinstance(e, sp.Symbol):
            op = self.values.get(e) or Operand(self.views[e], kind)
            return self.copy(op, dest) if dest is not None else op
        if isinstance(e, sp.UnevaluatedExpr):
            return self.value(e.args[0], dest)
        if isinstance(e, (Col, Row)):
            return self.placed(e, dest)
        if isinstance(e, sp.Add):
            return self.add(e, kind, dest)
        if isinstance(e, sp.Mul):
            return self.mul(e, kind, dest)
        if isinstance(e, sp.Pow) and self.kind(e.exp) == "scalar":
            return self.power(e, kind, dest)
        if type(e) in UNARY:
            return self.call(UNARY[type(e)], [self.value(e.args[0])], kind, dest)
        if type(e) in RELATIONS:
            return self.call(RELATIONS[type(e)], [self.value(a) for a in e.args], kind, dest)
        if type(e) in REDUCTIONS:
            return self.call(REDUCTIONS[type(e)], [self.value(e.args[0])], "row", dest, ", axis=-1, keepdims=True")
        if isinstance(e, logaddexp) and len(e.args) == 2 and any(a.is_number and a.is_finite for a in e.args):
            return self.softplus(e, kind, dest)
        if isinstance(e, (sp.Max, sp.Min, logaddexp)) and len(e.args) == 2:
            func = {sp.Max: "numpy.maximum", sp.Min: "numpy.minimum", logaddexp: "numpy.logaddexp"}[type(e)]
            args = [self.value(a) for a in e.args]
            if func != "numpy.logaddexp":  # NumPy's maximum/minimum have no fast loop for a scalar operand
                args = [self.constant(a, kind) if a.kind == "scalar" else a for a in args]
            return self.call(func, args, kind, dest)
        if _is_indicator(e):
            return self.value(e.args[0][1], dest)
        return self.fallback(e, kind, dest)

    def placed(self, e: Col | Row, dest: Operand | None) -> Operand:
        """A row's vector along the rows (``Col``) or the columns (``Row``) of its n x n block: a view, no copy."""
        op = self.value(e.args[0])
        if op.kind != "full":
            raise ScheduleError(f"{type(e).__name__} of a {op.kind} value: only a vector per row can be placed")
        view = Operand(op.text + ("[:, :, None]" if isinstance(e, Col) else "[:, None, :]"), "matrix", op.register)
        return self.copy(view, dest) if dest is not None else view

    def softplus(self, e: logaddexp, kind: Kind, dest: Operand | None) -> Operand:
        """``logaddexp(c, x)`` for a finite number ``c``, as ``max(x, c) + log1p(exp(-|x - c|))``: the same
        function in ufuncs that run several times faster than NumPy's ``logaddexp`` loop. ``x`` is computed
        once and read twice; the maximum is its last read."""
        c, x = sorted(e.args, key=lambda a: not a.is_number)
        xo, level = self.value(x), self.constant(self.scalar(c), kind)
        tail = self.register(kind)
        if c == 0:
            self.body.append(f"numpy.absolute({xo.text}, out={tail.text})")
        else:
            self.body.append(f"numpy.subtract({xo.text}, {level.text}, out={tail.text})")
            self.body.append(f"numpy.absolute({tail.text}, out={tail.text})")
        for func in ("numpy.negative", "numpy.exp", "numpy.log1p"):
            self.body.append(f"{func}({tail.text}, out={tail.text})")
        wide = self.call("numpy.maximum", [xo, level], kind, None)
        return self.call("numpy.add", [wide, tail], kind, dest)

    def constant(self, op: Operand, kind: Kind) -> Operand:
        """A block-sized buffer of ``kind`` holding the scalar ``op`` everywhere (one per distinct value)."""
        if (kind, op.text) not in self.constants:
            self.constants.append((kind, op.text))
        return Operand(f"_c{self.constants.index((kind, op.text))}", kind)

    def copy(self, op: Operand, dest: Operand) -> Operand:
        """Copy ``op`` into ``dest`` (a root that is an argument or a temporary)."""
        self.release(op)
        self.body.append(f"numpy.copyto({dest.text}, {op.text})")
        return dest

    def fallback(self, e: sp.Basic, kind: Kind, dest: Operand | None) -> Operand:
        """A node with no in-place form, evaluated on the block by the plain printer."""
        line = self.text(e)
        for s in sorted(e.free_symbols & set(self.values), key=str):
            op = self.values[s]
            for _ in range(_occurrences(e, s)):
                self.release(op)
        target = dest or self.register(kind)
        self.body.append(f"{target.text}[...] = {line}")
        return target

    def add(self, e: sp.Add, kind: Kind, dest: Operand | None) -> Operand:
        """A sum: positive terms added, negated terms subtracted, the scalar part last (or first: ``c - x``)."""
        const = sp.Add(*[a for a in e.args if self.kind(a) == "scalar"])
        signed = [_split_sign(a) for a in e.args if self.kind(a) != "scalar"]
        plus = [t for s, t in signed if s > 0]
        minus = [t for s, t in signed if s < 0]
        if plus:
            steps = [("numpy.add", t) for t in plus[1:]] + [("numpy.subtract", t) for t in minus]
            steps += [("numpy.add", const)] if const != 0 else []
            acc = self.value(plus[0], dest if not steps else None)
        else:
            steps = [("numpy.subtract", t) for t in minus[1:]]
            first = [self.scalar(const), self.value(minus[0])] if const != 0 else [self.value(minus[0])]
            acc = self.call("numpy.subtract" if const != 0 else "numpy.negative", first, kind,
                            dest if not steps else None)
        for i, (func, term) in enumerate(steps):
            last = i == len(steps) - 1
            acc = self.call(func, [acc, self.value(term)], kind, dest if last else None)
        return acc

    def mul(self, e: sp.Mul, kind: Kind, dest: Operand | None) -> Operand:
        """A product: array factors multiplied, denominators divided, the scalar factor last."""
        const = sp.Mul(*[a for a in e.args if self.kind(a) == "scalar"])
        factors = [a for a in e.args if self.kind(a) != "scalar"]
        num = [a for a in factors if not _is_reciprocal(a)]
        den = [sp.Pow(a.base, -a.exp) for a in factors if _is_reciprocal(a)]
        if num:
            steps = [("numpy.multiply", a) for a in num[1:]] + [("numpy.divide", a) for a in den]
            if const == -1:
                steps.append(("numpy.negative", sp.S.Zero))
            elif const != 1:
                steps.append(("numpy.multiply", const))
            acc = self.value(num[0], dest if not steps else None)
        else:
            steps = [("numpy.divide", a) for a in den[1:]]
            acc = self.call("numpy.divide", [self.scalar(const), self.value(den[0])], kind,
                            dest if not steps else None)
        for i, (func, factor) in enumerate(steps):
            target = dest if i == len(steps) - 1 else None
            args = [acc] if func == "numpy.negative" else [acc, self.value(factor)]
            acc = self.call(func, args, kind, target)
        return acc

    def power(self, e: sp.Pow, kind: Kind, dest: Operand | None) -> Operand:
        """A power with a scalar exponent: square, sqrt and reciprocals as their own ufuncs."""
        base, exp = e.base, e.exp
        if exp == 2:
            return self.call("numpy.square", [self.value(base)], kind, dest)
        if exp == sp.Rational(1, 2):
            return self.call("numpy.sqrt", [self.value(base)], kind, dest)
        if exp == -1:
            return self.call("numpy.reciprocal", [self.value(base)], kind, dest)
        if exp.is_negative:
            inner = self.value(sp.Pow(base, -exp))
            return self.call("numpy.reciprocal", [inner], kind, dest)
        return self.call("numpy.power", [self.value(base), self.scalar(exp)], kind, dest)


def _split_sign(term: sp.Basic) -> tuple[int, sp.Basic]:
    """(-1, x) for a term ``-x`` (a negative numeric coefficient), else (1, term)."""
    coeff, rest = term.as_coeff_Mul()
    if coeff.is_negative:
        return -1, (rest if coeff == -1 else sp.Mul(-coeff, rest, evaluate=False))
    return 1, term


def _is_reciprocal(e: sp.Basic) -> bool:
    """True for ``x**(-k)`` with a negative numeric exponent (a denominator)."""
    return isinstance(e, sp.Pow) and e.exp.is_number and e.exp.is_negative


def _is_indicator(e: sp.Basic) -> bool:
    """True for ``Piecewise((1, cond), (0, True))``, which a relation ufunc writes as 0/1 directly."""
    return (isinstance(e, sp.Piecewise) and len(e.args) == 2 and e.args[0][0] == 1 and e.args[1][0] == 0
            and e.args[1][1] == sp.true)


def schedule(temps: list[tuple[sp.Symbol, sp.Basic]], body: sp.Basic, printer: Printer,
             kinds: Mapping[sp.Symbol, Kind], views: Mapping[sp.Symbol, str], out: Operand) -> Schedule:
    """The blocked lines for cse output ``temps``/``body``: arguments read from ``views``, the result into ``out``."""
    uses: Counter[sp.Symbol] = Counter()
    for e in [*(e for _, e in temps), body]:
        for s in e.free_symbols:
            uses[s] += _occurrences(e, s)
    c = _Compiler(printer, kinds, views)
    for name, e in temps:
        c.values[name] = c.scalar(e) if c.kind(e) == "scalar" else c.value(e)
        if c.values[name].register is not None:  # a register, kept until the temporary's last reader
            c.left[name] = uses[name]
    if c.kind(body) == "scalar":
        raise ScheduleError("the kernel's value does not depend on an array argument")
    c.value(body, out)
    return Schedule(tuple(c.hoisted), tuple(c.body), tuple(c.registers), tuple(c.constants))


def _occurrences(e: sp.Basic, s: sp.Symbol) -> int:
    """How many times ``s`` appears as a leaf of ``e``."""
    return sum(1 for x in sp.preorder_traversal(e) if x == s)
