"""Generate the NumPy and JAX kernel modules from the ``Kernel`` records of the registry.

One printer design: ``KernelPrinterMixin`` holds every override (array reductions, ``Max``,
``Piecewise`` as nested ``where``, ``erf``, ``logaddexp``, float literals), and is combined with
SymPy's ``NumPyPrinter`` and ``JaxPrinter``; the two backends differ only by their row in
``BACKENDS``. Before any source is rendered, ``prove_kernels`` shows every rewrite and every
derivative kernel equal to what it stands for, and ``render_all`` refuses to generate otherwise.
"""

from __future__ import annotations

import importlib
import keyword
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import ClassVar

import sympy as sp
from sympy.codegen.numpy_nodes import logaddexp
from sympy.printing.numpy import JaxPrinter, NumPyPrinter
from sympy.printing.precedence import PRECEDENCE

from derive.arrays import Col, Count, Eye, RMax, Row, RSum, expand
from derive.core import SECTIONS, Formula, Kernel, registry
from derive.functions import unfold
from derive.proof import DIGITS, ZERO_BELOW, Proof, check_equal, evaluate_at

GENERATE_COMMAND = "chainrule generate"
PROOF_SIZES: tuple[int, ...] = (1, 2, 3, 4)
PROOF_POINTS = 3
RESERVED = frozenset({"dtype", "numpy", "jax", "math"})


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


_NUMPY_HELPERS = '''
_ERF = numpy.frompyfunc(math.erf, 1, 1)


def _float_dtype(*args):
    """The floating dtype the arguments promote to (Python scalars are weak; integers become float)."""
    arrays = (a if isinstance(a, (int, float, numpy.generic, numpy.ndarray)) else numpy.asarray(a) for a in args)
    return numpy.result_type(*arrays, 1.0)


def _erf(x):
    """erf elementwise by math.erf (NumPy has none), in the dtype of ``x``."""
    return numpy.asarray(_ERF(x), dtype=numpy.result_type(x, 1.0))
'''

_JAX_HELPERS = '''

def _float_dtype(*args):
    """The floating dtype the arguments promote to (Python scalars are weak; integers become float)."""
    return jax.numpy.result_type(*args, 1.0)
'''

BACKENDS: Mapping[str, Backend] = {
    "numpy": Backend("numpy", "NumPy", "chainrule/kernels/numpy_kernels.py", "numpy", "_erf",
                     ("import math", "", "import numpy"), _NUMPY_HELPERS),
    "jax": Backend("jax", "JAX", "chainrule/kernels/jax_kernels.py", "jax.numpy", "jax.scipy.special.erf",
                   ("import jax.numpy", "import jax.scipy.special"), _JAX_HELPERS),
}

# The explicit definition a vector rewrite is proven against: (formula key, map of its indexed definition).
VECTOR_REFERENCES: Mapping[str, tuple[str, Callable[[sp.Expr], sp.Expr]]] = {
    "softmax": ("softmax_jacobian", lambda s: s),
    "log_softmax": ("softmax_jacobian", sp.log),
    "ce_logits": ("ce_grad_logits", lambda loss: loss),
}

# Arguments whose entries along the last axis sum to 1 for the kernel to hold (labels on the simplex).
SIMPLEX_ARGS: Mapping[str, tuple[str, ...]] = {"ce_logits_grad": ("y",)}


def simplex_args(kernel: Kernel) -> tuple[str, ...]:
    """Names of ``kernel``'s arguments that must lie on the probability simplex."""
    return SIMPLEX_ARGS.get(kernel.name, ())


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
        out = self._print(last)
        if cond != sp.true:
            out = f"{where}({self._print(cond)}, {out}, {self._xp('nan')})"
        for value, test in reversed(branches):
            out = f"{where}({self._print(test)}, {self._print(value)}, {out})"
        return out

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
    """A Python identifier for a symbol name: ``\\hat{y}`` -> ``y_hat``, ``\\alpha`` -> ``alpha``."""
    text = re.sub(r"\\(hat|bar|tilde|dot|vec)\{(\w+)\}", r"\2_\1", name)
    text = re.sub(r"\\(\w+)", r"\1", text)
    text = re.sub(r"\W+", "_", text).strip("_")
    if not text.isidentifier() or keyword.iskeyword(text) or text in RESERVED:
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
    """One line: the kernel, what it computes, its formula key and section."""
    if kernel.grad_of:
        what = f"d/d{identifier(kernel.grad_wrt)} of {kernel.grad_of}"
        what += f"; {kernel.rewrite}" if kernel.rewrite else ""
    else:
        what = kernel.rewrite or "as defined"
    text = f"{kernel.name}: {what}. Formula {formula.key} ({formula.title}), section {formula.section}."
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
    lines += [f"    {t} = {printer.doprint(e)}" for t, e in temps]
    result = printer.doprint(body)
    if kernel.shape == "vector" and _is_reduced(expr, frozenset(plain.values())):
        result = f"({result})[..., 0]"
    lines.append(f"    return {xp}.asarray({result}, dtype=dtype)")
    return "\n".join(lines) + "\n"


