"""Generate the NumPy and JAX kernel modules from the ``Kernel`` records of the registry.

One printer design: ``KernelPrinterMixin`` holds every override (array reductions and matrix
products, ``Max``, ``Piecewise`` as nested ``where``, ``erf``, ``logaddexp``, float literals), and is
combined with SymPy's ``NumPyPrinter`` and ``JaxPrinter``; the two backends differ only by their row
in ``BACKENDS``. Before any source is rendered, ``prove_kernels`` shows every rewrite and every
derivative kernel equal to what it stands for, and ``render_all`` refuses to generate otherwise.

A kernel that is not elementwise has a ``Signature``: the trailing shape of each argument and of the
result in NumPy's gufunc notation, e.g. ``(m,n),(m),(B,n)->(B,m)``; leading axes are batch axes.
A ``Kernel`` record declares it in its ``signature`` field; without one, every argument is a vector
``(n)``, and a derivative kernel takes its forward kernel's arguments.
"""

from __future__ import annotations

import importlib
import keyword
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import sympy as sp
from sympy.codegen.numpy_nodes import logaddexp
from sympy.printing.numpy import JaxPrinter, NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from chainrule import blocked
from derive.arrays import ArrayShapeError, BSum, Col, Count, Dot, Eye, RMax, Row, RSum, Swap, Value, expand
from derive.core import SECTIONS, Formula, FormulaReference, Kernel, RecordReference, registry
from derive.functions import unfold
from derive.proof import DIGITS, ZERO_BELOW, Proof, check_equal, evaluate_at

GENERATE_COMMAND = "chainrule generate"
PROOF_SIZES: tuple[int, ...] = (1, 2, 3, 4)
PROOF_POINTS = 3
RESERVED = frozenset({"dtype", "numpy", "jax", "math", "scipy", "os", "threading", "concurrent"})


class CodegenError(RuntimeError):
    """A kernel record cannot be turned into code (bad name, unknown symbol, missing reference)."""


class KernelProofError(CodegenError):
    """A rewrite or derivative kernel was not shown equal to what it stands for; nothing is generated."""


@dataclass(frozen=True)
class Backend:
    """What tells one generated module from the other: module names, erf, imports, helpers."""

    name: str
    title: str
    path: str
    xp: str
    erf: str
    imports: tuple[str, ...]
    helpers: str



#: The names the generated NumPy kernels take from their run-time support, chainrule/kernels/numpy_runtime.py.
NUMPY_RUNTIME = ("BLOCK", "THREADS", "block", "elementwise_layout", "float_dtype", "parallel", "row_layout")
NUMPY_RUNTIME_IMPORT = "\n".join(["# The kernels' run-time support (a hand-written module):",
                                  *(f"from chainrule.kernels.numpy_runtime import {name} as _{name}"
                                    for name in NUMPY_RUNTIME)])

_JAX_HELPERS = '''

def _float_dtype(*args):
    """The floating dtype the arguments promote to (Python scalars are weak; integers become float)."""
    return jax.numpy.result_type(*args, 1.0)
'''

BACKENDS: Mapping[str, Backend] = {
    "numpy": Backend("numpy", "NumPy", "chainrule/kernels/numpy_kernels.py", "numpy", "scipy.special.erf",
                     ("import numpy", "import scipy.special", "", NUMPY_RUNTIME_IMPORT), ""),
    "jax": Backend("jax", "JAX", "chainrule/kernels/jax_kernels.py", "jax.numpy", "jax.scipy.special.erf",
                   ("import jax.numpy", "import jax.scipy.special"), _JAX_HELPERS),
}


def simplex_args(kernel: Kernel) -> tuple[str, ...]:
    """Names of ``kernel``'s arguments that must lie on the probability simplex (its record's ``simplex``)."""
    return kernel.simplex


def proven_kernels() -> tuple[Kernel, ...]:
    """The kernels that ``prove_kernels`` proves: rewrites, derivatives, and those with a record reference."""
    return tuple(k for k in registry().kernels()
                 if k.rewrite or k.grad_of or isinstance(k.reference, RecordReference))


# --- signatures ----------------------------------------------------------------------------------

Core = tuple[str | int, ...]
_SIGNATURE = re.compile(r"^(?P<inputs>\(.*\))->(?P<output>\(.*\))$")


@dataclass(frozen=True)
class Signature:
    """The trailing shape of each argument (in argument order) and of the result; leading axes are batch axes."""

    inputs: tuple[Core, ...]
    output: Core

    def text(self) -> str:
        """The signature in NumPy's gufunc notation, e.g. ``(m,n),(n)->(m)``."""
        def one(core: Core) -> str:
            return "(" + ",".join(map(str, core)) + ")"
        return ",".join(map(one, self.inputs)) + "->" + one(self.output)

    def sizes(self) -> tuple[str, ...]:
        """The named sizes, in order of first appearance."""
        names: list[str] = []
        for core in (*self.inputs, self.output):
            names += [d for d in core if isinstance(d, str) and d not in names]
        return tuple(names)

    def shape(self, core: Core, sizes: Mapping[str, int]) -> tuple[int, ...]:
        """``core`` with each named size replaced by its value in ``sizes``."""
        return tuple(d if isinstance(d, int) else sizes[d] for d in core)


