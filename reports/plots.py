"""The report's figures, drawn from the registry's records and the generated kernels as vector PDF.

The activation and GELU curves are ``Kernel.expr`` of ``derive/`` lambdified with NumPy, so a
figure shows the same expression the generated code computes; the gradient-descent iterates come
from the derived iterate map of ``derive/gradient_descent.py`` in exact arithmetic; the XOR training
curves from the generated NumPy kernels (``chainrule/kernels/numpy_kernels.py``). Drawing uses
matplotlib's object API (no pyplot, no global backend switch), a fixed style reset to matplotlib's
defaults, and PDF metadata without dates, so two runs with the same matplotlib give byte-identical
files; computed curves are rounded to ``DIGITS`` significant digits first, so that last-bit
differences between machines do not reach the file.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import matplotlib
import numpy as np
import sympy as sp
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure

from derive.core import Kernel, Registry, registry
from verify.listings import XorSetup, xor_training_run

ACTIVATION_SECTION = "1.2"
GD_SECTION = "1.4"
XOR_SECTION = "1.10"
# Values for a kernel's extra arguments in the plots; an argument not named here takes the middle of its domain.
PARAMETERS: Mapping[str, float] = {"alpha": 0.1}
DIGITS = 8  # significant digits kept of computed curves (see the module docstring)
STYLE: Mapping[str, object] = {
    "svg.hashsalt": "chainrule",
    "pdf.compression": 6,
    "pdf.fonttype": 42,
    "font.size": 8.0,
    "axes.titlesize": 9.0,
    "legend.fontsize": 7.0,
    "lines.linewidth": 1.3,
    "path.simplify": False,
}
# No dates and no producer string; the Creator names the versions that fix the bytes: matplotlib's,
# and fontTools', which subsets the embedded fonts (another fontTools embeds other font bytes).
FONTTOOLS = importlib.metadata.version("fonttools")  # matplotlib's font subsetter
METADATA: Mapping[str, str | None] = {
    "Creator": f"chainrule report, matplotlib {matplotlib.__version__}, fontTools {FONTTOOLS}",
    "Producer": None, "CreationDate": None}
_ERF = np.vectorize(math.erf, otypes=[float])


@dataclass(frozen=True)
class FigureSpec:
    """One figure: its file name, the section (and record) it illustrates, its caption (our LaTeX) and drawing.

    ``formula`` names the record after which the figure is placed and which cites it; empty: the
    figure opens its section.
    """

    name: str
    section: str
    formula: str
    caption: str
    draw: Callable[[Registry], Figure]
    cite: str = "illustrates this"

    @property
    def path(self) -> str:
        """The figure's path relative to the report folder."""
        return f"figures/{self.name}.pdf"


def parameters(kernel: Kernel) -> dict[str, float]:
    """Plot values of the kernel's arguments after the first: ``PARAMETERS``, else the middle of the domain."""
    values = {}
    for a in kernel.args[1:]:
        if a.name in PARAMETERS:
            values[a.name] = PARAMETERS[a.name]
        elif a.name in kernel.domain:
            lo, hi = kernel.domain[a.name]
            values[a.name] = round((lo + hi) / 2, 3)
        else:
            raise KeyError(f"kernel {kernel.name!r}: no plot value and no domain for {a.name!r}; add it to "
                           "reports.plots.PARAMETERS or to the kernel's domain")
    return values


def rounded(x: np.ndarray, digits: int = DIGITS) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (zeros and non-finite values kept)."""
    x = np.asarray(x, dtype=float)
    safe = np.where(np.isfinite(x) & (x != 0), np.abs(x), 1.0)
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(safe)))
    return np.where(np.isfinite(x) & (x != 0), np.round(x * scale) / scale, x)


def numeric(kernel: Kernel) -> Callable[[np.ndarray], np.ndarray]:
    """The kernel's expression as a NumPy function of its first argument (others from ``parameters``)."""
    first, *rest = kernel.args
    values = parameters(kernel)
    expr = kernel.expr.subs({a: values[a.name] for a in rest})
    fn = sp.lambdify(first, expr, modules=[{"erf": _ERF}, "numpy"])
    return lambda x: rounded(np.broadcast_to(np.asarray(fn(x), dtype=float), np.shape(x)))


def activation_pairs(registry: Registry) -> list[tuple[Kernel, Kernel]]:
    """(activation, derivative) kernel pairs of the activation section, elementwise ones, in order."""
    pairs = []
    for formula in registry.formulas:
        if formula.section != ACTIVATION_SECTION:
            continue
        for k in formula.kernels:
            grads = [g for g in formula.kernels if g.grad_of == k.name and g.shape == "elementwise"]
            if k.shape == "elementwise" and not k.grad_of and grads:
                pairs.append((k, grads[0]))
    return pairs


def _kernel(registry: Registry, name: str) -> Kernel:
    """The kernel called ``name``."""
    for k in registry.kernels():
        if k.name == name:
            return k
    raise KeyError(f"no kernel {name!r} in the registry; the report's figures need it (reports/plots.py)")


