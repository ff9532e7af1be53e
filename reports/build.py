"""`chainrule report`: the LaTeX derivation report (and its PDF) as a view of the registry.

Everything in the report is read from ``derive.core.registry()`` and the stages after it: each
formula's definition, derivation steps, the notes' stated form with the verdict of
``derive.proof.prove``, its generated NumPy/JAX kernels (``chainrule.codegen``) with their proofs
and their checks at fixed points (``reports.checks``), the worked examples recomputed by
``verify.examples.check_examples`` and the errata found by ``verify.audit.audit_file``. Stages that
are not installed yet are skipped with a line saying so. Expressions too wide for the page are
abbreviated (``reports.latex.display``); the records keep them whole.

``render_report`` is pure and returns the .tex files (the numeric checks run meanwhile in a worker
process); ``build_report`` writes them (and the figures) atomically, then compiles the PDF with
latexmk, without shell escape, in a temporary folder.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import sympy as sp

from chainrule.errors import ChainruleError, InputError
from derive.core import SECTIONS, Example, Formula, Kernel, Registry, registry
from derive.proof import Proof, prove
from reports.chain import ChainLine, chain, typeset
from reports.checks import KernelCheck, Numeric, Pending, numeric_checks, optional, use_workers
from reports.errata import Erratum
from reports.errata import build_errata as errata_entries
from reports.handcalc import HandcalcError, HandLine, given, hand_lines, verdicts_of
from reports.headings import notes_headings, section_title
from reports.latex import Tex, display, escape, finalize, label, listing_body, texttt
from reports.matrix_form import matrix_line
from reports.plots import FIGURES, FigureSpec, figure_files, render_figures
from reports.printer import textbook
from reports.prose import prose_tex
from reports.quote import quoted, safe_math, typeset_line

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAIN = "chainrule.tex"
PREAMBLE = "preamble.tex"
ERRATA = "errata.tex"
APPENDIX = "appendix.tex"
BENCHMARKS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
BENCH_COLUMNS = 9  # the columns of docs/BENCHMARKS.md's first table shown in the appendix (all threads)
CODE_MARK = "\0code:"  # marks a quote that is a line of code (shown in typewriter, never typeset)
WORDS_MARK = "\0words:"  # marks a claim the notes make in words: what they say, in our words and their maths
SOURCE_DATE_EPOCH = "0"  # fixed dates inside the PDF, so that it is byte-identical run to run
BACKENDS: Mapping[str, str] = {"numpy": "NumPy", "jax": "JAX"}
VERDICTS = ("proven", "agrees", "refuted", "unknown")
LATEXMK = ("latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape")
INSTALL_TEX = "apt-get install latexmk texlive-latex-recommended texlive-latex-extra"
LATEX_TIMEOUT_S = 300
#: The list of files a build wrote into its folder; a rebuild deletes only files listed there.
MANIFEST = "chainrule-manifest.txt"
MANIFEST_HEAD = ("# Files written by `chainrule report` into this folder, one per line. A rebuild replaces them\n"
                 "# and deletes the listed ones it no longer writes; it never touches any other file.\n")
MISSING = Tex(r"\textemdash{}")
EXACT_CHARS = 90  # longer exact values are not typeset in the worked-example tables (the 10-digit value is)
# Widest expression shown as it is, in reports.latex.tex_width units (about 75 fit the line; \fitmath
# shrinks up to this); wider ones are abbreviated. A half-width cell takes HALF_WIDTH.
FULL_WIDTH = 80.0
HALF_WIDTH = 36.0
SHOWN_FAILURES = 3  # failures of a kernel check listed in the report (the rest are counted)


class ReportError(ChainruleError):
    """The report could not be written or compiled."""


class OutDirError(InputError):
    """``--out`` names a place the report cannot be written to (exit code 2, before any work)."""


@dataclass(frozen=True)
class ReportResult:
    """What ``build_report`` wrote: the .tex files, the PDF (or None) and a line for the user."""

    tex: list[Path]
    pdf: Path | None
    message: str


@dataclass(frozen=True)
class StepView:
    """One derivation step as the template shows it (``abbreviated``: too wide, shortened for print)."""

    rule: str
    expr: Tex
    abbreviated: bool = False


@dataclass(frozen=True)
class CheckView:
    """A check of a generated kernel at fixed points: what it compared, where, and its outcome."""

    what: str
    dtypes: str
    points: int
    verdict: str
    failures: tuple[str, ...]


@dataclass(frozen=True)
class Listing:
    """The generated source of one kernel in one backend."""

    backend: str
    name: str
    code: Tex


@dataclass(frozen=True)
class KernelView:
    """A kernel of a formula: its name, what it differentiates, its rewrite and its listings."""

    name: str
    grad_of: str
    grad_wrt: Tex
    rewrite: str
    shape: str
    listings: tuple[Listing, ...]
    proof: Proof | None
    checks: tuple[CheckView, ...] = ()


@dataclass(frozen=True)
class FigureView:
    """A figure placed in a section, with the sentence that cites it."""

    path: Tex
    caption: Tex
    label: Tex
    cite: Tex


@dataclass(frozen=True)
class ExampleUse:
    """A worked example that uses one of a formula's kernels, with its overall verdict."""

    title: str
    label: Tex
    kernels: str
    verdict: str


