"""Decide whether two expressions are equal: cheap symbolic rewrites first, then exact witnesses.

No general ``simplify``: it can take minutes on backprop-sized expressions. Instead a short chain
of targeted normal forms is tried, and independently the difference is evaluated at random
rational points (exactly where it is rational, else to 50 significant digits).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing as mp
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.core import Formula, Region, registry
from derive.functions import unfold

Verdict = Literal["proven", "agrees", "refuted", "unknown"]
DIGITS = 50
ZERO_BELOW = sp.Float(10) ** -40

NORMAL_FORMS: tuple[tuple[str, Callable[[sp.Expr], sp.Expr]], ...] = (
    ("doit", lambda e: e.doit()),
    ("cancel", sp.cancel),
    ("rewrite as exp, cancel", lambda e: sp.cancel(sp.powsimp(e.rewrite(sp.exp)))),
    ("expand, cancel", lambda e: sp.cancel(sp.expand(e))),
    ("factor_terms", lambda e: sp.factor_terms(sp.expand(e.doit()))),
)


@dataclass(frozen=True)
class Proof:
    """The outcome of comparing a derived expression with a stated one."""

    verdict: Verdict
    method: str
    points: int
    detail: str = ""


def canonical_bound(expr: sp.Basic) -> sp.Basic:
    """Rename the index of every Sum and Product to ``_b0``, ``_b1``, ... in the order met (same assumptions).

    Renaming a bound index changes nothing, and it makes two sums written with different index names
    (``k`` and a dummy) the same expression, so their difference cancels without evaluating them.
    """
    if not isinstance(expr, sp.Basic) or not expr.has(sp.Sum, sp.Product):
        return expr
    count = itertools.count()

    def walk(e: sp.Basic) -> sp.Basic:
        if not e.args:
            return e
        if isinstance(e, (sp.Sum, sp.Product)):
            body, limits = e.function, []
            for var, *ends in e.limits:
                new = sp.Symbol(f"_b{next(count)}", **var.assumptions0)
                body = body.xreplace({var: new})
                limits.append((new, *(walk(x) for x in ends)))
            return e.func(walk(body), *limits)
        return e.func(*(walk(a) for a in e.args))

    try:
        return walk(expr)
    except (TypeError, ValueError, AttributeError):
        return expr


def symbolic_zero(diff: sp.Expr) -> str | None:
    """Return the name of the normal form that reduces ``diff`` to 0, or None."""
    expr = diff
    if expr == 0 or isinstance(expr, sp.ZeroMatrix):
        return "identical"
    for name, form in NORMAL_FORMS:
        try:
            expr = form(expr)
        except (TypeError, ValueError, NotImplementedError, sp.PolynomialError):
            continue
        if expr == 0 or isinstance(expr, sp.ZeroMatrix):
            return name
    return None


def _sample(rng: random.Random, lo: float, hi: float, integer: bool) -> sp.Rational:
    """A random rational in [lo, hi] with denominator up to 97 (an integer when asked)."""
    if integer:
        return sp.Integer(rng.randint(int(lo), int(hi)))
    q = rng.randint(7, 97)
    return sp.Rational(rng.randint(math.ceil(lo * q), math.floor(hi * q)), q)


def _cubic(c: list[sp.Rational], args: tuple[sp.Basic, ...]) -> sp.Expr:
    """c_0 plus a cubic in each argument, with the coefficients c."""
    return c[0] + sp.Add(*(c[1 + 3 * k] * x + c[2 + 3 * k] * x**2 + c[3 + 3 * k] * x**3 for k, x in enumerate(args)))


def concrete_functions(expr: sp.Expr, rng: random.Random, chosen: dict[str, sp.Expr] | None = None) -> sp.Expr:
    """Replace each undefined function (a generic activation, a loss of many inputs) by a random cubic, one per name.

    An identity claimed for every function must hold for these; one that fails refutes it. ``chosen`` receives
    each cubic, written in t (t_1, t_2, ... for several arguments), to show a counterexample.
    """
    coefficients: dict[str, list[sp.Rational]] = {}

    def cubic(app: AppliedUndef) -> sp.Expr:
        name = app.func.__name__
        if name not in coefficients:
            coefficients[name] = [_sample(rng, -2.0, 2.0, False) for _ in range(1 + 3 * len(app.args))]
            if chosen is not None:
                ts = sp.symbols(f"t_1:{len(app.args) + 1}") if len(app.args) > 1 else (sp.Symbol("t"),)
                chosen[f"{name}({', '.join(map(str, ts))})"] = _cubic(coefficients[name], ts)
        return _cubic(coefficients[name], app.args)

    concrete = expr.replace(lambda e: isinstance(e, AppliedUndef), cubic)
    # differentiate now (before values replace the variables); sums wait until their sizes are numbers
    return concrete.replace(lambda e: isinstance(e, (sp.Derivative, sp.Subs)), lambda e: e.doit())


def evaluate_at(expr: sp.Expr, domain: Mapping[str, tuple[float, float]], rng: random.Random) -> sp.Expr:
    """Substitute random points from ``domain`` (functions, scalars, then Sum bounds, then Indexed entries)."""
    if expr.atoms(AppliedUndef):
        expr = concrete_functions(expr, rng)
    labels = {x.base.label for x in expr.atoms(sp.Indexed)}
    free = sorted(expr.free_symbols, key=sp.default_sort_key)
    scalars = {s: _sample(rng, *domain[s.name], s.is_integer is True) for s in free
               if isinstance(s, sp.Symbol) and s.name in domain and s not in labels}
    expr = expr.xreplace(scalars).doit()
    for _ in range(3):
        indexed = sorted(expr.atoms(sp.Indexed), key=sp.default_sort_key)
        if not indexed:
            break
        values = {x: _sample(rng, *domain[str(x.base)], False) for x in indexed if str(x.base) in domain}
        expr = expr.xreplace(values).doit()
    return expr


def witness(diff: sp.Expr, domain: Mapping[str, tuple[float, float]], points: int, seed: int,
            holds: Callable[[sp.Expr], bool | None], failure: str) -> tuple[int, str]:
    """Evaluate ``diff`` at random points; return (points where ``holds``, the first counterexample or '').

    ``holds`` returns None where it cannot decide (a complex value); ``failure`` formats the value that fails.
    """
    rng = random.Random(seed)
    good = 0
    for _ in range(points):
        value = evaluate_at(diff, domain, rng)
        if value.free_symbols:
            return good, f"could not evaluate: free symbols {sorted(map(str, value.free_symbols))} remain"
        verdict = holds(value)
        if verdict is None:
            return good, f"could not evaluate: the difference {sp.N(value, 8)} is not a real number"
        if not verdict:
            return good, failure.format(sp.N(value, 8))
        good += 1
    return good, ""


def witness_zero(diff: sp.Expr, domain: Mapping[str, tuple[float, float]], points: int, seed: int) -> tuple[int, str]:
    """Evaluate ``diff`` at random points; return (points that vanished, first counterexample or '')."""
    return witness(diff, domain, points, seed, lambda v: v == 0 or abs(sp.N(v, DIGITS)) < ZERO_BELOW,
                   "difference {} at a random point")


def check_equal(derived: sp.Expr, stated: sp.Expr, domain: Mapping[str, tuple[float, float]],
                regions: Iterable[Region] = (), points: int = 6, seed: int = 0) -> Proof:
    """Compare ``derived`` with ``stated`` on every region: symbolic normal forms, then witnesses."""
    parts = list(regions) or [Region("everywhere", {}, {})]
    methods, checked = [], 0
    for region in parts:
        diff = unfold(canonical_bound(sp.sympify(derived)) - canonical_bound(sp.sympify(stated)))
        diff = diff.xreplace(dict(region.subs))
        dom = {**domain, **region.domain}
        good, counter = witness_zero(diff, dom, points, seed)
        checked += good
        if counter and not counter.startswith("could not"):
            return Proof("refuted", "evaluation at random rational points", good,
                         f"{region.name}: {counter}")
        form = symbolic_zero(diff)
        if form is None and counter:
            return Proof("unknown", "no normal form and no witness", good, f"{region.name}: {counter}")
        methods.append(f"{region.name}: {form or 'witnesses only'}")
        if form is None:
            methods[-1] += f" ({good} points)"
    symbolic = all("witnesses only" not in m for m in methods)
    verdict: Verdict = "proven" if symbolic else "agrees"
    return Proof(verdict, "; ".join(methods), checked,
                 f"{checked} random rational points, {DIGITS} digits")


def prove(formula: Formula, points: int = 6, seed: int = 0) -> Proof:
    """Derive ``formula`` and compare what SymPy reached with the notes' stated form."""
    if formula.stated is None:
        return Proof("unknown", "nothing stated", 0, "the notes state no closed form")
    result = formula.derive().result
    if isinstance(formula.stated, sp.Set):
        return compare_sets(result, formula.stated)
    return check_equal(_rhs(result), _rhs(formula.stated), formula.domain, formula.regions, points, seed)