def parse_signature(text: str) -> Signature:
    """Read ``(m,n),(m)->(m)``: one parenthesised list of size names or integers per argument, then the result."""
    found = _SIGNATURE.match(text.replace(" ", ""))
    if not found:
        raise CodegenError(f"signature {text!r} is not of the form '(m,n),(n)->(m)'")

    def cores(part: str) -> tuple[Core, ...]:
        out = []
        for group in re.findall(r"\(([^()]*)\)", part):
            dims = [d for d in group.split(",") if d]
            if not all(d.isdigit() or d.isidentifier() for d in dims):
                raise CodegenError(f"signature {text!r}: sizes must be names or integers, got ({group})")
            out.append(tuple(int(d) if d.isdigit() else d for d in dims))
        return tuple(out)

    (output,) = cores(found["output"]) or ((),)
    return Signature(cores(found["inputs"]), output)


@cache
def _signature(name: str) -> Signature:
    """The signature of the registry's kernel ``name`` (see ``signature``)."""
    kernel = _kernel(name)
    if kernel.shape == "elementwise":
        return Signature(tuple(() for _ in kernel.args), ())
    if kernel.grad_of:
        forward = _kernel(kernel.grad_of)
        if [a.name for a in forward.args] != [a.name for a in kernel.args]:
            raise CodegenError(f"derivative kernel {name!r} must take the arguments of {forward.name!r} in order: "
                               f"{[a.name for a in forward.args]}")
        fwd = _signature(forward.name)
        wrt = fwd.inputs[[a.name for a in forward.args].index(kernel.grad_wrt)]
        return Signature(fwd.inputs, wrt if fwd.output == () else fwd.output + wrt)
    if kernel.signature:
        sig = parse_signature(kernel.signature)
        if len(sig.inputs) != len(kernel.args):
            raise CodegenError(f"signature {sig.text()} of {name!r} has {len(sig.inputs)} inputs for "
                               f"{len(kernel.args)} arguments {[a.name for a in kernel.args]}; fix the "
                               "Kernel's signature in derive/")
        return sig
    if kernel.shape == "jacobian":
        return Signature(tuple(("n",) for _ in kernel.args), ("n", "n"))
    reduced = _is_reduced(kernel.expr, frozenset(kernel.args))
    return Signature(tuple(("n",) for _ in kernel.args), () if reduced else ("n",))


def signature(kernel: Kernel) -> Signature:
    """The trailing shapes of ``kernel``'s arguments and result: declared, inherited by a derivative, or (n)."""
    return _signature(kernel.name)


def arg_cores(kernel: Kernel) -> dict[str, Core]:
    """Each argument name of ``kernel`` with its trailing shape."""
    return {a.name: core for a, core in zip(kernel.args, signature(kernel).inputs, strict=True)}


class KernelPrinterMixin:
    """Printer overrides shared by both backends; the backend row supplies every module name."""

    backend: ClassVar[Backend]

    def _xp(self, name: str) -> str:
        return f"{self.backend.xp}.{name}"

    def _arg(self, expr: sp.Basic) -> str:
        return self._print(expr.args[0])

    def _atom(self, expr: sp.Basic) -> str:
        return self.parenthesize(expr.args[0], PRECEDENCE["Atom"], strict=True)

    def _print_RSum(self, expr: RSum) -> str:
        return f"{self._xp('sum')}({self._arg(expr)}, axis=-1, keepdims=True)"

    def _print_RMax(self, expr: RMax) -> str:
        return f"{self._xp('max')}({self._arg(expr)}, axis=-1, keepdims=True)"

    def _print_Count(self, expr: Count) -> str:
        return f"{self._atom(expr)}.shape[-1]"

    def _print_Col(self, expr: Col) -> str:
        return f"{self._atom(expr)}[..., :, None]"

    def _print_Row(self, expr: Row) -> str:
        return f"{self._atom(expr)}[..., None, :]"

    def _print_Eye(self, expr: Eye) -> str:
        return f"{self._xp('eye')}({self._atom(expr)}.shape[-1], dtype=dtype)"

    def _print_BSum(self, expr: BSum) -> str:
        return f"{self._xp('sum')}({self._arg(expr)}, axis=-2)"

    def _print_Dot(self, expr: Dot) -> str:
        return f"{self._xp('matmul')}({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Swap(self, expr: Swap) -> str:
        return f"{self._xp('swapaxes')}({self._arg(expr)}, -1, -2)"

    def _nested(self, op: str, args: tuple[sp.Basic, ...]) -> str:
        head, *rest = args
        if not rest:
            return self._print(head)
        return f"{self._xp(op)}({self._print(head)}, {self._nested(op, tuple(rest))})"

    def _print_Max(self, expr: sp.Max) -> str:
        return self._nested("maximum", tuple(expr.args))

    def _print_Min(self, expr: sp.Min) -> str:
        return self._nested("minimum", tuple(expr.args))

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        *branches, (last, cond) = expr.args
        where = self._xp("where")
        if len(branches) == 1 and branches[0][0] == 1 and last == 0 and cond == sp.true:
            return f"{self._xp('asarray')}({self._print(branches[0][1])}, dtype=dtype)"  # an indicator: cast the mask
        out = self._branch(last)
        if cond != sp.true:
            out = f"{where}({self._print(cond)}, {out}, {self._xp('nan')})"
        for value, test in reversed(branches):
            out = f"{where}({self._print(test)}, {self._branch(value)}, {out})"
        return out

    def _branch(self, value: sp.Basic) -> str:
        """A branch value of ``where``; a constant is made in the kernel's dtype, no int64 array built and cast."""
        if isinstance(value, sp.Number):
            return f"{self._xp('asarray')}({self._print(value)}, dtype=dtype)"
        return self._print(value)

    def _print_Abs(self, expr: sp.Abs) -> str:
        return f"{self._xp('abs')}({self._arg(expr)})"

    def _print_erf(self, expr: sp.erf) -> str:
        return f"{self.backend.erf}({self._arg(expr)})"

    def _print_logaddexp(self, expr: logaddexp) -> str:
        return f"{self._xp('logaddexp')}({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_Float(self, expr: sp.Float) -> str:
        return repr(float(expr))