@dataclass(frozen=True)
class FormulaView:
    """Everything the report shows for one formula."""

    key: str
    label: Tex
    title: str
    assumptions: tuple[str, ...]
    definition: Tex
    steps: tuple[StepView, ...]
    stated: Tex | None
    derived: Tex
    proof: Proof
    expect: str
    comment: str
    locator: str
    kernels: tuple[KernelView, ...]
    examples: tuple[ExampleUse, ...]
    figures: tuple[FigureView, ...]
    codegen: bool
    checked: bool = False
    abbreviated: bool = False
    heading: Tex = Tex("")
    conditions: tuple[Tex, ...] = ()
    intro: Tex | None = None
    chain: tuple[ChainLine, ...] = ()
    quote: Tex | None = None
    where: str = ""
    result: Tex = Tex("")
    beyond: bool = False
    merged: tuple[FormulaView, ...] = ()
    steps_key: tuple[tuple[str, str], ...] = ()
    own_chain: bool = False


@dataclass(frozen=True)
class QuantityRow:
    """One row of a worked example's table."""

    name: Tex
    stated: str
    exact: Tex
    decimal: str
    numpy: str
    jax: str
    verdict: str
    detail: str = ""


@dataclass(frozen=True)
class ExampleView:
    """A worked example as a table."""

    key: str
    label: Tex
    title: str
    inputs: tuple[tuple[Tex, Tex], ...]
    kernels: str
    rows: tuple[QuantityRow, ...]
    checked: bool
    lines: tuple[HandLine, ...] = ()


@dataclass(frozen=True)
class SectionView:
    """One section of the notes: its formulas, worked examples and section-level figures."""

    number: str
    title: Tex
    filename: Tex
    label: Tex
    formulas: tuple[FormulaView, ...]
    examples: tuple[ExampleView, ...]
    figures: tuple[FigureView, ...]


@dataclass(frozen=True)
class FindingView:
    """One audit finding, every field escaped (it quotes the notes); ``where`` is file:line."""

    line: str
    where: Tex
    severity: str
    claim: str
    message: Tex
    stated: Tex
    expected: Tex