def timed_prove(formula: Formula) -> tuple[Proof, float]:
    """``prove(formula)`` and the seconds it took."""
    start = time.perf_counter()
    proof = prove(formula)
    return proof, time.perf_counter() - start


def _prove_key(key: str) -> tuple[Proof, float]:
    """Prove the registry's formula ``key`` (the unit of work of a ``prove_all`` worker)."""
    return timed_prove(registry().formula(key))


def prove_all(formulas: Sequence[Formula], jobs: int | None = None,
              progress: Callable[[Formula], None] | None = None) -> list[tuple[Proof, float]]:
    """Prove each registry formula, in ``jobs`` forked worker processes (default: one per core), in input order.

    Returns (proof, seconds) per formula. The records are independent, so the work splits cleanly.
    Runs in this process when ``jobs`` is 1, when there is one formula, or when JAX is loaded
    (forking a process that runs JAX's threads can deadlock). ``progress`` is called as each result arrives.
    """
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    known = {f.key for f in registry().formulas}
    parallel = (jobs > 1 and len(formulas) > 1 and "jax" not in sys.modules
                and "fork" in mp.get_all_start_methods() and all(f.key in known for f in formulas))
    out: list[tuple[Proof, float]] = []
    if not parallel:
        for f in formulas:
            out.append(timed_prove(f))
            if progress:
                progress(f)
        return out
    with mp.get_context("fork").Pool(min(jobs, len(formulas))) as pool:
        for f, result in zip(formulas, pool.imap(_prove_key, [f.key for f in formulas], chunksize=1), strict=True):
            out.append(result)
            if progress:
                progress(f)
    return out


def _rhs(e: sp.Basic) -> sp.Expr:
    """The right-hand side of an equation, or the expression itself."""
    return e.rhs if isinstance(e, sp.Equality) else e


def compare_sets(derived: sp.Basic, stated: sp.Set) -> Proof:
    """Compare two intervals endpoint by endpoint (float endpoints to 10 significant digits)."""
    if derived == stated:
        return Proof("proven", "the derived set is the stated set", 0)
    if isinstance(derived, sp.Interval) and isinstance(stated, sp.Interval):
        ends = zip((derived.start, derived.end, derived.left_open, derived.right_open),
                   (stated.start, stated.end, stated.left_open, stated.right_open), strict=True)
        if all(a == b or (a.is_Number and b.is_Number and abs(sp.N(a - b, 30)) < 1e-10) for a, b in ends):
            return Proof("proven", "same interval, endpoints to 10 digits", 0)
    return Proof("refuted", "set comparison", 0, f"derived {derived}, stated {stated}")