class NumPyKernelPrinter(KernelPrinterMixin, NumPyPrinter):
    """Kernel printer for NumPy."""

    backend = BACKENDS["numpy"]


class JaxKernelPrinter(KernelPrinterMixin, JaxPrinter):
    """Kernel printer for JAX."""

    backend = BACKENDS["jax"]


PRINTERS: Mapping[str, type[KernelPrinterMixin]] = {"numpy": NumPyKernelPrinter, "jax": JaxKernelPrinter}


def identifier(name: str) -> str:
    """A Python identifier for a symbol name: ``\\hat{y}`` -> ``y_hat``, ``\\alpha`` -> ``alpha``.

    A Python keyword gets a trailing underscore (PEP 8: ``\\lambda`` -> ``lambda_``); names the generated
    code uses itself (``dtype``, the module names) are refused.
    """
    text = re.sub(r"\\(hat|bar|tilde|dot|vec)\{(\w+)\}", r"\2_\1", name)
    text = re.sub(r"\\(\w+)", r"\1", text).replace("'", "_prime")
    text = re.sub(r"[\W_]*\W[\W_]*", "_", text).strip("_")
    if keyword.iskeyword(text):
        text += "_"
    if not text.isidentifier() or text in RESERVED:
        raise CodegenError(f"symbol name {name!r} gives {text!r}, not usable as an argument; rename the symbol")
    return text


def float_constants(expr: sp.Basic) -> sp.Basic:
    """Replace every non-integer constant by a float (printed as a weak Python literal); keep exponents."""
    if isinstance(expr, sp.Number) or (isinstance(expr, sp.Expr) and expr.is_number and expr.is_comparable):
        return expr if expr.is_Integer else sp.Float(float(sp.N(expr, 30)))
    if not expr.args or isinstance(expr, sp.Symbol):
        return expr
    if isinstance(expr, sp.Pow):
        return sp.Pow(float_constants(expr.base), expr.exp if expr.exp.is_Rational else float_constants(expr.exp),
                      evaluate=False)
    if isinstance(expr, (sp.Add, sp.Mul)):
        const = [a for a in expr.args if a.is_number]
        rest = [float_constants(a) for a in expr.args if not a.is_number]
        folded = [float_constants(expr.func(*const))] if const else []
        return expr.func(*folded, *rest, evaluate=False)
    return expr.func(*[float_constants(a) for a in expr.args])


def _formula_of(name: str) -> Formula:
    """The formula record that declares the kernel called ``name``."""
    for f in registry().formulas:
        if any(k.name == name for k in f.kernels):
            return f
    raise CodegenError(f"no formula declares a kernel {name!r}; check grad_of in derive/")


def _kernel(name: str) -> Kernel:
    """The kernel record called ``name``."""
    for k in registry().kernels():
        if k.name == name:
            return k
    raise CodegenError(f"no kernel {name!r} in the registry; check grad_of in derive/")


def _arg_named(kernel: Kernel, name: str) -> sp.Symbol:
    """The argument of ``kernel`` whose symbol is called ``name``."""
    for a in kernel.args:
        if a.name == name:
            return a
    raise CodegenError(f"kernel {kernel.name!r} has no argument {name!r}; args are {[a.name for a in kernel.args]}")


def _is_reduced(expr: sp.Basic, vectors: frozenset[sp.Symbol]) -> bool:
    """True when every vector symbol in ``expr`` sits under a reduction (the result has one entry per row)."""
    if isinstance(expr, (RSum, RMax, Count)):
        return True
    if expr in vectors:
        return False
    return all(_is_reduced(a, vectors) for a in expr.args)