@dataclass(frozen=True)
class Errata:
    """The errata section: whether an audit ran, of which file, and what it found."""

    status: str
    source: str
    findings: tuple[FindingView, ...]
    counts: tuple[tuple[str, int], ...] = field(default=())
    claims: int = 0
    entries: tuple[Erratum, ...] = ()
    quotes: Mapping[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def slips(self) -> tuple[Erratum, ...]:
        """The entries that are more than a rounding slip, by severity then line."""
        return tuple(e for e in self.entries if not e.rounding)

    @property
    def rounding(self) -> tuple[Erratum, ...]:
        """The entries that only round a number differently (the last digit), by line."""
        return tuple(sorted((e for e in self.entries if e.rounding), key=lambda e: e.line))

    @property
    def errors(self) -> tuple[FindingView, ...]:
        """The findings of severity error: claims of the notes the derivations refute."""
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> tuple[FindingView, ...]:
        """The other findings listed (not errors, not info)."""
        return tuple(f for f in self.findings if f.severity != "error")

    @property
    def groups(self) -> tuple[tuple[str, str, str, tuple[FindingView, ...]], ...]:
        """(heading, contents entry, name of the derived column, findings) for errors, then warnings."""
        groups = (("Errors: claims the derivations refute", "Errors", "right", self.errors),
                  ("Warnings: right only with rounded intermediates, or not settled", "Warnings", "expected",
                   self.warnings))
        return tuple(g for g in groups if g[3])


# --- the stages after derive/ (optional while they are being written) -------------------------


def _optional(module: str) -> ModuleType | None:
    """Import ``module``, or None when that module itself does not exist yet."""
    return optional(module)


@dataclass(frozen=True)
class Generated:
    """What code generation produced: each kernel's function source by backend, and each kernel's proof."""

    sources: Mapping[str, Mapping[str, str]]
    proofs: Mapping[str, Proof]


def generated() -> Generated | None:
    """Kernel sources from ``chainrule.codegen.render_all()`` and proofs from its ``prove_kernels()``."""
    codegen = _optional("chainrule.codegen")
    if codegen is None:
        return None
    proofs = list(codegen.prove_kernels()) if hasattr(codegen, "prove_kernels") else []
    render, backends = getattr(codegen, "render_module", None), getattr(codegen, "BACKENDS", None)
    if proofs and render is not None and isinstance(backends, Mapping):
        # The proofs are shown, not required: a refuted kernel reads as refuted instead of stopping the report.
        modules: Mapping[str, str] = {b.path: render(name) for name, b in backends.items()}
    else:
        modules = codegen.render_all()
    sources: dict[str, dict[str, str]] = {}
    for filename, source in sorted(modules.items()):
        backend = next((b for b in BACKENDS if b in Path(filename).name.lower()), None)
        if backend is not None:
            sources.setdefault(backend, {}).update(function_sources(source, where=filename))
    return Generated(sources, dict(proofs))


def function_sources(source: str, where: str = "<generated>") -> dict[str, str]:
    """The source of every top-level function of a module (with its decorators), by name."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ReportError(f"{where}: generated module does not parse ({e}); run `chainrule generate`") from e
    lines = source.splitlines()
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            found[node.name] = "\n".join(lines[start - 1:node.end_lineno])
    return found


_GUARD = re.compile(r"^    if _(shape|layout) is None:$")
_LOOP_CALL = re.compile(r"^\s+(numpy\.\w+\(|scipy\.special\.\w+\(|_out_b\[\.\.\.\] = |_r\d+\[\.\.\.\] = )")


def numpy_excerpt(code: str) -> str:
    """A NumPy kernel as the report lists it: up to its plain expression, then one line for the blocked loop."""
    lines = code.split("\n")
    guard = next((i for i, line in enumerate(lines) if _GUARD.match(line)), None)
    if guard is None:
        return code
    end = next(i for i in range(guard + 1, len(lines)) if not lines[i].startswith("        "))
    calls = sum(1 for line in lines[end:] if _LOOP_CALL.match(line))
    unit = "whole rows" if "_layout" in lines[guard] else "entries"
    return "\n".join([*lines[:end], f"    ...  # larger inputs: in blocks of {unit}, {calls} operation(s) with out= "
                                    "per block, on worker threads (chainrule/blocked.py)"])


def audit_findings(notes: Path) -> list[Any] | None:
    """``verify.audit.audit_file(notes).findings``, or None while that stage is absent."""
    audit = _optional("verify.audit")
    return None if audit is None else list(audit.audit_file(notes).findings)


# --- building the view ------------------------------------------------------------------------


def section_key(number: str) -> tuple[int, ...]:
    """Sort key of a section number such as ``1.10``."""
    return tuple(int(part) for part in number.split(".") if part.isdigit())


_SECTION_DOC = re.compile(r"Section\s+(?P<number>\d+(?:\.\d+)*)\s*:\s*(?P<title>.*?)(?:\.\s|\.$|$)", re.DOTALL)


@cache
def section_titles() -> dict[str, str]:
    """Each section's title: a module's ``TITLE``, else the first sentence of its ``Section N.M: ...`` docstring."""
    candidates: list[tuple[int, int, str, str]] = []  # (priority, module order, number, title)
    for order, name in enumerate(SECTIONS):
        mod = import_module(f"derive.{name}")
        numbers = {r.section for r in (*getattr(mod, "FORMULAS", ()), *getattr(mod, "EXAMPLES", ()))}
        first = " ".join((mod.__doc__ or "").strip().split("\n\n")[0].split())
        doc = _SECTION_DOC.match(first)
        for number in numbers:
            if getattr(mod, "TITLE", None):
                candidates.append((0, order, number, str(mod.TITLE)))
            elif doc and doc["number"] == number:
                candidates.append((1, order, number, doc["title"][:1].upper() + doc["title"][1:]))
            else:
                candidates.append((2, order, number, f"Section {number}"))
    titles: dict[str, str] = {}
    for _priority, _order, number, title in sorted(candidates):
        titles.setdefault(number, title)
    return titles


def _check_views(kernel: Kernel, checks: Sequence[KernelCheck]) -> tuple[CheckView, ...]:
    """The kernel's checks at fixed points, one line per kind of check (the dtypes merged)."""
    what = {"values": "NumPy and JAX values agree",
            "derivative": f"against JAX autodiff of {kernel.grad_of} (reverse and forward mode) and central "
                          f"differences of its NumPy kernel"}
    views = []
    for kind in ("values", "derivative"):
        mine = [c for c in checks if c.kernel == kernel.name and c.check == kind]
        if not mine:
            continue
        errors = [f"{c.dtype}: could not run ({c.error})" for c in mine if c.error]
        failures = [f"{c.dtype}: {f}" for c in mine for f in c.failures]
        verdict = "skipped" if errors else ("failed" if failures else "passed")
        listed = (errors + failures)[:SHOWN_FAILURES]
        more = len(errors) + len(failures) - len(listed)
        if more:
            listed.append(f"... and {more} more")
        views.append(CheckView(what[kind], ", ".join(c.dtype for c in mine), max(c.points for c in mine), verdict,
                               tuple(listed)))
    return tuple(views)


def _kernel_view(kernel: Kernel, gen: Generated | None, checks: Sequence[KernelCheck] = ()) -> KernelView:
    """A kernel with the generated source of each backend that has it, its proof and its checks."""
    listings = []
    for backend, label_ in BACKENDS.items():
        code = gen.sources.get(backend, {}).get(kernel.name) if gen else None
        if code is not None:
            listings.append(Listing(label_, kernel.name, listing_body(numpy_excerpt(code) if backend == "numpy"
                                                                      else code)))
    wrt = Tex(textbook(sp.Symbol(kernel.grad_wrt))) if kernel.grad_wrt else Tex("")
    proof = gen.proofs.get(kernel.name) if gen else None
    return KernelView(kernel.name, kernel.grad_of, wrt, kernel.rewrite, kernel.shape, tuple(listings), proof,
                      _check_views(kernel, checks))


def _definition(formula: Formula) -> tuple[Tex, bool]:
    """The definition's LaTeX (and whether abbreviated); a placeholder symbol gives way to a 'definition' step."""
    d = formula.definition
    if isinstance(d, sp.Symbol) and not d.name.isidentifier():
        steps = formula.derive().steps
        if steps and steps[0].rule.startswith("definition"):
            return display(steps[0].expr, FULL_WIDTH)
        return Tex(r"\text{" + escape(d.name) + "}"), False
    return display(d, FULL_WIDTH)


_BEYOND = re.compile(r"\s*\((?:beyond|the notes leave it out)[^()]*\)\s*$")


def _intro(formula: Formula, steps: Sequence[Any]) -> Tex | None:
    """The definition shown above the chain, when the chain does not start from it."""
    d = formula.definition
    if steps and steps[0].rule.startswith("definition"):
        return None
    if isinstance(d, sp.Symbol) and not d.name.isidentifier():
        return prose_tex(d.name)
    return Tex("$" + typeset(d)[0] + "$")


def _formula_view(formula: Formula, gen: Generated | None, uses: Sequence[ExampleUse],
                  figures: Sequence[FigureView], checks: Sequence[KernelCheck] | None = None,
                  proof: Proof | None = None, quotes: Mapping[str, tuple[int, str]] | None = None,
                  source: str = "") -> FormulaView:
    """Derive and prove one formula and collect what the template shows for it."""
    derivation = formula.derive()
    found = (quotes or {}).get(formula.key)
    beyond = bool(_BEYOND.search(formula.title)) or formula.stated is None or (quotes is not None and found is None)
    heading = prose_tex(_BEYOND.sub("", formula.title))
    result_tex = typeset(derivation.result.rhs if isinstance(derivation.result, sp.Equality) else derivation.result)[0]
    loc = formula.locator
    definition, short_def = _definition(formula)
    steps = []
    for s in derivation.steps:
        tex, whole = typeset(s.expr)
        steps.append(StepView(s.rule, tex, not whole))
    half = HALF_WIDTH if formula.stated is not None else FULL_WIDTH
    derived, whole_res = typeset(derivation.result, half * 2.5)
    stated, whole_st = (None, True) if formula.stated is None else typeset(formula.stated, HALF_WIDTH * 2.5)
    short_res, short_st = not whole_res, not whole_st
    return FormulaView(
        key=formula.key, label=label(f"formula:{formula.key}"), title=formula.title,
        assumptions=formula.assumptions, definition=definition, steps=tuple(steps), stated=stated, derived=derived,
        proof=prove(formula) if proof is None else proof, expect=formula.expect, comment=formula.comment,
        locator="" if loc is None else f"section {loc.section}, {loc.kind}",
        kernels=tuple(_kernel_view(k, gen, checks or ()) for k in formula.kernels),
        examples=tuple(uses), figures=tuple(figures), codegen=gen is not None, checked=checks is not None,
        abbreviated=short_def or short_res or short_st or any(s.abbreviated for s in steps),
        heading=heading, conditions=tuple(prose_tex(a) for a in formula.assumptions),
        intro=_intro(formula, derivation.steps),
        chain=chain(tuple((s.rule, s.expr) for s in derivation.steps), formula.domain)
        + tuple(x for x in (matrix_line(formula),) if x is not None),
        quote=_quote(found[1]) if found is not None else None,
        where=_where(found, source), result=Tex(result_tex), beyond=beyond,
        steps_key=tuple((s.rule, sp.srepr(s.expr)) for s in derivation.steps),
    )


def _where(found: tuple[int, str] | None, source: str) -> str:
    """``file:line`` of the statement a record was found at (", in words" for a claim made in words)."""
    if found is None:
        return ""
    return f"{source}:{found[0]}" + (", in words" if found[1].startswith(WORDS_MARK) else "")


def _quote(stated: str) -> Tex | None:
    """What the notes state, typeset: their maths (when ``safe_math`` allows it), or a claim in words."""
    if stated.startswith(WORDS_MARK):
        words = stated[len(WORDS_MARK):]
        return typeset_line(words) if "$" in words else Tex(escape(words))  # a line without $ is maths
    if stated.startswith(CODE_MARK) or safe_math(stated) is None:
        return None
    return quoted(stated)


def _value(x: object, places: int) -> str:
    """A backend's number with ``places`` decimals (few enough to be the same on every machine)."""
    if x is None:
        return MISSING
    try:
        return f"{float(x):.{places}f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)


def _short(expr: sp.Basic, limit: int = EXACT_CHARS) -> Tex:
    """``expr`` in inline maths (fractions folded) when short enough for a table cell, else a note saying so."""
    tex = textbook(expr)
    return Tex(f"${tex}$") if len(tex) <= limit else Tex("")


def _example_view(example: Example, checks: list[Any] | None) -> ExampleView:
    """A worked example's table: stated, exact and (when verified) each backend's value and verdict."""
    rows = []
    for q in example.quantities:
        check = next((c for c in checks or () if str(getattr(c, "example", "")) in {example.key, example.title}
                      and str(getattr(c, "quantity", "")) == q.name), None)
        places = int(getattr(check, "decimals", 0) or 0) + 3
        unchecked = "not stated" if q.stated is None and checks is not None else MISSING
        rows.append(QuantityRow(
            name=Tex(q.latex), stated=q.stated if q.stated is not None else MISSING, exact=_short(q.expr),
            decimal=str(sp.N(q.expr, 10)),
            numpy=_value(getattr(check, "numpy", None), places) if check else MISSING,
            jax=_value(getattr(check, "jax", None), places) if check else MISSING,
            verdict=str(check.verdict) if check else unchecked, detail=str(getattr(check, "detail", "") or ""),
        ))
    return ExampleView(
        key=example.key, label=label(f"example:{example.key}"), title=example.title,
        inputs=given(example) or tuple((Tex(textbook(sp.Symbol(name))), Tex(textbook(v)))
                                       for name, v in example.inputs.items()),
        kernels=", ".join(example.kernels_used), rows=tuple(rows), checked=checks is not None,
        lines=_hand(example, checks),
    )


def _hand(example: Example, checks: list[Any] | None) -> tuple[HandLine, ...]:
    """The example's hand calculation; a formula that does not give its value stops the report."""
    try:
        return hand_lines(example, verdicts_of(example, checks))
    except HandcalcError as e:
        raise ReportError(f"{e}; fix the record in derive/") from e


def _example_verdict(view: ExampleView) -> str:
    """One word for a whole example: the worst of its quantities' verdicts."""
    verdicts = {r.verdict for r in view.rows} - {"not stated"}
    if not view.checked or verdicts <= {MISSING}:
        return "not recomputed"
    good = {"correct", "proven", "agrees"}
    bad = sorted(verdicts - good)
    return bad[0] if bad else "correct"


def _figure_view(spec: FigureSpec) -> FigureView:
    """A figure's template data; its caption and citing sentence are our LaTeX (``reports.plots``)."""
    return FigureView(Tex(spec.path), Tex(spec.caption), label(f"figure:{spec.name}"), Tex(spec.cite))


# Records shown as one entry with their cases, each keeping its own chain (the first record hosts them).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("The softmax Jacobian and its cases", ("softmax_jacobian", "softmax_numerator_slope", "softmax_denominator_term",
                                            "softmax_off_diagonal_quotient", "softmax_off_diagonal")),
    ("Adam's two moments and their bias correction", ("adam_m_expectation", "adam_v_expectation",
                                                      "adam_bias_divisor", "adam_m_hat", "adam_v_hat")),
)