def draw_activations(registry: Registry) -> Figure:
    """A grid of panels: each activation kernel with its derivative kernel on [-4, 4]."""
    pairs = activation_pairs(registry)
    cols = 3
    rows = max(1, math.ceil(len(pairs) / cols))
    fig = Figure(figsize=(6.3, 1.9 * rows))
    x = np.linspace(-4.0, 4.0, 801)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (f, g) in zip(axes.flat, pairs, strict=False):
        ax.axhline(0.0, color="0.8", linewidth=0.6)
        ax.axvline(0.0, color="0.8", linewidth=0.6)
        ax.plot(x, numeric(f)(x), label=f.name, color="C0")
        ax.plot(x, numeric(g)(x), label=g.name, color="C3", linestyle="--")
        extra = ", ".join(f"{name} = {value:g}" for name, value in parameters(f).items())
        ax.set_title(f.name + (f" ({extra})" if extra else ""))
        ax.set_xlabel(f.args[0].name)
        ax.legend(loc="upper left", frameon=False)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def draw_gelu_tanh(registry: Registry) -> Figure:
    """GELU against its tanh approximation, and the approximation's error with the derived bound."""
    exact, approx = _kernel(registry, "gelu"), _kernel(registry, "gelu_tanh")
    bound = registry.formula("gelu_tanh").derive().result
    x = np.linspace(-6.0, 6.0, 1201)
    ye, ya = numeric(exact)(x), numeric(approx)(x)
    fig = Figure(figsize=(6.3, 2.4))
    left, right = fig.subplots(1, 2)
    left.plot(x, ye, label=exact.name, color="C0")
    left.plot(x, ya, label=approx.name, color="C3", linestyle="--")
    left.set_xlabel("z")
    left.set_title("GELU and its tanh approximation")
    left.legend(loc="upper left", frameon=False)
    right.plot(x, ya - ye, color="C2", label=f"{approx.name} - {exact.name}")
    if isinstance(bound, sp.Le) and bound.rhs.is_number:
        b = float(bound.rhs)
        for sign in (1.0, -1.0):
            right.axhline(sign * b, color="0.5", linestyle=":", linewidth=0.9,
                          label=f"derived bound {b:.3g}" if sign > 0 else None)
    right.set_xlabel("z")
    right.set_title("error of the approximation")
    right.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    right.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    return fig


def gd_iterates(theta0: sp.Expr, eta: sp.Expr, steps: int) -> list[sp.Expr]:
    """theta_0, ..., theta_steps by the derived iterate map of ``derive.gradient_descent``, exactly."""
    gd = importlib.import_module("derive.gradient_descent")
    step = gd.derive_iterate().result.subs(gd.eta, eta)
    values = [sp.nsimplify(theta0)]
    for _ in range(steps):
        values.append(step.subs(gd.theta, values[-1]))
    return values


def draw_gd(registry: Registry) -> Figure:
    """Gradient descent on L = theta^2 from theta_0 = 5: the iterates on the loss for both rates, and |theta_t|."""
    gd = importlib.import_module("derive.gradient_descent")
    loss = sp.lambdify(gd.theta, gd.LOSS_1D, "numpy")
    rates = ((gd.ETA_EXAMPLE, "C0", "converges"), (gd.ETA_DIVERGENT, "C3", "diverges"))
    fig = Figure(figsize=(6.3, 2.3))
    axes = fig.subplots(1, 3)
    for ax, (eta, color, verdict) in zip(axes[:2], rates, strict=True):
        path = [float(v) for v in gd_iterates(gd.THETA_START, eta, 6)]
        reach = 1.1 * max(abs(v) for v in path)
        grid = np.linspace(-reach, reach, 401)
        ax.plot(grid, rounded(loss(grid)), color="0.6", linewidth=0.9)
        ax.plot(path, [float(loss(v)) for v in path], color=color, marker="o", markersize=3, linewidth=0.9)
        for t, v in enumerate(path[:4]):
            ax.annotate(f"$\\theta_{t}$", (v, float(loss(v))), textcoords="offset points", xytext=(3, 3),
                        fontsize=6)
        ax.set_title(f"$\\eta = {float(eta):g}$: {verdict}")
        ax.set_xlabel("$\\theta$")
        ax.set_ylabel("$L(\\theta) = \\theta^2$" if ax is axes[0] else "")
    ax = axes[2]
    steps = 12
    top = 0.0
    for eta, color, _verdict in rates:
        path = [abs(float(v)) for v in gd_iterates(gd.THETA_START, eta, steps)]
        top = max(top, *path)
        ax.semilogy(range(steps + 1), path, color=color, marker="o", markersize=2.5, linewidth=0.9,
                    label=f"$\\eta = {float(eta):g}$, ratio {abs(float(gd.multiplier(eta))):g}")
    ax.set_ylim(top=top * 30)
    ax.set_xlabel("step $t$")
    ax.set_title("$|\\theta_t|$")
    ax.legend(loc="upper left", frameon=False, fontsize=6)
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class XorRun:
    """The training set-up of the notes' 1.10 listing, for several seeds."""

    seeds: tuple[int, ...] = tuple(range(8))
    eta: float = 0.5
    epochs: int = 10_000
    init_std: float = 1.0
    every: int = 20  # plot every ``every``-th epoch