def _docstring(kernel: Kernel, formula: Formula) -> str:
    """One line: the kernel, what it computes, its trailing shapes (unless elementwise), formula key and section."""
    if kernel.grad_of:
        what = f"d/d{identifier(kernel.grad_wrt)} of {kernel.grad_of}"
        what += f"; {kernel.rewrite}" if kernel.rewrite else ""
    else:
        what = kernel.rewrite or "as defined"
    shapes = "" if kernel.shape == "elementwise" else f" Trailing shapes {signature(kernel).text()}."
    text = f"{kernel.name}: {what}.{shapes} Formula {formula.key} ({formula.title}), section {formula.section}."
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def render_kernel(kernel: Kernel, backend: str) -> str:
    """The source of one kernel function for ``backend`` ("numpy" or "jax")."""
    printer = PRINTERS[backend]({"strict": True, "fully_qualified_modules": True})
    xp = BACKENDS[backend].xp
    names = [identifier(a.name) for a in kernel.args]
    if len(set(names)) != len(names):
        raise CodegenError(f"kernel {kernel.name!r}: argument names {names} collide after sanitizing")
    plain = {a: sp.Symbol(n) for a, n in zip(kernel.args, names, strict=True)}
    expr = kernel.expr.xreplace(plain)
    unknown = sorted(str(s) for s in expr.free_symbols - set(plain.values()))
    if unknown:
        raise CodegenError(f"kernel {kernel.name!r} uses {unknown}, which are not in its args; add them to args")
    temps, (body,) = sp.cse([float_constants(expr)], symbols=sp.numbered_symbols("_t"), order="canonical")
    sig = ", ".join(names)
    lines = [f"def {kernel.name}({sig}):", f'    """{_docstring(kernel, _formula_of(kernel.name))}"""',
             f"    dtype = _float_dtype({sig})"]
    lines += [f"    {n} = {xp}.asarray({n}, dtype=dtype)" for n in names]
    plain = [f"{t} = {printer.doprint(e)}" for t, e in temps]
    result = printer.doprint(body)
    if kernel.shape != "elementwise" and signature(kernel).output == ():
        result = f"({result})[..., 0]"  # the reductions kept a trailing axis of length 1
    plain.append(f"return {xp}.asarray({result}, dtype=dtype)")
    loop = blocked_lines(kernel, names, temps, body, printer) if backend == "numpy" else None
    if loop is None:
        lines += ["    " + line for line in plain]
    else:
        guard, rest = loop
        lines += [*("    " + line for line in guard), *("        " + line for line in plain),
                  *("    " + line for line in rest)]
    return "\n".join(lines) + "\n"


_ARRAY_ONLY = (Dot, Swap, Col, Row, Eye, BSum)


def blocked_lines(kernel: Kernel, names: list[str], temps: list[tuple[sp.Symbol, sp.Basic]], body: sp.Basic,
                  printer: KernelPrinterMixin) -> tuple[list[str], list[str]] | None:
    """The layout test and the blocked loop of a NumPy kernel (chainrule.blocked), or None where none applies.

    Elementwise kernels are walked in blocks of ``_BLOCK`` entries; row-wise kernels whose trailing shapes
    are (n), (1) or () and whose only array operations are row sums and maxima, in blocks of whole rows.
    """
    unknown = sorted(set(kernel.scalars) - {a.name for a in kernel.args})
    if unknown:
        raise CodegenError(f"kernel {kernel.name!r} declares scalars {unknown} that are not its arguments")
    plain = dict(zip((a.name for a in kernel.args), names, strict=True))
    symbols = {n: sp.Symbol(n) for n in names}
    if any(f"{n}_b" in symbols or f"_{n}" in symbols for n in names):
        raise CodegenError(f"kernel {kernel.name!r}: argument names {names} collide with block-view names")
    if kernel.shape == "elementwise":
        scalars = [plain[s] for s in kernel.scalars]
        arrays = [n for n in names if n not in scalars]
        if not arrays:
            return None
        kinds = {symbols[n]: ("scalar" if n in scalars else "full") for n in names}
        views = {symbols[n]: (n if n in scalars else f"{n}_b") for n in names}
        sched = blocked.schedule(temps, body, printer, kinds, views, blocked.Operand("_out_b", "full"))
        guard = ("_shape", f"_elementwise_layout({_tuple(arrays)}, {_tuple(scalars)})")
        read = [n for n in arrays if _reads(sched, f"{n}_b")]  # dropout_grad = mask/(1 - p) never reads x
        head = [*sched.hoisted, "_out = numpy.empty(_shape, dtype=dtype)",
                f"{''.join('_' + n + ', ' for n in read)}_out_flat = "
                f"{''.join(n + '.reshape(-1), ' for n in read)}_out.reshape(-1)",
                "_size = _out_flat.shape[0]"]
        shapes = {"full": "(_BLOCK,)"}
        reads = [f"{''.join(n + '_b, ' for n in read)}_out_b = "
                 f"{''.join('_' + n + '[_i:_j], ' for n in read)}_out_flat[_i:_j]"]
        return _loop(guard, head, shapes, sched, "_size", "_BLOCK", reads, "return _out")
    cores = signature(kernel).inputs
    out_core = signature(kernel).output
    if kernel.shape == "jacobian":
        return _jacobian_lines(kernel, names, temps, body, printer)
    sizes = {d for core in (*cores, out_core) for d in core if isinstance(d, str)}
    if (kernel.shape != "vector" or len(sizes) != 1 or any(core not in ((), (1,), (*sizes,)) for core in cores)
            or out_core not in ((), (1,), (*sizes,)) or any(body.has(t) or any(e.has(t) for _, e in temps)
                                                      for t in _ARRAY_ONLY)):
        return None
    size = next(iter(sizes))
    marks = ["'n'" if core == (size,) else "1" if core == (1,) else "0" for core in cores]
    first = names[cores.index((size,))]
    kinds = {symbols[n]: ("full" if core == (size,) else "row") for n, core in zip(names, cores, strict=True)}
    views = {symbols[n]: f"{n}_b" for n in names}
    out_kind = "full" if out_core == (size,) else "row"
    sched = blocked.schedule(temps, body, printer, kinds, views, blocked.Operand("_out_b", out_kind))
    guard = ("_layout", f"_row_layout({first}, {_tuple(names)}, {_tuple(marks)})")
    n_out = f"{first}.shape[-1]" if out_core == (size,) else "1"
    head = ["_lead, _views, _by_rows = _layout", *sched.hoisted,
            f"_out = numpy.empty(_lead + ({n_out},), dtype=dtype)",
            f"_out_rows = _out.reshape(-1, {n_out})", "_rows = _out_rows.shape[0]",
            f"_per = max(1, _BLOCK // {first}.shape[-1])"]
    shapes = {"full": f"(_per, {first}.shape[-1])", "row": "(_per, 1)"}
    reads = [f"{_tuple([n + '_b' if _reads(sched, n + '_b') else '_' for n in names])} = "
             "_block(_views, _by_rows, _i, _j)",
             "_out_b = _out_rows[_i:_j]"]
    done = "return _out[..., 0]" if out_core == () else "return _out"
    return _loop(guard, head, shapes, sched, "_rows", "_per", reads, done)