def _group_cases(views: Sequence[FormulaView]) -> list[FormulaView]:
    """The records of each of ``GROUPS`` gathered under its first record, each with its own chain."""
    by_key = {v.key: v for v in views}
    hosted: dict[str, tuple[str, tuple[FormulaView, ...]]] = {}
    for title, group in GROUPS:
        present = [by_key[k] for k in group if k in by_key]
        if len(present) > 1:
            hosted[present[0].key] = (title, tuple(replace(v, own_chain=k > 0) for k, v in enumerate(present)))
    members = {v.key for _, group in hosted.values() for v in group[1:]}
    return [replace(v, merged=hosted[v.key][1], heading=escape(hosted[v.key][0])) if v.key in hosted else v
            for v in views if v.key not in members]


def merge_related(views: Sequence[FormulaView]) -> tuple[FormulaView, ...]:
    """Related records merged into one entry: the cases of ``GROUPS``, and records whose derivations are one
    chain (one's steps begin the other's), shown as the longest chain.

    Every record of an entry keeps its own stated form and verdict.
    """
    out: list[FormulaView] = []
    for view in _group_cases(views):
        if view.merged:
            out.append(view)
            continue
        host = next((k for k, v in enumerate(out) if view.steps_key and len(view.steps_key) > 1 and not v.own_chain
                     and not any(m.own_chain for m in v.merged) and
                     (v.steps_key[:len(view.steps_key)] == view.steps_key or
                      view.steps_key[:len(v.steps_key)] == v.steps_key)), None)
        if host is None:
            out.append(view)
            continue
        first = out[host]
        members = (*(first.merged or (first,)), view)
        longest = max(members, key=lambda v: len(v.chain))
        out[host] = replace(first, chain=longest.chain, steps_key=longest.steps_key, merged=members)
    return tuple(out)


