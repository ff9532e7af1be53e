"""Concrete fully connected networks: the loss differentiated in full, and the BP1-BP4 recursion.

``brute_force_gradient`` differentiates the whole loss of a concrete network with symengine (about
100x faster than SymPy), one parameter at a time, with no chain rule of our own. ``backprop`` runs
the recursion of section 1.5 (BP1, BP2, BP3, BP4) with SymPy matrices. ``compare`` evaluates both
exactly at a random point where every sigmoid is rational: inputs, labels and weights are random
rationals and each bias is chosen as ``log(r) - (W a)_j`` for a random rational ``r > 0``, so that
the pre-activation is ``log r`` and ``sigma(log r) = r/(1 + r)``; softmax outputs are rational in
the same way. Exact equality of rationals then leaves no tolerance to tune.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

import symengine as se
import sympy as sp

Head = Literal["sigmoid_half_sse", "softmax_ce"]
HEADS: tuple[Head, ...] = ("sigmoid_half_sse", "softmax_ce")


class NetworkError(ValueError):
    """A network was described with widths or a head this module cannot build."""


@dataclass(frozen=True)
class Net:
    """A fully connected network: widths (n_0 inputs, ..., n_L outputs), sigmoid hidden layers and a head.

    ``sigmoid_half_sse``: sigmoid output, L = 1/2 sum (a - y)^2 (the notes' worked example).
    ``softmax_ce``: softmax output, L = -sum y log a.
    """

    widths: tuple[int, ...]
    head: Head = "sigmoid_half_sse"

    def __post_init__(self) -> None:
        if len(self.widths) < 2 or any(int(w) < 1 for w in self.widths):
            raise NetworkError(f"widths {self.widths!r}: need at least an input and an output layer, each >= 1 wide")
        if self.head not in HEADS:
            raise NetworkError(f"head {self.head!r}: choose one of {HEADS}")

    @property
    def name(self) -> str:
        """The shape as the notes write it, e.g. '2-2-1 sigmoid_half_sse'."""
        return "-".join(map(str, self.widths)) + " " + self.head


@dataclass(frozen=True)
class Params:
    """The symbols of a network: input x, label y, W[l][j][k] (row j, column k) and b[l][j], l = 0 .. L-1."""

    x: tuple[se.Symbol, ...]
    y: tuple[se.Symbol, ...]
    W: tuple[tuple[tuple[se.Symbol, ...], ...], ...]
    b: tuple[tuple[se.Symbol, ...], ...]

    def trainable(self) -> tuple[se.Symbol, ...]:
        """Every weight and bias, layer by layer (weights row-major, then biases)."""
        return tuple(s for W, b in zip(self.W, self.b, strict=True) for s in (*(w for row in W for w in row), *b))


@cache
def params(net: Net) -> Params:
    """Symbols W^{(l)}_{jk}, b^{(l)}_j (l from 1), x_k, y_k for ``net``."""
    w = net.widths
    W = tuple(tuple(tuple(se.Symbol(f"W{n}_{j}{k}") for k in range(1, w[n - 1] + 1)) for j in range(1, w[n] + 1))
              for n in range(1, len(w)))
    b = tuple(tuple(se.Symbol(f"b{n}_{j}") for j in range(1, w[n] + 1)) for n in range(1, len(w)))
    return Params(tuple(se.Symbol(f"x{k}") for k in range(1, w[0] + 1)),
                  tuple(se.Symbol(f"y{k}") for k in range(1, w[-1] + 1)), W, b)


def _se_sigmoid(z: se.Basic) -> se.Basic:
    """1/(1 + e^{-z}) in symengine."""
    return 1 / (1 + se.exp(-z))


@cache
def loss(net: Net) -> se.Basic:
    """The loss of ``net`` as one symengine expression in every symbol of ``params(net)``."""
    p = params(net)
    a: Sequence[se.Basic] = p.x
    last = len(p.W) - 1
    for layer, (W, b) in enumerate(zip(p.W, p.b, strict=True)):
        z = [sum((wjk * ak for wjk, ak in zip(row, a, strict=True)), se.Integer(0)) + bj
             for row, bj in zip(W, b, strict=True)]
        if layer == last and net.head == "softmax_ce":
            total = sum((se.exp(zj) for zj in z), se.Integer(0))
            return -sum((yk * se.log(se.exp(zk) / total) for yk, zk in zip(p.y, z, strict=True)), se.Integer(0))
        a = [_se_sigmoid(zj) for zj in z]
    return sum(((ak - yk) ** 2 for ak, yk in zip(a, p.y, strict=True)), se.Integer(0)) / 2


@cache
def brute_force_gradient(net: Net) -> dict[se.Symbol, se.Basic]:
    """dL/dtheta for every weight and bias theta, by differentiating the whole loss (symengine)."""
    full = loss(net)
    return {theta: full.diff(theta) for theta in params(net).trainable()}


@dataclass(frozen=True)
class Point:
    """Exact values for every symbol of a network (biases are log-rationals; see the module docstring)."""

    net: Net
    values: dict[se.Symbol, se.Basic]

    def sympy(self, s: se.Symbol) -> sp.Expr:
        """The value of ``s`` as a SymPy number (log terms kept exact)."""
        return sp.sympify(self.values[s])


def _rational(rng: random.Random, lo: int, hi: int) -> sp.Rational:
    """A random rational with numerator in [lo, hi] and denominator in [7, 97]."""
    return sp.Rational(rng.randint(lo, hi), rng.randint(7, 97))


def exact_point(net: Net, seed: int) -> Point:
    """A random point of ``net`` at which every activation is rational (biases b_j = log r_j - (W a)_j)."""
    rng = random.Random(seed)
    p = params(net)
    vals: dict[se.Symbol, sp.Expr] = {s: _rational(rng, -40, 40) for s in p.x}
    if net.head == "softmax_ce":
        raw = [sp.Integer(rng.randint(1, 9)) for _ in p.y]
        vals.update({s: r / sum(raw) for s, r in zip(p.y, raw, strict=True)})
    else:
        vals.update({s: _rational(rng, 0, 7) for s in p.y})
    a = [vals[s] for s in p.x]
    for W, b in zip(p.W, p.b, strict=True):
        nxt = []
        for row, bj in zip(W, b, strict=True):
            vals.update({w: _rational(rng, -60, 60) for w in row})
            r = sp.Rational(rng.randint(1, 60), rng.randint(1, 60))
            vals[bj] = sp.log(r) - sum(vals[w] * ak for w, ak in zip(row, a, strict=True))
            nxt.append(r / (1 + r))
        a = nxt
    return Point(net, {s: se.sympify(v) for s, v in vals.items()})


def _collapse_exp(value: se.Basic) -> se.Basic:
    """Evaluate every e^{(sum of c log n)} in ``value`` to the rational it is (SymPy does this; symengine not)."""
    powers = {}
    for atom in value.atoms(se.Pow):
        if atom.args[0] == se.E:
            exact = sp.exp(sp.sympify(atom.args[1]))
            if not exact.is_Rational:
                raise NetworkError(f"e^({atom.args[1]}) is not rational: the point is not an exact point")
            powers[atom] = se.sympify(exact)
    return value.xreplace(powers) if powers else value


def brute_force_at(point: Point) -> dict[se.Symbol, sp.Rational]:
    """The brute-force gradient of ``point.net`` evaluated exactly at ``point``."""
    out = {}
    for theta, d in brute_force_gradient(point.net).items():
        value = sp.sympify(_collapse_exp(d.subs(point.values)))
        if not value.is_Rational:
            raise NetworkError(f"dL/d{theta} evaluated to {value}, not a rational: report this as a bug")
        out[theta] = value
    return out


Activation = Callable[[sp.Expr], sp.Expr]
_Z = sp.Symbol("z", real=True)
SIGMOID_DEFINITION = 1 / (1 + sp.exp(-_Z))
SIGMOID_SLOPE = sp.diff(SIGMOID_DEFINITION, _Z)


def sigmoid_value(z: sp.Expr) -> sp.Expr:
    """sigma(z) from its definition (rational when z = log r)."""
    return SIGMOID_DEFINITION.subs(_Z, z)


def sigmoid_slope(z: sp.Expr) -> sp.Expr:
    """sigma'(z), SymPy's derivative of the definition, at z."""
    return SIGMOID_SLOPE.subs(_Z, z)


@dataclass(frozen=True)
class Backprop:
    """The forward values and the BP1-BP4 results, layer by layer (index 0 is layer 1)."""

    z: tuple[sp.Matrix, ...]
    a: tuple[sp.Matrix, ...]
    delta: tuple[sp.Matrix, ...]
    dW: tuple[sp.Matrix, ...]
    db: tuple[sp.Matrix, ...]


def output_gradient(net: Net, a: sp.Matrix, y: sp.Matrix) -> sp.Matrix:
    """grad_a L of the head's loss, by SymPy differentiation in the output activations."""
    out = sp.symbols(f"o1:{a.rows + 1}", real=True)
    if net.head == "softmax_ce":
        expr = -sum(yk * sp.log(ok) for yk, ok in zip(y, out, strict=True))
    else:
        expr = sum((ok - yk) ** 2 for ok, yk in zip(out, y, strict=True)) / 2
    return sp.Matrix([sp.diff(expr, ok) for ok in out]).subs(dict(zip(out, a, strict=True)))


def backprop(net: Net, W: Sequence[sp.Matrix], b: Sequence[sp.Matrix], x: sp.Matrix, y: sp.Matrix,
             act: Activation = sigmoid_value, slope: Activation = sigmoid_slope) -> Backprop:
    """Forward pass, then BP1 (or yhat - y for softmax + CE), BP2 down the layers, BP3 and BP4."""
    zs, acts = [], [x]
    for layer, (Wl, bl) in enumerate(zip(W, b, strict=True)):
        z = Wl * acts[-1] + bl
        if layer == len(W) - 1 and net.head == "softmax_ce":
            e = z.applyfunc(sp.exp)
            a = e / sum(e)
        else:
            a = z.applyfunc(act)
        zs.append(z)
        acts.append(a)
    if net.head == "softmax_ce":
        delta = acts[-1] - y                                                   # BP1, softmax + CE
    else:
        delta = output_gradient(net, acts[-1], y).multiply_elementwise(zs[-1].applyfunc(slope))  # BP1
    deltas = [delta]
    for layer in range(len(W) - 2, -1, -1):
        delta = (W[layer + 1].T * delta).multiply_elementwise(zs[layer].applyfunc(slope))   # BP2
        deltas.insert(0, delta)
    dW = tuple(d * a_prev.T for d, a_prev in zip(deltas, acts[:-1], strict=True))         # BP3
    return Backprop(tuple(zs), tuple(acts[1:]), tuple(deltas), dW, tuple(deltas))          # BP4: db = delta


def matrices(net: Net, value: Callable[[se.Symbol], sp.Expr]) -> tuple[list[sp.Matrix], list[sp.Matrix],
                                                                       sp.Matrix, sp.Matrix]:
    """W, b, x, y of ``net`` as SymPy matrices, each entry ``value(symbol)``."""
    p = params(net)
    W = [sp.Matrix([[value(s) for s in row] for row in Wl]) for Wl in p.W]
    b = [sp.Matrix([value(s) for s in bl]) for bl in p.b]
    return W, b, sp.Matrix([value(s) for s in p.x]), sp.Matrix([value(s) for s in p.y])


def backprop_gradient(bp: Backprop, net: Net) -> dict[se.Symbol, sp.Expr]:
    """BP3/BP4 results keyed by the parameter symbols, in ``params(net).trainable()`` order."""
    p = params(net)
    out: dict[se.Symbol, sp.Expr] = {}
    for Wl, bl, dW, db in zip(p.W, p.b, bp.dW, bp.db, strict=True):
        out.update({w: dW[j, k] for j, row in enumerate(Wl) for k, w in enumerate(row)})
        out.update({s: db[j, 0] for j, s in enumerate(bl)})
    return out


def activation_symbols(net: Net) -> tuple[tuple[sp.Symbol, ...], ...]:
    """Names a{l}_{j} for the forward values sigma(z^{(l)}_j), l = 1 .. L."""
    return tuple(tuple(sp.Symbol(f"a{n}_{j}", real=True) for j in range(1, width + 1))
                 for n, width in enumerate(net.widths[1:], start=1))


def named_full_gradient(net: Net) -> tuple[sp.Expr, dict[sp.Symbol, sp.Expr]]:
    """The loss of a sigmoid network and SymPy's derivative of it in every parameter, written in the forward values.

    SymPy differentiates the whole composed loss; then, outermost layer first, each e^{-z_j} is written as
    (1 - a_j)/a_j with a_j = sigma(z_j) named by ``activation_symbols``. What is left is a rational function
    of the parameters, inputs, labels and named activations (SymPy keeps e^{-z} atoms apart; symengine would
    merge them, which is why this path is SymPy's and kept to small networks).
    """
    if net.head != "sigmoid_half_sse":
        raise NetworkError(f"{net.name}: named_full_gradient handles sigmoid_half_sse networks only")
    W, b, x, y = matrices(net, sp.sympify)
    names: list[tuple[sp.Expr, sp.Symbol]] = []
    a = x
    for Wl, bl, layer in zip(W, b, activation_symbols(net), strict=True):
        z = Wl * a + bl
        names += list(zip(z, layer, strict=True))
        a = z.applyfunc(sigmoid_value)
    full = sum((ak - yk) ** 2 for ak, yk in zip(a, y, strict=True)) / 2
    grads = {}
    for theta in params(net).trainable():
        d = sp.diff(full, sp.sympify(theta))
        for z, name in reversed(names):
            d = d.subs(sp.exp(-z), (1 - name) / name)
        if d.has(sp.exp):
            raise NetworkError(f"dL/d{theta}: an e^(-z) was not named; report this as a bug")
        grads[sp.sympify(theta)] = d
    return full, grads


def named_backprop(net: Net, slope_in_a: Activation) -> dict[sp.Symbol, sp.Expr]:
    """BP1-BP4 on ``net`` with every parameter symbolic, sigma(z) named a and sigma'(z) = ``slope_in_a(a)``."""
    W, b, x, y = matrices(net, sp.sympify)
    lookup: dict[sp.Expr, sp.Symbol] = {}
    a = x
    for Wl, bl, layer in zip(W, b, activation_symbols(net), strict=True):
        z = Wl * a + bl
        lookup.update(zip(z, layer, strict=True))
        a = sp.Matrix(layer)
    grads = backprop_gradient(backprop(net, W, b, x, y, lookup.__getitem__,
                                       lambda z: slope_in_a(lookup[z])), net)
    return {sp.sympify(theta): g for theta, g in grads.items()}


@dataclass(frozen=True)
class Comparison:
    """Brute force versus BP1-BP4 at one exact point: how many entries, and which differ."""

    net: Net
    seed: int
    checked: int
    mismatches: tuple[str, ...]

    @property
    def agree(self) -> bool:
        """True when every gradient entry is exactly equal."""
        return not self.mismatches


def compare(net: Net, seed: int = 0) -> Comparison:
    """Evaluate the brute-force gradient and BP1-BP4 at one exact point of ``net``; list every entry that differs."""
    point = exact_point(net, seed)
    W, b, x, y = matrices(net, point.sympy)
    bp = backprop_gradient(backprop(net, W, b, x, y), net)
    brute = brute_force_at(point)
    bad = tuple(f"dL/d{theta}: full derivative {brute[theta]}, BP {bp[theta]}" for theta in brute
                if bp[theta] != brute[theta])
    return Comparison(net, seed, len(brute), bad)