def _jacobian_lines(kernel: Kernel, names: list[str], temps: list[tuple[sp.Symbol, sp.Basic]], body: sp.Basic,
                    printer: KernelPrinterMixin) -> tuple[list[str], list[str]] | None:
    """The loop of a Jacobian kernel (n)->(n,n) built from row sums, maxima, ``Col``, ``Row`` and ``Eye``:
    blocks of whole rows, each row's n x n block written in place."""
    cores, out_core = signature(kernel).inputs, signature(kernel).output
    if (len(names) != 1 or len(cores[0]) != 1 or out_core != (cores[0][0], cores[0][0])
            or any(body.has(t) or any(e.has(t) for _, e in temps) for t in (Dot, Swap, BSum))):
        return None
    (name,) = names
    sched = blocked.schedule(temps, body, printer, {sp.Symbol(name): "full"}, {sp.Symbol(name): f"{name}_b"},
                             blocked.Operand("_out_b", "matrix"))
    n = f"{name}.shape[-1]"
    head = ["_lead, _views, _by_rows = _layout", *sched.hoisted,
            f"_out = numpy.empty(_lead + ({n}, {n}), dtype=dtype)",
            f"_out_rows = _out.reshape(-1, {n}, {n})", "_rows = _out_rows.shape[0]",
            f"_per = max(1, _BLOCK // ({n} * {n}))"]
    shapes = {"full": f"(_per, {n})", "row": "(_per, 1)", "matrix": f"(_per, {n}, {n})"}
    reads = [f"({name}_b,) = _block(_views, _by_rows, _i, _j)", "_out_b = _out_rows[_i:_j]"]
    return _loop(("_layout", f"_row_layout({name}, ({name},), ('n',))"), head, shapes, sched, "_rows", "_per",
                 reads, "return _out")


def _reads(sched: blocked.Schedule, name: str) -> bool:
    """True when a line of the loop reads the variable ``name``."""
    return any(re.search(rf"\b{re.escape(name)}\b", line) for line in sched.body)


def _tuple(items: list[str]) -> str:
    """Python source of a tuple of ``items``: ``()``, ``(a,)``, ``(a, b)``."""
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _loop(guard: tuple[str, str], head: list[str], shapes: Mapping[str, str], sched: blocked.Schedule, total: str,
          step: str, reads: list[str], done: str) -> tuple[list[str], list[str]]:
    """The layout test (variable, call) with its ``if ... is None:`` (the plain lines go under it), and the loop."""
    test, call = guard
    # one ufunc call: no scratch buffers to keep in cache, so one block per thread
    if not sched.registers and not sched.constants:
        head = [*head, f"_step = -(-{total} // _THREADS)"]
        step = "_step"
    regs = [f"_r{i} = numpy.empty({shapes[kind]}, dtype=dtype)" for i, kind in enumerate(sched.registers)]
    # a constant is filled, not just allocated: no longer than this thread's share
    regs += [f"_c{i} = numpy.full({shapes[kind].replace(f'({step}', f'(min({step}, _hi - _lo)', 1)}, {value}, "
             "dtype=dtype)" for i, (kind, value) in enumerate(sched.constants)]
    trim = [f"_r{i} = _r{i}[:_j - _i]" for i in range(len(sched.registers))]
    trim += [f"_c{i} = _c{i}[:_j - _i]" for i in range(len(sched.constants))]
    loop = [f"for _i in range(_lo, _hi, {step}):", f"    _j = min(_i + {step}, _hi)"]
    if trim:
        loop += [f"    if _j - _i < {step}:", *("        " + t for t in trim)]
    loop += ["    " + r for r in reads] + ["    " + line for line in sched.body]
    part = ["def _part(_lo, _hi):", *("    " + line for line in regs + loop)]
    return [f"{test} = {call}", f"if {test} is None:"], [*head, *part, f"_parallel(_part, {total}, {step})", done]