def build_sections(reg: Registry, gen: Generated | None, checks: list[Any] | None,
                   progress: Callable[[str], None], kernel_checks: list[KernelCheck] | None = None,
                   proofs: Mapping[str, Proof] | None = None, quotes: Mapping[str, tuple[int, str]] | None = None,
                   source: str = "", headings: Mapping[str, str] | None = None) -> list[SectionView]:
    """Group the registry by section, in the notes' order, and build each section's view.

    ``proofs`` holds formulas already proven (by key); the others are proven here. ``quotes`` gives,
    by record, the line of the notes and the maths written there (from the audit). ``headings`` gives
    the notes' own title of each section (``reports.headings``); a section they lack keeps the records' title.
    """
    titles = section_titles()
    numbers = sorted({f.section for f in reg.formulas} | {e.section for e in reg.examples}, key=section_key)
    examples = {e.key: _example_view(e, checks) for e in reg.examples}
    sections = []
    for number in numbers:
        if not re.fullmatch(r"\d+(\.\d+)*", number):
            raise ReportError(f"section number {number!r} in derive/ is not of the form 1.2; fix the records")
        progress(f"deriving section {number}")
        views = []
        for formula in (f for f in reg.formulas if f.section == number):
            names = {k.name for k in formula.kernels}
            uses = [ExampleUse(e.title, examples[e.key].label, ", ".join(sorted(names & set(e.kernels_used))),
                               _example_verdict(examples[e.key]))
                    for e in reg.examples if names & set(e.kernels_used)]
            figs = [_figure_view(s) for s in FIGURES if s.formula == formula.key]
            views.append(_formula_view(formula, gen, uses, figs, kernel_checks, (proofs or {}).get(formula.key),
                                       quotes, source))
        sections.append(SectionView(
            number=number, title=section_title(number, headings or {}, titles.get(number, f"Section {number}")),
            filename=Tex(f"section-{number}.tex"),
            label=label(f"section:{number}"), formulas=merge_related(views),
            examples=tuple(examples[e.key] for e in reg.examples if e.section == number),
            figures=tuple(_figure_view(s) for s in FIGURES if s.section == number and not s.formula),
        ))
    return sections


