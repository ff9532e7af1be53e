"""`chainrule report`: the LaTeX derivation report (and its PDF) as a view of the registry.

Everything in the report is read from ``derive.core.registry()`` and the stages after it: each
formula's definition, derivation steps, the notes' stated form with the verdict of
``derive.proof.prove``, its generated NumPy/JAX kernels (``chainrule.codegen.render_all``), the
worked examples recomputed by ``verify.examples.check_examples`` and the errata found by
``verify.audit.audit_file``. Stages that are not installed yet are skipped with a line saying so.

``render_report`` is pure and returns the .tex files; ``build_report`` writes them (and the
figures) atomically, then compiles the PDF with latexmk, without shell escape, in a temporary
folder.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import sympy as sp

from chainrule.errors import ChainruleError
from derive.core import SECTIONS, Example, Formula, Kernel, Registry, registry
from derive.proof import Proof, prove
from reports.latex import Tex, escape, finalize, label, listing_body, math, texttt
from reports.plots import FIGURES, FigureSpec, render_figures

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAIN = "chainrule.tex"
PREAMBLE = "preamble.tex"
ERRATA = "errata.tex"
BACKENDS: Mapping[str, str] = {"numpy": "NumPy", "jax": "JAX"}
VERDICTS = ("proven", "agrees", "refuted", "unknown")
LATEXMK = ("latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape")
INSTALL_TEX = "apt-get install latexmk texlive-latex-recommended texlive-latex-extra"
LATEX_TIMEOUT_S = 300
MISSING = Tex(r"\textemdash{}")
EXACT_CHARS = 90  # longer exact values are not typeset in the worked-example tables (the 10-digit value is)


class ReportError(ChainruleError):
    """The report could not be written or compiled."""


@dataclass(frozen=True)
class ReportResult:
    """What ``build_report`` wrote: the .tex files, the PDF (or None) and a line for the user."""

    tex: list[Path]
    pdf: Path | None
    message: str


@dataclass(frozen=True)
class StepView:
    """One derivation step as the template shows it."""

    rule: str
    expr: Tex


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


@dataclass(frozen=True)
class FigureView:
    """A figure placed in a section."""

    path: Tex
    caption: str
    label: Tex


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


@dataclass(frozen=True)
class SectionView:
    """One section of the notes: its formulas, worked examples and section-level figures."""

    number: str
    title: str
    filename: Tex
    label: Tex
    formulas: tuple[FormulaView, ...]
    examples: tuple[ExampleView, ...]
    figures: tuple[FigureView, ...]


@dataclass(frozen=True)
class FindingView:
    """One audit finding, every field escaped (it quotes the notes)."""

    line: str
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


# --- the stages after derive/ (optional while they are being written) -------------------------


def _optional(module: str) -> ModuleType | None:
    """Import ``module``, or None when that module itself does not exist yet."""
    try:
        return import_module(module)
    except ModuleNotFoundError as e:
        if e.name in {module, module.rpartition(".")[0]}:
            return None
        raise


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
    modules: Mapping[str, str] = codegen.render_all()
    sources: dict[str, dict[str, str]] = {}
    for filename, source in sorted(modules.items()):
        backend = next((b for b in BACKENDS if b in Path(filename).name.lower()), None)
        if backend is not None:
            sources.setdefault(backend, {}).update(function_sources(source, where=filename))
    proofs = dict(codegen.prove_kernels()) if hasattr(codegen, "prove_kernels") else {}
    return Generated(sources, proofs)


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


def example_checks() -> list[Any] | None:
    """``verify.examples.check_examples()``, or None while that stage is absent."""
    examples = _optional("verify.examples")
    return None if examples is None else list(examples.check_examples())


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


def _kernel_view(kernel: Kernel, gen: Generated | None) -> KernelView:
    """A kernel with the generated source of each backend that has it, and its proof."""
    listings = []
    for backend, label_ in BACKENDS.items():
        code = gen.sources.get(backend, {}).get(kernel.name) if gen else None
        if code is not None:
            listings.append(Listing(label_, kernel.name, listing_body(code)))
    wrt = math(sp.Symbol(kernel.grad_wrt)) if kernel.grad_wrt else Tex("")
    proof = gen.proofs.get(kernel.name) if gen else None
    return KernelView(kernel.name, kernel.grad_of, wrt, kernel.rewrite, kernel.shape, tuple(listings), proof)


def _definition(formula: Formula) -> Tex:
    """The definition's LaTeX; a placeholder symbol gives way to the first 'definition' step."""
    d = formula.definition
    if isinstance(d, sp.Symbol) and not d.name.isidentifier():
        steps = formula.derive().steps
        if steps and steps[0].rule.startswith("definition"):
            return math(steps[0].expr)
        return Tex(r"\text{" + escape(d.name) + "}")
    return math(d)