def _header(backend: Backend, kernels: tuple[Kernel, ...]) -> str:
    """Module docstring and comments: generated, from which records, by which command."""
    modules = ", ".join(f"derive/{s}.py" for s in SECTIONS)
    width = max((len(k.name) for k in kernels), default=0)
    records = [f"#   {k.name:<{width}} formula {_formula_of(k.name).key} (section {_formula_of(k.name).section})"
               for k in kernels]
    return "\n".join([
        f'"""{backend.title} kernels generated from the Kernel records of the formula registry. Do not edit.',
        "",
        f"Generated by `{GENERATE_COMMAND}` (chainrule.codegen.write_all) from the modules",
        f"{modules}. Every rewrite and derivative kernel was proven equal to what it stands",
        "for before generation (chainrule.codegen.prove_kernels). Each function keeps its inputs' floating",
        "dtype and batches over leading axes; a kernel that is not elementwise states the trailing shapes of",
        "its arguments and result in its docstring (NumPy gufunc notation: (m,n),(n)->(m)).",
        '"""',
        "# ruff: noqa: E501",
        "# Records:",
        *records,
        "",
        *backend.imports,
        "",
        "__all__ = [",
        *(f'    "{k.name}",' for k in kernels),
        "]",
    ]) + "\n"


def render_module(backend: str) -> str:
    """The full source of the generated module for ``backend``."""
    kernels = registry().kernels()
    parts = [_header(BACKENDS[backend], kernels), BACKENDS[backend].helpers]
    parts += ["\n\n" + _registry_source(k.name, backend) for k in kernels]
    return "".join(parts)


@cache
def _registry_source(name: str, backend: str) -> str:
    """The rendered source of the registry's kernel ``name`` (computed once per process)."""
    return render_kernel(_kernel(name), backend)


# --- proofs --------------------------------------------------------------------------------------


def size_sets(sig: Signature) -> list[dict[str, int]]:
    """The concrete sizes a kernel is proven at: n = 1..4 for one size; for several, all 1 and two distinct sets."""
    names = sig.sizes()
    if len(names) <= 1:
        return [{name: n for name in names} for n in PROOF_SIZES]
    k = len(names)
    return [dict.fromkeys(names, 1)] + [{name: 2 + (i + shift) % k for i, name in enumerate(names)}
                                        for shift in (0, 1)]


def _describe(sets: list[dict[str, int]]) -> str:
    """``n = 1, 2, 3, 4`` or ``(B, m, n) = (1, 1, 1), (2, 3, 4)``: the sizes a proof used."""
    names = list(sets[0])
    if len(names) == 1:
        return f"{names[0]} = " + ", ".join(str(s[names[0]]) for s in sets)
    return f"({', '.join(names)}) = " + ", ".join("(" + ", ".join(str(s[n]) for n in names) + ")" for s in sets)


def components(kernel: Kernel, sizes: Mapping[str, int]) -> dict[sp.Symbol, sp.Matrix]:
    """Each array argument bound to explicit symbols: ``x_1 .. x_n`` as a (1 x n) row, ``W_1_1 ..`` as a matrix.

    Arguments with trailing shape (1) (one number per row, e.g. epsilon) stay symbols.
    """
    sig = signature(kernel)
    out = {}
    for a, core in zip(kernel.args, sig.inputs, strict=True):
        shape = sig.shape(core, sizes)
        if core in ((), (1,)):
            continue
        if len(shape) == 1:
            out[a] = sp.Matrix(1, shape[0], [sp.Symbol(f"{a.name}_{j}", real=True) for j in range(1, shape[0] + 1)])
        elif len(shape) == 2:
            out[a] = sp.Matrix(*shape, lambda i, j, a=a: sp.Symbol(f"{a.name}_{i + 1}_{j + 1}", real=True))
        else:
            raise CodegenError(f"kernel {kernel.name!r}: argument {a.name!r} has {len(shape)} trailing axes; "
                               "at most 2 are supported")
    return out


def _component_domain(kernel: Kernel, comps: Mapping[sp.Symbol, sp.Matrix]) -> dict[str, tuple[float, float]]:
    """The sampling range of each component symbol (and of each scalar argument), from the kernel's domain."""
    domain = {a.name: kernel.domain[a.name] for a in kernel.args if a not in comps}
    domain |= {str(c): kernel.domain[a.name] for a, m in comps.items() for c in m}
    return domain