def _finding_view(finding: Any, source: str = "") -> FindingView:
    """An audit finding with every notes-derived field escaped (breakable inside table cells)."""
    def text(v: object) -> Tex:
        if v is None or v == "":
            return MISSING
        if isinstance(v, sp.Basic):
            return Tex(f"${textbook(v)}$")
        return Tex(r"\texttt{" + escape(str(v), breakable=True) + "}")

    line = getattr(finding, "line", None)
    where = MISSING if line is None else texttt(f"{source}:{line}" if source else f"line {line}")
    return FindingView(
        line=MISSING if line is None else str(line), where=where, severity=str(getattr(finding, "severity", "")),
        claim=str(getattr(finding, "claim", "")), message=escape(str(getattr(finding, "message", "")), breakable=True),
        stated=text(getattr(finding, "stated", None)), expected=text(getattr(finding, "expected", None)),
    )


def build_errata(notes: Path | None, findings: Iterable[Any] | None) -> Errata:
    """The errata section: the given findings, else an audit of ``notes``, else 'no audit run'.

    The table lists the findings that are not ``info`` (errors and warnings); the counts cover all.
    """
    source = "" if notes is None else Path(notes).name
    if findings is None and notes is not None:
        found = audit_findings(Path(notes))
        if found is None:
            return Errata("no audit module", source, ())
        findings = found
    if findings is None:
        return Errata("no audit run", "", ())
    every = list(findings)
    shown = tuple(_finding_view(f, source) for f in every if str(getattr(f, "severity", "")) != "info")
    counts = Counter(str(getattr(f, "verdict", getattr(f, "severity", ""))) for f in every)
    lines = _notes_lines(notes)
    entries = errata_entries(lines, every) if lines else ()
    return Errata("audited", source, shown, tuple(sorted(counts.items())), len(every), entries, quotes_of(every))


def _notes_lines(notes: Path | None) -> list[str]:
    """The lines of the notes file, or none when there is no readable file."""
    if notes is None:
        return []
    try:
        return Path(notes).read_text(encoding="utf-8").lstrip("\ufeff").split("\n")
    except (OSError, UnicodeDecodeError):
        return []


def quotes_of(findings: Iterable[Any]) -> dict[str, tuple[int, str]]:
    """By record: the line of the notes that states it and the maths written there (first finding wins)."""
    known = {f.key for f in registry().formulas}
    out: dict[str, tuple[int, str]] = {}
    for f in findings:
        claim, line, stated = str(getattr(f, "claim", "")), getattr(f, "line", None), getattr(f, "stated", None)
        if str(getattr(f, "kind", "")) == "code" and isinstance(stated, str):
            stated = CODE_MARK + stated
        if str(getattr(f, "kind", "")) == "prose" and isinstance(stated, str):
            stated = WORDS_MARK + stated
        if claim in known and isinstance(line, int) and isinstance(stated, str) and stated and claim not in out:
            out[claim] = (line, stated)
    return out


def notes_identity(notes: Path | None) -> tuple[str, str]:
    """The notes file's name and SHA-256 (empty strings when there is none)."""
    if notes is None:
        return "", ""
    try:
        data = Path(notes).read_bytes()
    except OSError:
        return Path(notes).name, ""
    return Path(notes).name, hashlib.sha256(data).hexdigest()


# --- the appendix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckLine:
    """One line of the appendix's list of checks: a formula, what was compared, how, and the outcome."""

    key: str
    what: Tex
    method: str
    verdict: str
    passed: bool
    failures: tuple[str, ...] = ()


def _kernel_summary(f: FormulaView) -> tuple[str, bool]:
    """The kernels' checks of one formula in a few words, and whether all of them passed."""
    parts, ok = [], True
    for k in f.kernels:
        verdicts = [c.verdict for c in k.checks] + ([k.proof.verdict] if k.proof else [])
        verdicts = [v if v != "refuted" or f.expect != "differ" else "proven" for v in verdicts]
        ok = ok and all(v in {"passed", "proven", "agrees"} for v in verdicts)
        kinds = sorted({"NumPy = JAX" if "values" in c.what else "autodiff and central differences"
                        for c in k.checks})
        parts.append(f"{k.name}: " + (", ".join(kinds) if kinds else "proof only"))
    return "; ".join(parts), ok


def check_lines(formulas: Sequence[FormulaView]) -> tuple[CheckLine, ...]:
    """One line per formula (merged records included) for the appendix: the comparison with the notes, then kernels."""
    out = []
    for top in formulas:
        for f in top.merged or (top,):
            good = (f.proof.verdict in {"proven", "agrees"} or (f.expect == "differ" and f.proof.verdict == "refuted")
                    or (f.stated is None and f.proof.verdict == "unknown"))
            kernels, k_ok = _kernel_summary(f)
            what = Tex("derived form against the notes' form" if f.stated is not None else "derivation only")
            method = f.proof.method + (f"; kernels {kernels}" if kernels else "")
            failures = tuple(f"{k.name}, {c.what}: {x}" for k in f.kernels for c in k.checks for x in c.failures)
            out.append(CheckLine(f.key, what, method, f.proof.verdict, good and k_ok and not failures, failures))
    return tuple(out)