def _formula_view(formula: Formula, gen: Generated | None,
                  uses: Sequence[ExampleUse], figures: Sequence[FigureView]) -> FormulaView:
    """Derive and prove one formula and collect what the template shows for it."""
    derivation = formula.derive()
    loc = formula.locator
    return FormulaView(
        key=formula.key, label=label(f"formula:{formula.key}"), title=formula.title,
        assumptions=formula.assumptions, definition=_definition(formula),
        steps=tuple(StepView(s.rule, math(s.expr)) for s in derivation.steps),
        stated=None if formula.stated is None else math(formula.stated), derived=math(derivation.result),
        proof=prove(formula), expect=formula.expect, comment=formula.comment,
        locator="" if loc is None else f"section {loc.section}, {loc.kind}",
        kernels=tuple(_kernel_view(k, gen) for k in formula.kernels),
        examples=tuple(uses), figures=tuple(figures), codegen=gen is not None,
    )


def _value(x: object, places: int) -> str:
    """A backend's number with ``places`` decimals (few enough to be the same on every machine)."""
    if x is None:
        return MISSING
    try:
        return f"{float(x):.{places}f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)


def _short(tex: Tex, limit: int = EXACT_CHARS) -> Tex:
    """``tex`` in math mode when it is short enough to read in a table cell, else a note saying so."""
    return Tex(f"${tex}$") if len(tex) <= limit else Tex(r"\emph{(long expression)}")


def _example_view(example: Example, checks: list[Any] | None) -> ExampleView:
    """A worked example's table: stated, exact and (when verified) each backend's value and verdict."""
    rows = []
    for q in example.quantities:
        check = next((c for c in checks or () if str(getattr(c, "example", "")) in {example.key, example.title}
                      and str(getattr(c, "quantity", "")) == q.name), None)
        places = int(getattr(check, "decimals", 0) or 0) + 3
        rows.append(QuantityRow(
            name=Tex(q.latex), stated=q.stated if q.stated is not None else MISSING, exact=_short(math(q.expr)),
            decimal=str(sp.N(q.expr, 10)),
            numpy=_value(getattr(check, "numpy", None), places) if check else MISSING,
            jax=_value(getattr(check, "jax", None), places) if check else MISSING,
            verdict=str(check.verdict) if check else MISSING,
        ))
    return ExampleView(
        key=example.key, label=label(f"example:{example.key}"), title=example.title,
        inputs=tuple((math(sp.Symbol(name)), math(v)) for name, v in example.inputs.items()),
        kernels=", ".join(example.kernels_used), rows=tuple(rows), checked=checks is not None,
    )


def _example_verdict(view: ExampleView) -> str:
    """One word for a whole example: the worst of its quantities' verdicts."""
    verdicts = {r.verdict for r in view.rows}
    if not view.checked or verdicts == {MISSING}:
        return "not recomputed"
    good = {"correct", "proven", "agrees"}
    bad = sorted(verdicts - good)
    return bad[0] if bad else "correct"


def _figure_view(spec: FigureSpec) -> FigureView:
    """A figure's template data."""
    return FigureView(Tex(spec.path), spec.caption, label(f"figure:{spec.name}"))


def build_sections(reg: Registry, gen: Generated | None,
                   checks: list[Any] | None, progress: Callable[[str], None]) -> list[SectionView]:
    """Group the registry by section, in the notes' order, and build each section's view."""
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
            views.append(_formula_view(formula, gen, uses, figs))
        sections.append(SectionView(
            number=number, title=titles.get(number, f"Section {number}"), filename=Tex(f"section-{number}.tex"),
            label=label(f"section:{number}"), formulas=tuple(views),
            examples=tuple(examples[e.key] for e in reg.examples if e.section == number),
            figures=tuple(_figure_view(s) for s in FIGURES if s.section == number and not s.formula),
        ))
    return sections


