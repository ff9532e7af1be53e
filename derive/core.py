"""Record types and the registry: every formula of the notes is declared once, as data.

A section module (``activations.py``, ``losses.py``, ...) builds ``Formula`` and ``Example``
records; every later stage (generate, verify, report, audit) loops over ``registry()``.
Nothing here knows about files, printers or tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import sympy as sp

ClaimKind = Literal["display", "inline", "table", "prose", "code"]


@dataclass(frozen=True)
class Step:
    """One step of a derivation: the rule used and the expression it produced."""

    rule: str
    expr: sp.Basic


@dataclass(frozen=True)
class Derivation:
    """What SymPy reached from the definition, with the steps that got there."""

    result: sp.Basic
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Locator:
    """How the audit finds a claim in a notes file, by what the claim is about (never by the words around it).

    ``subject`` is the quantity the claim is about, in LaTeX (``\\frac{\\partial s_i}{\\partial z_j}``): the
    audit reads the claim from any relation chain of the file that has this subject at one end (see
    ``verify.matching``), whatever the words around it; ``member`` picks a step of a longer chain (1 =
    the member next to the subject); ``approx`` says the chain links them by ``\\approx``, not ``=``.
    ``row`` is the function a table row defines and ``fact`` what the claim says of it (its
    ``derivative``, its ``range``, what its values ``sum`` to): the row is found by its function, the
    cell by the meaning of its column's header or of its text. A locator with neither a subject nor a
    row is found by its stated form: the expression of ``section`` the prover shows equal to the record's
    stated form (or, when none is, the closest one by shared names). ``section`` breaks ties.
    A worked number (``worked``) is read at ``entry`` of a printed matrix or as the ``factor``-th factor of a
    product of numbers; a worked table's cell (``in_column``) by its column header's maths and its row's key.
    """

    section: str
    kind: ClaimKind = "display"
    subject: str = ""
    member: int | None = None
    approx: bool = False
    row: sp.Basic | None = None
    fact: Literal["", "derivative", "range", "sum"] = ""
    entry: tuple[int, ...] = ()
    factor: int | None = None
    column: str = ""
    row_key: str = ""


def about(section: str, subject: str, kind: ClaimKind = "display", member: int | None = None,
          approx: bool = False) -> Locator:
    """A locator by meaning: the claim is what the notes say ``subject`` equals (``approx``: is close to)."""
    return Locator(section, kind, subject, member, approx)


def worked(section: str, subject: str, entry: tuple[int, ...] = (), factor: int | None = None,
           kind: ClaimKind = "display") -> Locator:
    """A worked number: what a chain of ``section`` equates ``subject`` to, at the end of the chain (``entry``:
    0-based, of a printed vector or matrix there), or the ``factor``-th factor of a later product of numbers
    (``(-0.3573)\\cdot 0.2297`` after ``(\\hat y - y)\\cdot\\sigma'(z)``), whichever way the line is worded."""
    return Locator(section, kind, subject, entry=entry, factor=factor)


def in_column(section: str, column: str, row_key: str) -> Locator:
    """A worked table's cell: the column whose header states ``column``, the row whose first cell is ``row_key``."""
    return Locator(section, "table", column=column, row_key=row_key)


def in_row(section: str, row: sp.Basic, fact: Literal["derivative", "range", "sum"]) -> Locator:
    """A locator in a table: the row that defines the function ``row``, the cell that states its ``fact``."""
    return Locator(section, "table", row=row, fact=fact)


def stated_as(section: str, kind: ClaimKind = "inline") -> Locator:
    """A locator by stated form: the expression of ``section`` that is (or is closest to) the record's stated form."""
    return Locator(section, kind)


@dataclass(frozen=True)
class Region:
    """A part of the domain on which a piecewise claim is checked: substitutions plus a sampler range."""

    name: str
    subs: Mapping[sp.Symbol, sp.Expr]
    domain: Mapping[str, tuple[float, float]]


def same(expr: sp.Expr) -> sp.Expr:
    """The identity map: a reference used as it is."""
    return expr


@dataclass(frozen=True)
class FormulaReference:
    """A kernel is proven equal to another formula's definition or derived result, mapped by ``transform``.

    A non-elementwise kernel is compared with the (indexed) expression written out at concrete sizes,
    ``transform`` applied to each entry; an elementwise one with ``transform`` of the expression, e.g.
    the square root of a variance.
    """

    formula: str
    use: Literal["result", "definition"]
    transform: Callable[[sp.Expr], sp.Expr] = same


@dataclass(frozen=True)
class RecordReference:
    """A kernel is proven equal to a formula record read entry by entry (1-based) at concrete sizes.

    ``bases`` names the kernel argument that holds each IndexedBase of the record, ``index`` the
    record's free indices that run over the result's trailing axes, and ``widths`` the kernel size
    that each symbolic width of the record takes. Arguments in ``per_example`` carry one example per
    row (axis -2): with ``batch="rows"`` the result has one row per example; with ``batch="sum"`` it is
    the sum over the examples of the record (a parameter gradient: the batch loss is the sum of the
    examples' losses). ``use`` picks the record's derived result or its definition.
    """

    formula: str
    bases: Mapping[str, str]
    index: tuple[str, ...] = ()
    widths: Mapping[str, str] = field(default_factory=dict)
    per_example: tuple[str, ...] = ()
    batch: Literal["rows", "sum", "none"] = "none"
    use: Literal["result", "definition"] = "result"


SampleKind = Literal["uniform", "labels", "one_hot", "counts", "keep_mask", "per_row", "weights", "bias", "scalar"]


@dataclass(frozen=True)
class Sample:
    """How the kernel benchmark draws one argument in float32: a kind and its bounds (verify/benchmarks.py).

    ``uniform``, ``counts``, ``per_row``, ``weights`` and ``bias`` take (low, high); ``keep_mask`` the
    probability of keeping an entry; ``scalar`` its value; ``labels`` and ``one_hot`` nothing.
    """

    kind: SampleKind
    bounds: tuple[float, ...] = ()


@dataclass(frozen=True)
class Bench:
    """How `chainrule bench` times a kernel: how to draw each argument, and the NumPy a person would write.

    ``numpy`` is the source of a lambda expression or of one ``def``, taking the kernel's arguments in
    order, in the style of the notes' listing (``lambda z: 1 / (1 + np.exp(-z))``). It is evaluated by
    verify/benchmarks.py with ``np``, ``math`` and its hand-written helpers (``softmax``, ``log_softmax``,
    ``erf``, ``normalized``, ``norm``, ``norm_backward``) in scope.
    """

    inputs: tuple[Sample, ...]
    numpy: str
    note: str = ""


@dataclass(frozen=True)
class Quirk:
    """Documented behaviour of a generated kernel at one input, where it is a choice or a limit of the form used.

    ``numpy_value`` and ``jax_value`` are what the two generated kernels return at ``inputs`` in
    ``dtype``; ``autodiff_value``, for a derivative kernel, is what ``jax.grad`` of the generated
    JAX forward kernel returns there. tests/test_kernels.py checks each one.
    """

    inputs: Mapping[str, float]
    numpy_value: float
    jax_value: float
    autodiff_value: float | None
    note: str
    dtype: Literal["float32", "float64"] = "float64"


@dataclass(frozen=True)
class Kernel:
    """A formula as array code: argument order, the expression to print, and the input domain.

    ``expr`` may be a numerically stable rewrite of the derived result; ``proven_by`` names the
    rewrite, and the kernel is only generated after ``derive.proof`` shows it equal to the result.
    """

    name: str
    args: tuple[sp.Symbol, ...]
    expr: sp.Expr
    domain: Mapping[str, tuple[float, float]]
    shape: Literal["elementwise", "vector", "jacobian"] = "elementwise"
    rewrite: str = ""
    grad_of: str = ""
    grad_wrt: str = ""
    #: Arguments that take one value per call (rates, decays, epsilon): an elementwise NumPy kernel computes
    #: what depends only on them once, outside its block loop.
    scalars: tuple[str, ...] = ()
    #: The trailing shape of each argument and of the result in NumPy's gufunc notation, e.g.
    #: ``(m,n),(m),(B,n)->(B,m)`` (leading axes are batch axes). Empty: every argument is a vector ``(n)``,
    #: and a derivative kernel takes its forward kernel's.
    signature: str = ""
    #: Arguments whose entries along the last axis sum to 1 for the kernel to hold (labels on the simplex).
    simplex: tuple[str, ...] = ()
    #: What a rewrite is proven equal to where its formula's definition is not an expression in the kernel's
    #: arguments (besides the derivative of its forward kernel, for a derivative kernel).
    reference: FormulaReference | RecordReference | None = None
    #: For a result that can be a small difference of much larger terms: the rule of verify/tolerances.py's
    #: ``ERROR_SCALE_RULES`` that gives the size of those terms, by which its absolute tolerances are scaled.
    error_scale: str = ""
    #: The benchmark's inputs and hand-written NumPy reference; None leaves the kernel's row untimed.
    bench: Bench | None = None
    #: What the generated kernels return at special inputs where that is a choice (a kink) or a limit of the form.
    quirks: tuple[Quirk, ...] = ()


@dataclass(frozen=True)
class MatrixForm:
    """A record's result as a matrix expression in the record's own symbols, and which entry the record derives.

    ``names`` gives the IndexedBase of each MatrixSymbol, ``index`` the summation index of a product's entry;
    the report shows the expression only where ``derive.proof`` proves that entry equal to the record's result.
    """

    expr: sp.MatrixExpr
    entry: tuple[sp.Expr, sp.Expr]
    names: Mapping[sp.MatrixSymbol, sp.IndexedBase]
    index: sp.Symbol


@dataclass(frozen=True)
class CodeClaim:
    """A line of a code listing as a claim: the name it assigns or defines, read by the audit from its syntax tree.

    A one-line function (``def dsigmoid(a)``) is read with ``parameter`` as its argument. An assignment
    (``dW2 = ...``) is evaluated over ``env()``, the arrays a line may use, and ``project`` maps the array it
    computes to the scalar the record states (e.g. its sum along a symbolic direction).
    """

    name: str
    parameter: sp.Symbol | None = None
    env: Callable[[], Mapping[str, sp.Basic]] | None = None
    project: Callable[[sp.Basic], sp.Basic] = same

    def __post_init__(self) -> None:
        if (self.parameter is None) == (self.env is None):
            raise ValueError(f"code claim {self.name!r}: give a function's parameter or an assignment's env, not "
                             f"{'both' if self.env is not None else 'neither'}")


@dataclass(frozen=True)
class Correction:
    """A claim the notes make in words, and how to correct it: the words as written, what to write, and why."""

    written: str
    corrected: str
    why: str


@dataclass(frozen=True)
class Formula:
    """One formula of the notes: definition, derivation, the notes' stated form and where it lives."""

    key: str
    section: str
    title: str
    assumptions: tuple[str, ...]
    definition: sp.Basic
    derive: Callable[[], Derivation]
    stated: sp.Basic | None
    locator: Locator | None
    variables: tuple[sp.Symbol, ...]
    domain: Mapping[str, tuple[float, float]]
    regions: tuple[Region, ...] = ()
    kernels: tuple[Kernel, ...] = ()
    expect: Literal["equal", "differ"] = "equal"
    comment: str = ""
    #: The notes' names for the record's symbols, read by the audit: a LaTeX name (``\mathbf{W}^{(\ell)}``,
    #: a Leibniz key ``\partial N/\partial D``) -> the record's symbol, matrix or function for it, and
    #: ``"(entry)"`` -> the free indices of the entry a matrix claim is compared at.
    notation: Mapping[str, sp.Basic] = field(default_factory=dict)
    #: The result as a matrix expression, shown by the report as the last line of the chain (BP1-BP4).
    matrix_form: MatrixForm | None = None
    #: What a line of a code listing claims, for a record the notes state in code.
    code: CodeClaim | None = None
    #: The corrected sentence, for a claim the notes make in words that the derivation refutes.
    correction: Correction | None = None


@dataclass(frozen=True)
class Quantity:
    """One number of a worked example: its exact expression and the value the notes state."""

    name: str
    latex: str
    expr: sp.Expr
    stated: str | None
    locator: Locator | None
    rounded_expr: sp.Expr | None = None
    #: How the notes compute it, in the example's ``symbols`` and the ``name``s of earlier quantities
    #: (as Symbols); the report shows it, then the numbers put in, then the value, and checks that it gives ``expr``.
    formula: sp.Expr | None = None


@dataclass(frozen=True)
class VectorForm:
    """Quantities of a worked example that are the entries of one vector, shown once as the vector's matrix form.

    ``record`` names a record that declares a matrix form (``Formula.matrix_form``); ``bind`` gives each of its
    symbols (by name) the example's name for it and where its value comes from: an input (a key of
    ``Example.inputs``) or earlier quantities (by name) stacked as a column.
    """

    name: str
    record: str
    entries: tuple[str, ...]
    bind: Mapping[str, tuple[str, str | tuple[str, ...]]]
    remark: str


@dataclass(frozen=True)
class Example:
    """A worked example: named exact inputs and the quantities computed from them, in order."""

    key: str
    section: str
    title: str
    inputs: Mapping[str, sp.Expr]
    quantities: tuple[Quantity, ...]
    kernels_used: tuple[str, ...] = field(default=())
    #: The inputs' entries as the quantities' formulas name them (``W^{(1)}_{11}``), with their exact values.
    symbols: Mapping[sp.Basic, sp.Expr] = field(default_factory=dict)
    #: The rule of verify/worked.py's ``PIPELINES`` that runs the example through the generated kernels, as a
    #: user would; empty: the example is checked only by evaluating its quantities (verify/examples.py).
    pipeline: str = ""
    #: Quantities that are the entries of one vector, shown by the report as that vector's matrix form.
    vectors: tuple[VectorForm, ...] = ()


@dataclass(frozen=True)
class Definition:
    """A definition the notes write and the derivations build on: its right-hand side as they use it, and where.

    Nothing is proven about a definition; the audit checks that the notes define the symbol the way
    the derivations (or the cited source) do, so an edited definition is an error at its line.
    """

    key: str
    section: str
    title: str
    expr: sp.Basic
    locator: Locator
    domain: Mapping[str, tuple[float, float]]
    source: str = ""
    #: The notes' names for the definition's symbols, as ``Formula.notation``.
    notation: Mapping[str, sp.Basic] = field(default_factory=dict)


SECTIONS: tuple[str, ...] = ("neuron", "activations", "losses", "gradient_descent", "backprop", "optimizers", "init",
                             "regularization", "normalization", "xor_listing")


@dataclass(frozen=True)
class Registry:
    """All formula and example records, in the order of the notes."""

    formulas: tuple[Formula, ...]
    examples: tuple[Example, ...]
    definitions: tuple[Definition, ...] = ()

    def formula(self, key: str) -> Formula:
        """Return the formula record called ``key``."""
        for f in self.formulas:
            if f.key == key:
                return f
        raise KeyError(f"no formula {key!r}; known: {', '.join(f.key for f in self.formulas)}")

    def kernels(self) -> tuple[Kernel, ...]:
        """Every kernel of every formula, in registry order."""
        return tuple(k for f in self.formulas for k in f.kernels)


@cache
def registry() -> Registry:
    """Import each section module and collect its ``FORMULAS``, ``EXAMPLES`` and ``DEFINITIONS``."""
    formulas: list[Formula] = []
    examples: list[Example] = []
    definitions: list[Definition] = []
    for name in SECTIONS:
        mod = importlib.import_module(f"derive.{name}")
        formulas.extend(getattr(mod, "FORMULAS", ()))
        examples.extend(getattr(mod, "EXAMPLES", ()))
        definitions.extend(getattr(mod, "DEFINITIONS", ()))
    keys = [f.key for f in formulas] + [e.key for e in examples] + [d.key for d in definitions]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"duplicate record keys in derive/: {dupes}; rename one of each")
    return Registry(tuple(formulas), tuple(examples), tuple(definitions))


def entries(base: sp.IndexedBase, value: sp.Expr) -> dict[sp.Basic, sp.Expr]:
    """Each entry of a vector or matrix input as ``base[i]`` or ``base[i, j]`` (1-based), with its value."""
    if not isinstance(value, sp.MatrixBase) or value.shape == (1, 1):
        return {sp.Symbol(str(base.label)): value if not isinstance(value, sp.MatrixBase) else value[0, 0]}
    if 1 in value.shape:
        return {base[k + 1]: v for k, v in enumerate(value)}
    return {base[r + 1, c + 1]: value[r, c] for r in range(value.rows) for c in range(value.cols)}


def within_bounds(expr: sp.Basic, index: sp.Symbol, upper: sp.Expr) -> sp.Basic:
    """Drop the ``index <= upper`` condition SymPy attaches when summing out a Kronecker delta."""
    return expr.subs({sp.Le(index, upper): sp.true, sp.Ge(upper, index): sp.true})