def benchmark_rows(path: Path = BENCHMARKS) -> tuple[tuple[str, ...], ...]:
    """The header and rows of the first table of ``docs/BENCHMARKS.md`` (its first ``BENCH_COLUMNS`` columns)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ()
    rows: list[tuple[str, ...]] = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = tuple(c.strip() for c in line.strip().strip("|").split("|"))
            if set("".join(cells)) <= set("-: "):
                continue
            rows.append(cells[:BENCH_COLUMNS])
        elif rows:
            break
    return tuple(rows)


def _version() -> str:
    """chainrule's version, from the installed distribution (the command line's package is a layer above)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chainrule")
    except PackageNotFoundError:
        return "unknown"


# --- rendering --------------------------------------------------------------------------------


@cache
def environment() -> jinja2.Environment:
    """Jinja with LaTeX-safe delimiters (``\\BLOCK{}``, ``\\VAR{}``, ``\\#{}``) that escapes by default."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
        undefined=jinja2.StrictUndefined, finalize=finalize,
    )
    env.filters["tt"] = texttt
    env.filters["brk"] = lambda text: escape(str(text), breakable=True)
    env.filters["prose"] = lambda text: prose_tex(str(text))
    return env


def worker_tasks(figures: bool = False) -> dict[str, Callable[[], Any]]:
    """What the report hands to worker processes: code generation, the numeric checks (and the figures)."""
    tasks: dict[str, Callable[[], Any]] = {"codegen": generated, "numeric": numeric_checks}
    if figures:
        tasks["figures"] = figure_files
    return tasks


def render_report(notes: Path | None = None, *, findings: Iterable[Any] | None = None,
                  progress: Callable[[str], None] | None = None, parallel: bool | None = None,
                  pending: Pending | None = None) -> dict[str, str]:
    """Every .tex file of the report (relative name -> content); deterministic, writes nothing.

    With ``parallel``, code generation (kernel proofs and listings) and the numeric checks (worked
    examples, kernels at fixed points) run in two worker processes while this one audits the notes
    and derives and proves every formula; with False, all of it runs here; None (the default)
    decides by the idle cores (``reports.checks.use_workers``). The output is the same either way.
    ``pending`` gives tasks already started by the caller (``worker_tasks``); the caller closes it.
    """
    say = progress or (lambda _msg: None)
    own = pending is None
    work = Pending(worker_tasks(), use_workers(parallel)) if pending is None else pending
    try:
        reg = registry()
        say("collecting the errata")
        errata = build_errata(notes, findings)
        say("deriving and proving every formula")
        proofs = {f.key: prove(f) for f in reg.formulas}
        say("proving and printing the kernels (chainrule.codegen)")
        gen: Generated | None = work.result("codegen")
        say("recomputing the worked examples and checking the kernels")
        numeric: Numeric = work.result("numeric")
    finally:
        if own:
            work.close(wait=False)
    checks = numeric.examples
    source, sha = notes_identity(notes)
    sections = build_sections(reg, gen, checks, say, numeric.kernels, proofs, errata.quotes, source,
                              notes_headings(notes))
    env = environment()
    formulas = [f for s in sections for f in s.formulas]
    counts = Counter(f.proof.verdict for f in formulas)
    context = {
        "sections": sections, "errata": errata, "formulas": formulas, "preamble": Tex(PREAMBLE),
        "errata_file": Tex(ERRATA),
        "counts": [(v, counts.get(v, 0)) for v in VERDICTS], "codegen": gen is not None,
        "checked": checks is not None, "examples": [e for s in sections for e in s.examples],
        "kernels_checked": numeric.kernels is not None,
        "abbreviated": any(f.abbreviated for f in formulas),
        "appendix_file": Tex(APPENDIX), "notes_name": source, "notes_sha": sha, "version": _version(),
        "check_lines": check_lines(formulas), "benchmarks": benchmark_rows(),
    }
    say("rendering LaTeX")
    files = {
        PREAMBLE: env.get_template("preamble.tex.j2").render(context),
        MAIN: env.get_template("chainrule.tex.j2").render(context),
        ERRATA: env.get_template("errata.tex.j2").render(context),
        APPENDIX: env.get_template("appendix.tex.j2").render(context),
    }
    template = env.get_template("section.tex.j2")
    for section in sections:
        files[section.filename] = template.render(context, section=section)
    return dict(sorted(files.items()))


# --- writing ----------------------------------------------------------------------------------


def _write_atomically(out_dir: Path, files: Mapping[str, str | bytes], stale: Iterable[Path] = ()) -> list[Path]:
    """Write every file into a temporary folder beside ``out_dir``, then move each into place."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix=".report-", dir=out_dir) as tmp:
        staged = []
        for name, content in files.items():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", newline="\n")
            staged.append((path, out_dir / name))
        for src, dst in staged:
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
            written.append(dst)
    for path in stale:
        path.unlink(missing_ok=True)
    return written