def _header(backend: Backend, kernels: tuple[Kernel, ...]) -> str:
    """Module docstring and comments: generated, from which records, by which command."""
    modules = ", ".join(f"derive/{s}.py" for s in SECTIONS)
    records = [f"#   {k.name:<18} formula {_formula_of(k.name).key} (section {_formula_of(k.name).section})"
               for k in kernels]
    return "\n".join([
        f'"""{backend.title} kernels generated from the Kernel records of the formula registry. Do not edit.',
        "",
        f"Generated by `{GENERATE_COMMAND}` (chainrule.codegen.write_all) from the modules",
        f"{modules}. Every rewrite and derivative kernel was proven equal to what it stands",
        "for before generation (chainrule.codegen.prove_kernels). Each function keeps its inputs' floating",
        "dtype and batches over leading axes; vector kernels work along the last axis, and jacobian kernels",
        "return (..., n, n).",
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
    parts += ["\n\n" + render_kernel(k, backend) for k in kernels]
    return "".join(parts)


# --- proofs --------------------------------------------------------------------------------------


def _components(kernel: Kernel, n: int) -> dict[sp.Symbol, sp.Matrix]:
    """Each argument of a vector kernel bound to an explicit column of n symbols ``name_1 .. name_n``."""
    return {a: sp.Matrix([sp.Symbol(f"{a.name}_{i}", real=True) for i in range(1, n + 1)]) for a in kernel.args}


def _component_domain(kernel: Kernel, n: int) -> dict[str, tuple[float, float]]:
    """The sampling range of each component symbol, from the kernel's domain."""
    return {f"{a.name}_{i}": kernel.domain[a.name] for a in kernel.args for i in range(1, n + 1)}


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


def _vector_reference(kernel: Kernel, n: int, comps: dict[sp.Symbol, sp.Matrix]) -> sp.Expr | sp.Matrix:
    """What a vector kernel must equal at size n: a derivative of its forward kernel, or a formula definition."""
    if kernel.grad_of:
        fwd = _kernel(kernel.grad_of)
        fwd_comps = {a: comps[_arg_named(kernel, a.name)] for a in fwd.args}
        value = expand(fwd.expr, fwd_comps)
        wrt = comps[_arg_named(kernel, kernel.grad_wrt)]
        if isinstance(value, sp.MatrixBase):
            return sp.Matrix(n, n, lambda i, j: sp.diff(value[i], wrt[j]))
        return sp.Matrix([sp.diff(value, w) for w in wrt])
    if kernel.name not in VECTOR_REFERENCES:
        raise CodegenError(f"vector kernel {kernel.name!r} is a rewrite but has no reference definition; "
                           "add it to chainrule.codegen.VECTOR_REFERENCES")
    key, transform = VECTOR_REFERENCES[kernel.name]
    value = instantiate(registry().formula(key).definition, n, {a.name: m for a, m in comps.items()})
    return value.applyfunc(transform) if isinstance(value, sp.MatrixBase) else transform(value)


def prove_vector(kernel: Kernel, points: int = PROOF_POINTS, seed: int = 0) -> Proof:
    """Expand a vector kernel at n = 1..4 and compare it with its reference at random rational points."""
    rng = random.Random(seed)
    checked = 0
    for n in PROOF_SIZES:
        comps = _components(kernel, n)
        got = expand(kernel.expr, comps)
        want = _vector_reference(kernel, n, comps)
        diff = sp.Matrix(got) - sp.Matrix(want) if isinstance(want, sp.MatrixBase) else sp.Matrix([got - want])
        for name in simplex_args(kernel):
            col = comps[_arg_named(kernel, name)]
            diff = diff.xreplace({col[-1]: 1 - sum(col[:-1])})
        domain = _component_domain(kernel, n)
        for _ in range(points):
            value = evaluate_at(diff, domain, rng)
            bad = [(idx, v) for idx, v in enumerate(value) if v != 0 and not abs(sp.N(v, DIGITS)) < ZERO_BELOW]
            if value.free_symbols or bad:
                detail = f"free symbols {sorted(map(str, value.free_symbols))}" if value.free_symbols else \
                    f"entry {bad[0][0]} differs by {sp.N(bad[0][1], 8)}"
                return Proof("refuted", "expanded at concrete n, random rational points", checked, f"n = {n}: {detail}")
            checked += 1
    return Proof("agrees", f"expanded at n = {', '.join(map(str, PROOF_SIZES))}; exact evaluation at random "
                 "rational points", checked, f"{checked} points, {DIGITS} digits")


def prove_elementwise(kernel: Kernel) -> Proof:
    """Compare an elementwise kernel with the derivative of its forward kernel, or with its formula's definition."""
    formula = _formula_of(kernel.name)
    domain = {**formula.domain, **kernel.domain}
    if kernel.grad_of:
        fwd = _kernel(kernel.grad_of)
        same = {a: _arg_named(kernel, a.name) for a in fwd.args}
        reference = sp.diff(fwd.expr.xreplace(same), _arg_named(kernel, kernel.grad_wrt))
    else:
        reference = unfold(formula.definition)
    return check_equal(kernel.expr, reference, domain, formula.regions)


def prove_kernels() -> list[tuple[str, Proof]]:
    """Prove every rewrite and derivative kernel of the registry; one (kernel name, proof) per kernel."""
    proofs = []
    for kernel in registry().kernels():
        if not (kernel.rewrite or kernel.grad_of):
            continue
        proof = prove_elementwise(kernel) if kernel.shape == "elementwise" else prove_vector(kernel)
        proofs.append((kernel.name, proof))
    return proofs


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
