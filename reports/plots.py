"""The report's few figures, drawn from the registry's kernel expressions as vector PDF.

Every curve is a ``Kernel.expr`` of ``derive/`` lambdified with NumPy, so a figure shows the same
expression the generated code computes. Drawing uses matplotlib's object API (no pyplot, no global
backend switch), a fixed style reset to matplotlib's defaults, and PDF metadata without dates, so
two runs with the same matplotlib give byte-identical files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import matplotlib
import numpy as np
import sympy as sp
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure

from derive.core import Kernel, Registry

ACTIVATION_SECTION = "1.2"
PARAMETERS: Mapping[str, float] = {"alpha": 0.1}  # values for a kernel's extra arguments in the plots
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
# No dates and no producer string; the Creator names the matplotlib version, which fixes the bytes.
METADATA: Mapping[str, str | None] = {"Creator": f"chainrule report, matplotlib {matplotlib.__version__}",
                                      "Producer": None, "CreationDate": None}
_ERF = np.vectorize(math.erf, otypes=[float])


@dataclass(frozen=True)
class FigureSpec:
    """One figure: its file name, the section (and formula) it illustrates, its caption and drawing."""

    name: str
    section: str
    formula: str
    caption: str
    draw: Callable[[Registry], Figure]

    @property
    def path(self) -> str:
        """The figure's path relative to the report folder."""
        return f"figures/{self.name}.pdf"


def numeric(kernel: Kernel) -> Callable[[np.ndarray], np.ndarray]:
    """The kernel's expression as a NumPy function of its first argument (others from ``PARAMETERS``)."""
    first, *rest = kernel.args
    missing = [a.name for a in rest if a.name not in PARAMETERS]
    if missing:
        raise KeyError(f"kernel {kernel.name!r} needs plot values for {missing}: add them to reports.plots.PARAMETERS")
    expr = kernel.expr.subs({a: PARAMETERS[a.name] for a in rest})
    fn = sp.lambdify(first, expr, modules=[{"erf": _ERF}, "numpy"])
    return lambda x: np.broadcast_to(np.asarray(fn(x), dtype=float), np.shape(x))


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
        extra = ", ".join(f"{a.name} = {PARAMETERS[a.name]}" for a in f.args[1:])
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


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("activations", ACTIVATION_SECTION, "",
               "Each activation kernel (solid) with its derivative kernel (dashed), "
               "evaluated from the expressions in derive/activations.py.", draw_activations),
    FigureSpec("gelu-tanh", ACTIVATION_SECTION, "gelu_tanh",
               "GELU and its tanh approximation (left); the approximation's error with the bound "
               "found by the derivation (right).", draw_gelu_tanh),
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