XOR = XorRun()


def xor_losses(run: XorRun = XOR) -> np.ndarray:
    """The MSE of the 2-2-1 sigmoid MLP on XOR before each epoch, one row per seed, by the generated kernels.

    The training is ``verify.listings.xor_training_run`` (the one the audit counts seeds with): full
    batch, row-major as in the listing, W ~ normal(0, init_std) drawn W1 then W2 from
    ``numpy.random.default_rng(seed)``, zero biases, all seeds at once.
    """
    setup = XorSetup(seed=run.seeds[0], eta=run.eta, epochs=run.epochs, init_std=run.init_std)
    return xor_training_run(setup, list(run.seeds), losses=True)[1]


def draw_xor(registry: Registry, run: XorRun = XOR) -> Figure:
    """The XOR listing's training loss against the epoch, one curve per seed (log scale)."""
    losses = rounded(xor_losses(run))
    epochs = np.arange(0, run.epochs, run.every)
    fig = Figure(figsize=(6.3, 2.6))
    ax = fig.subplots()
    for row, seed in enumerate(run.seeds):
        ax.semilogy(epochs, losses[row, ::run.every], color=f"C{row % 10}", linewidth=1.0,
                    label=f"seed {seed}: {losses[row, -1]:.2g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE over the 4 XOR rows")
    ax.set_title(f"2-2-1 sigmoid MLP on XOR, $\\eta = {run.eta:g}$, $W \\sim N(0, {run.init_std:g}^2)$, "
                 "generated NumPy kernels")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, title="final loss")
    fig.tight_layout()
    return fig


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("activations", ACTIVATION_SECTION, "",
               r"Each activation kernel (solid) with its derivative kernel (dashed), evaluated from the "
               r"kernel expressions of the section's records (\texttt{derive/activations.py}).", draw_activations,
               "draws every activation kernel of this section with its derivative kernel"),
    FigureSpec("gelu-tanh", ACTIVATION_SECTION, "gelu_tanh",
               "GELU and its tanh approximation (left); the approximation's error with the bound "
               "found by the derivation (right).", draw_gelu_tanh,
               "draws both functions and the error of the approximation against the bound derived here"),
    FigureSpec("gd-iterates", GD_SECTION, "gd_divergent_rate",
               r"Gradient descent on $L(\theta) = \theta^2$ from $\theta_0 = 5$ by the derived iterate map "
               r"$\theta_{t+1} = (1 - 2\eta)\,\theta_t$, in exact arithmetic: at $\eta = 0.1$ the iterates "
               r"slide down the parabola (left); at $\eta = 1.1$ they jump across it and climb (middle); "
               r"$|\theta_t|$ is geometric with ratio $|1 - 2\eta|$ (right).", draw_gd,
               r"draws the iterates at $\eta = 0.1$ (the worked table) and at $\eta = 1.1$"),
    FigureSpec("xor-loss", XOR_SECTION, "",
               rf"Training loss of the 1.10 listing's 2-2-1 sigmoid network on XOR (MSE, full batch, "
               rf"$\eta = {XOR.eta:g}$, {XOR.epochs} epochs, $W \sim N(0, {XOR.init_std:g}^2)$), computed with "
               r"the generated NumPy kernels \texttt{sigmoid}, \texttt{sigmoid\_grad}, \texttt{mse} and "
               rf"\texttt{{mse\_grad}} for seeds {XOR.seeds[0]} to {XOR.seeds[-1]} of "
               r"\texttt{numpy.random.default\_rng}; the legend gives each seed's final loss.", draw_xor,
               "trains the listing's network with the generated kernels for several seeds"),
)


def to_pdf(fig: Figure) -> bytes:
    """Serialise a figure as PDF with fixed metadata (no creation date, no producer string)."""
    buf = io.BytesIO()
    FigureCanvasPdf(fig)
    fig.savefig(buf, format="pdf", metadata=dict(METADATA))
    return buf.getvalue()


def render_figures(registry: Registry, specs: tuple[FigureSpec, ...] = FIGURES) -> dict[str, bytes]:
    """Every figure as PDF bytes, keyed by its path relative to the report folder."""
    out: dict[str, bytes] = {}
    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE)
        for spec in specs:
            out[spec.path] = to_pdf(spec.draw(registry))
    return out


def figure_files() -> dict[str, bytes]:
    """Every figure of the registry (``render_figures(registry())``; a task for a worker process)."""
    return render_figures(registry())