def instantiate(definition: sp.Expr, n: int, vectors: Mapping[str, sp.Matrix]) -> sp.Expr | sp.Matrix:
    """An indexed definition with symbolic size at size ``n``: entries bound to ``vectors`` by base name."""
    uppers = {lim[2] for s in definition.atoms(sp.Sum) for lim in s.limits}
    if len(uppers) != 1 or not isinstance(next(iter(uppers)), sp.Symbol):
        raise CodegenError(f"cannot find one symbolic size in {definition}: sum bounds {uppers}")
    size = next(iter(uppers))
    bound = definition.subs(size, n).doit()
    free = sorted((s for s in bound.free_symbols if s.is_integer), key=str)

    def entries(e: sp.Expr) -> sp.Expr:
        return e.replace(lambda x: isinstance(x, sp.Indexed),
                         lambda x: vectors[str(x.base)][int(x.indices[0]) - 1])

    if not free:
        return entries(bound)
    if len(free) > 1:
        raise CodegenError(f"definition {definition} has free indices {free}; expected at most one")
    return sp.Matrix([entries(bound.subs(free[0], r)) for r in range(1, n + 1)])


def _derivative(value: Value, wrt: Value) -> Value:
    """d value / d wrt: a gradient shaped like ``wrt`` for a scalar value, a Jacobian for a vector one."""
    if not isinstance(value, sp.MatrixBase) or value.shape == (1, 1):
        v = value[0] if isinstance(value, sp.MatrixBase) else value
        return wrt.applyfunc(lambda w: sp.diff(v, w)) if isinstance(wrt, sp.MatrixBase) else sp.diff(v, wrt)
    if value.rows == 1 and isinstance(wrt, sp.MatrixBase) and wrt.rows == 1:
        return sp.Matrix(value.cols, wrt.cols, lambda i, j: sp.diff(value[i], wrt[j]))
    raise CodegenError(f"no derivative layout for a {value.shape} value with respect to {getattr(wrt, 'shape', ())}")


def _array_references(kernel: Kernel, sizes: Mapping[str, int],
                      comps: dict[sp.Symbol, sp.Matrix]) -> list[tuple[str, Value]]:
    """What a non-elementwise kernel must equal at concrete sizes: a derivative, a definition, a record."""
    refs: list[tuple[str, Value]] = []
    if kernel.grad_of:
        fwd = _kernel(kernel.grad_of)
        same = {a: _arg_named(kernel, a.name) for a in fwd.args}
        wrt = _arg_named(kernel, kernel.grad_wrt)
        refs.append((f"the derivative of {fwd.name}",
                     _derivative(expand(fwd.expr.xreplace(same), comps), comps.get(wrt, wrt))))
    ref = kernel.reference
    if isinstance(ref, FormulaReference):
        (n,) = set(sizes.values())
        value = instantiate(_record_expr(ref), n, {a.name: m for a, m in comps.items()})
        refs.append((f"the {ref.use} of {ref.formula}",
                     value.applyfunc(ref.transform) if isinstance(value, sp.MatrixBase) else ref.transform(value)))
    if isinstance(ref, RecordReference):
        refs.append((f"the record {ref.formula}" + (" summed over the batch" if ref.batch == "sum" else ""),
                     _record_reference(kernel, ref, sizes, comps)))
    if not refs:
        raise CodegenError(f"kernel {kernel.name!r} is a rewrite but has no reference; give its Kernel record in "
                           "derive/ a reference=FormulaReference(...) or RecordReference(...)")
    return refs


def _record_expr(ref: FormulaReference | RecordReference) -> sp.Expr:
    """The record's derived result or definition that a kernel is compared with."""
    formula = registry().formula(ref.formula)
    return formula.derive().result if ref.use == "result" else formula.definition