def _finding_view(finding: Any) -> FindingView:
    """An audit finding with every notes-derived field escaped (breakable inside table cells)."""
    def text(v: object) -> Tex:
        if v is None or v == "":
            return MISSING
        if isinstance(v, sp.Basic):
            return Tex(f"${math(v)}$")
        return Tex(r"\texttt{" + escape(str(v), breakable=True) + "}")

    line = getattr(finding, "line", None)
    return FindingView(
        line=MISSING if line is None else str(line), severity=str(getattr(finding, "severity", "")),
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
    shown = tuple(_finding_view(f) for f in every if str(getattr(f, "severity", "")) != "info")
    counts = Counter(str(getattr(f, "verdict", getattr(f, "severity", ""))) for f in every)
    return Errata("audited", source, shown, tuple(sorted(counts.items())), len(every))


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
    return env


def render_report(notes: Path | None = None, *, findings: Iterable[Any] | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, str]:
    """Every .tex file of the report (relative name -> content); deterministic, writes nothing."""
    say = progress or (lambda _msg: None)
    reg = registry()
    say("proving and printing the kernels (chainrule.codegen)")
    gen = generated()
    say("recomputing the worked examples")
    checks = example_checks()
    sections = build_sections(reg, gen, checks, say)
    say("collecting the errata")
    errata = build_errata(notes, findings)
    env = environment()
    formulas = [f for s in sections for f in s.formulas]
    counts = Counter(f.proof.verdict for f in formulas)
    context = {
        "sections": sections, "errata": errata, "formulas": formulas, "preamble": Tex(PREAMBLE),
        "errata_file": Tex(ERRATA),
        "counts": [(v, counts.get(v, 0)) for v in VERDICTS], "codegen": gen is not None,
        "checked": checks is not None, "examples": [e for s in sections for e in s.examples],
    }
    say("rendering LaTeX")
    files = {
        PREAMBLE: env.get_template("preamble.tex.j2").render(context),
        MAIN: env.get_template("chainrule.tex.j2").render(context),
        ERRATA: env.get_template("errata.tex.j2").render(context),
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


def _stale(out_dir: Path, keep: Iterable[str]) -> list[Path]:
    """Generated files of an earlier build that this build no longer produces."""
    keep = set(keep)
    old = [*out_dir.glob("section-*.tex"), *out_dir.glob("figures/*.pdf")]
    return sorted(p for p in old if p.relative_to(out_dir).as_posix() not in keep)


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
        env = {**os.environ, "openout_any": "p", "shell_escape": "f"}
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
        (out_dir / log.name).unlink(missing_ok=True)  # a failed build's log, now out of date
        target = out_dir / pdf.name
        partial = out_dir / f".{pdf.name}.partial"
        shutil.copyfile(pdf, partial)
        os.replace(partial, target)
        return target


def build_report(out_dir: Path = Path("reports/out"), *, pdf: bool = True, notes: Path | None = None,
                 progress: Callable[[str], None] | None = None,
                 findings: Iterable[Any] | None = None) -> ReportResult:
    """Write the report's .tex files and figures into ``out_dir``, then the PDF when latexmk is present."""
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir)
    tex = render_report(notes, findings=findings, progress=say)
    say("drawing the figures")
    figures = render_figures(registry())
    files: dict[str, str | bytes] = {**tex, **figures}
    written = _write_atomically(out_dir, files, _stale(out_dir, files))
    tex_paths = [p for p in written if p.suffix == ".tex"]
    if not pdf:
        return ReportResult(tex_paths, None, "wrote the .tex (PDF not requested)")
    missing = [tool for tool in ("latexmk", "pdflatex") if shutil.which(tool) is None]
    if missing:
        return ReportResult(tex_paths, None, f"{' and '.join(missing)} not found: wrote the .tex; install TeX "
                                             f"with `{INSTALL_TEX}` to build the PDF")
    target = compile_pdf(out_dir, files, say)
    return ReportResult(tex_paths, target, "compiled the PDF with latexmk (shell escape off)")