def check_out_dir(out_dir: Path) -> None:
    """Refuse (OutDirError, one line) an output folder that is ``/``, a file, or not writable; create nothing."""
    resolved = Path(os.path.abspath(out_dir))
    if resolved == Path(resolved.anchor):
        raise OutDirError(f"--out {out_dir}: refusing to write the report into the root folder; pass a folder "
                          "of its own, such as reports/out")
    if resolved.exists() and not resolved.is_dir():
        raise OutDirError(f"--out {out_dir} is a file, not a folder; pass a folder (it is created if missing)")
    probe = resolved
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutDirError(f"--out {out_dir}: {probe} is a file, so the folder cannot be created; pass another path")
    try:
        fd, name = tempfile.mkstemp(prefix=".chainrule-probe-", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as e:
        raise OutDirError(f"--out {out_dir}: cannot write in {probe} ({e.strerror}); pass a folder you can "
                          "write to") from e


def owned(out_dir: Path) -> set[str]:
    """The files an earlier build listed in ``out_dir``'s manifest (relative names inside the folder only)."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return set()
    names = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        name = line.strip()
        parts = Path(name).parts
        if name and not name.startswith("#") and not Path(name).is_absolute() and ".." not in parts \
                and name != MANIFEST:
            names.add(Path(name).as_posix())
    return names


def write_manifest(out_dir: Path, names: Iterable[str]) -> Path:
    """List the files this build owns in ``out_dir`` (sorted, one per line), atomically."""
    path = out_dir / MANIFEST
    partial = out_dir / f".{MANIFEST}.partial"
    partial.write_text(MANIFEST_HEAD + "".join(f"{n}\n" for n in sorted(set(names))), encoding="utf-8", newline="\n")
    os.replace(partial, path)
    return path


def _stale(out_dir: Path, keep: Iterable[str]) -> list[Path]:
    """Files an earlier build listed in the manifest that this build no longer writes (never anything else)."""
    keep = set(keep)
    return sorted(out_dir / name for name in owned(out_dir) - keep
                  if (out_dir / name).is_file() and not (out_dir / name).is_symlink())


def compile_pdf(out_dir: Path, files: Mapping[str, str | bytes], progress: Callable[[str], None]) -> Path:
    """Run latexmk (no shell escape) in a temporary folder and copy the PDF into ``out_dir``."""
    with tempfile.TemporaryDirectory(prefix="chainrule-tex-") as tmp:
        work = Path(tmp)
        for name, content in files.items():
            path = work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", newline="\n")
        progress("compiling the PDF with latexmk")
        env = {**os.environ, "openout_any": "p", "shell_escape": "f", "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
               "FORCE_SOURCE_DATE": "1"}
        try:
            run = subprocess.run([*LATEXMK, MAIN], cwd=work, env=env, capture_output=True, text=True,
                                 timeout=LATEX_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as e:
            raise ReportError(f"latexmk ran over {LATEX_TIMEOUT_S} s on {out_dir / MAIN}; the .tex files are "
                              "written, compile them by hand to see where it stalls") from e
        log = work / MAIN.replace(".tex", ".log")
        pdf = work / MAIN.replace(".tex", ".pdf")
        if run.returncode != 0 or not pdf.is_file():
            kept = out_dir / log.name
            if log.is_file():
                shutil.copyfile(log, kept)
            text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else run.stdout + run.stderr
            first = next((ln for ln in text.splitlines() if ln.startswith("!")), "no error line in the log")
            raise ReportError(f"latexmk failed on {out_dir / MAIN}: {first} (full log: {kept}); the .tex files "
                              "are written")
        if log.name in owned(out_dir):
            (out_dir / log.name).unlink(missing_ok=True)  # a failed build's log, now out of date
        target = out_dir / pdf.name
        partial = out_dir / f".{pdf.name}.partial"
        shutil.copyfile(pdf, partial)
        os.replace(partial, target)
        return target


def build_report(out_dir: Path = Path("reports/out"), *, pdf: bool = True, notes: Path | None = None,
                 progress: Callable[[str], None] | None = None,
                 findings: Iterable[Any] | None = None, parallel: bool | None = None) -> ReportResult:
    """Write the report's .tex files and figures into ``out_dir``, then the PDF when latexmk is present.

    With worker processes (``parallel``, as in ``render_report``), they generate the code, run the
    numeric checks and draw the figures while this one derives.
    """
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    workers = use_workers(parallel)
    pending = Pending(worker_tasks(figures=True)) if workers else None
    try:
        tex = render_report(notes, findings=findings, progress=say, parallel=workers, pending=pending)
        say("drawing the figures")
        figures = pending.result("figures") if pending is not None else render_figures(registry())
    finally:
        if pending is not None:
            pending.close(wait=False)
    files: dict[str, str | bytes] = {**tex, **figures}
    # the PDF and a failed build's log stay listed: they are ours, and replaced or removed by the next build
    pdf_names = {MAIN.replace(".tex", ".pdf"), MAIN.replace(".tex", ".log")}
    ours = set(files) | (owned(out_dir) & pdf_names)
    written = _write_atomically(out_dir, files, _stale(out_dir, set(files) | pdf_names))
    write_manifest(out_dir, ours)
    tex_paths = [p for p in written if p.suffix == ".tex"]
    if not pdf:
        return ReportResult(tex_paths, None, "wrote the .tex (PDF not requested)")
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        return ReportResult(tex_paths, None, f"{' and '.join(missing)} not found: wrote the .tex; install TeX "
                                             f"with `{INSTALL_TEX}` to build the PDF")
    write_manifest(out_dir, ours | pdf_names)  # listed before latexmk writes either, so a crash leaves them ours
    target = compile_pdf(out_dir, files, say)
    write_manifest(out_dir, ours | {p for p in pdf_names if (out_dir / p).is_file()})
    return ReportResult(tex_paths, target, "compiled the PDF with latexmk (shell escape off)")