def _record_reference(kernel: Kernel, ref: RecordReference, sizes: Mapping[str, int],
                      comps: dict[sp.Symbol, sp.Matrix]) -> Value:
    """The record that ``ref`` names, at concrete sizes, laid out like ``kernel``'s result."""
    expr = _record_expr(ref)
    named = {str(s): s for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    expr = expr.subs({named[w]: sizes[k] for w, k in ref.widths.items() if w in named})
    args = {a.name: a for a in kernel.args}
    examples = comps[args[ref.per_example[0]]].rows

    def entry(example: int, at: Mapping[str, int]) -> sp.Expr:
        bound = expr.subs({named[i]: v + 1 for i, v in at.items()}).doit()

        def value(x: sp.Indexed) -> sp.Expr:
            name = ref.bases[str(x.base)]
            m, idx = comps[args[name]], [int(i) - 1 for i in x.indices]
            if name in ref.per_example:
                return m[example, idx[0]]
            return m[idx[0], idx[1]] if len(idx) == 2 else m[0, idx[0]]

        return bound.replace(lambda e: isinstance(e, sp.Indexed), value)

    shape = signature(kernel).shape(signature(kernel).output, sizes)
    if ref.batch == "rows":
        return sp.Matrix(*shape, lambda b, c: entry(b, {ref.index[0]: c}))
    def total(at: Mapping[str, int]) -> sp.Expr:
        return sp.Add(*[entry(b, at) for b in range(examples)])
    if len(shape) == 2:
        return sp.Matrix(*shape, lambda i, j: total({ref.index[0]: i, ref.index[1]: j}))
    return sp.Matrix(1, shape[0], lambda _, i: total({ref.index[0]: i}))


def _flat(value: Value) -> list[sp.Expr]:
    """The entries of a value, row by row (a scalar is one entry)."""
    return list(value) if isinstance(value, sp.MatrixBase) else [value]


def prove_vector(kernel: Kernel, points: int = PROOF_POINTS, seed: int = 0) -> Proof:
    """Expand a non-elementwise kernel at concrete sizes; compare it with its references at random rational points."""
    rng = random.Random(seed)
    checked = 0
    sets = size_sets(signature(kernel))
    method = "expanded at concrete sizes, random rational points"
    labels: list[str] = []
    for sizes in sets:
        comps = components(kernel, sizes)
        where = ", ".join(f"{k} = {v}" for k, v in sizes.items())
        try:
            got = _flat(expand(kernel.expr, comps))
            refs = _array_references(kernel, sizes, comps)
        except ArrayShapeError as e:
            return Proof("refuted", method, checked, f"{where}: {e}")
        labels = [label for label, _ in refs]
        for label, reference in refs:
            want = _flat(reference)
            if len(got) != len(want):
                return Proof("refuted", method, checked,
                             f"{where}: {len(got)} entries, {label} has {len(want)}")
            diff = sp.Matrix([g - w for g, w in zip(got, want, strict=True)])
            for name in simplex_args(kernel):
                col = comps[_arg_named(kernel, name)]
                diff = diff.xreplace({col[-1]: 1 - sum(col[:-1])})
            domain = _component_domain(kernel, comps)
            for _ in range(points):
                value = evaluate_at(diff, domain, rng)
                bad = [(idx, v) for idx, v in enumerate(value) if v != 0 and not abs(sp.N(v, DIGITS)) < ZERO_BELOW]
                if value.free_symbols or bad:
                    detail = f"free symbols {sorted(map(str, value.free_symbols))}" if value.free_symbols else \
                        f"entry {bad[0][0]} differs by {sp.N(bad[0][1], 8)}"
                    return Proof("refuted", method, checked, f"{where}, against {label}: {detail}")
                checked += 1
    return Proof("agrees", f"expanded at {_describe(sets)}, equal to {' and to '.join(labels)}; exact evaluation "
                 "at random rational points", checked, f"{checked} points, {DIGITS} digits")


def prove_elementwise(kernel: Kernel) -> Proof:
    """Compare an elementwise kernel with the derivative of its forward kernel, its reference, or its definition."""
    formula = _formula_of(kernel.name)
    domain = {**formula.domain, **kernel.domain}
    if kernel.grad_of:
        fwd = _kernel(kernel.grad_of)
        same = {a: _arg_named(kernel, a.name) for a in fwd.args}
        reference = sp.diff(fwd.expr.xreplace(same), _arg_named(kernel, kernel.grad_wrt))
    elif isinstance(kernel.reference, FormulaReference):
        reference = kernel.reference.transform(_record_expr(kernel.reference))
    elif isinstance(kernel.reference, RecordReference):
        ref = kernel.reference
        args = {a.name: a for a in kernel.args}
        reference = _record_expr(ref).replace(lambda e: isinstance(e, sp.Indexed),
                                              lambda e: args[ref.bases[str(e.base)]])
    else:
        reference = unfold(formula.definition)
    return check_equal(kernel.expr, reference, domain, formula.regions)


@cache
def _registry_proof(name: str) -> Proof:
    """The proof of the registry's kernel ``name`` (the registry does not change in a process: computed once)."""
    kernel = _kernel(name)
    return prove_elementwise(kernel) if kernel.shape == "elementwise" else prove_vector(kernel)


def prove_kernels() -> list[tuple[str, Proof]]:
    """Prove every rewrite, derivative and record-referenced kernel of the registry; one (name, proof) each."""
    return [(k.name, _registry_proof(k.name)) for k in proven_kernels()]


def require_proofs(proofs: list[tuple[str, Proof]]) -> None:
    """Raise ``KernelProofError`` naming every kernel whose proof is not 'proven' or 'agrees'."""
    failed = [(name, p) for name, p in proofs if p.verdict not in ("proven", "agrees")]
    if failed:
        lines = [f"  {name}: {p.verdict} ({p.method}) {p.detail}" for name, p in failed]
        raise KernelProofError("refusing to generate kernels; these were not shown equal to what they stand for:\n"
                               + "\n".join(lines) + "\nfix the Kernel expr in derive/ (or its reference) and rerun "
                               f"`{GENERATE_COMMAND}`")


def render_all() -> dict[str, str]:
    """Prove the kernels, then render every generated module: path relative to the repo root -> source."""
    require_proofs(prove_kernels())
    return {b.path: render_module(name) for name, b in BACKENDS.items()}


def load_backend(backend: str) -> ModuleType:
    """Import the committed generated module of ``backend`` ("numpy" or "jax")."""
    if backend not in BACKENDS:
        raise KeyError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    return importlib.import_module(BACKENDS[backend].path.removesuffix(".py").replace("/", "."))


def write_all(root: Path, check: bool = False) -> list[Path]:
    """Write the generated modules under ``root``; with ``check``, write nothing and return stale or missing ones."""
    changed = []
    for rel, source in render_all().items():
        path = Path(root) / rel
        if path.exists() and path.read_text(encoding="utf-8") == source:
            continue
        changed.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source, encoding="utf-8", newline="\n")
    return changed
