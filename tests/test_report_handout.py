"""The report as a handout: textbook notation, typeset captions, quoted notes, errata that say what to write,
an appendix, and a PDF whose body reads as mathematics and is the same bytes every time."""

from __future__ import annotations

import hashlib
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from derive.core import registry
from reports.build import APPENDIX, ERRATA, MAIN, build_errata, compile_pdf, merge_related
from reports.chain import chain, typeset
from reports.errata import build_errata as errata_entries
from reports.printer import REWRITES, TextbookPrinter, bold, textbook
from reports.prose import prose_tex
from reports.quote import quoted, safe_math, typeset_line

REPO = Path(__file__).resolve().parents[1]
NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"
COMMITTED = REPO / "reports" / "out"
HAS_TEX = all(shutil.which(tool) for tool in ("latexmk", "pdflatex", "pdftotext", "pdfinfo"))
needs_tex = pytest.mark.skipif(not HAS_TEX, reason="latexmk, pdflatex, pdftotext or pdfinfo not installed "
                               "(apt-get install latexmk texlive-latex-recommended texlive-latex-extra poppler-utils)")
BODY_PAGES = 45
FORBIDDEN = ("**", "sqrt(", "exp(", "log(", "Piecewise", "KroneckerDelta", " oo", "<=", ">=", "!=", "^{", "_{",
             "sigma'", "(True", "more terms")

z, y, t, k, beta = sp.symbols("z y t k beta", real=True)
s = sp.Function("sigma")


# --- the textbook printer -----------------------------------------------------------------------


def test_the_sigmoid_slope_prints_as_sigma_times_one_minus_sigma():
    assert textbook(-(s(z) - 1) * s(z)) == r"\sigma \left(1 - \sigma\right)"


def test_a_sum_prints_its_positive_terms_first():
    assert textbook(-y + s(z)) == r"\sigma - y"


def test_a_geometric_exponent_reads_t_minus_k():
    assert textbook(beta ** (-k + t)) == r"\beta^{t - k}"


def test_a_minus_sign_moves_into_a_denominator_that_subtracts_one():
    m = sp.Symbol("m_t")
    assert textbook(-m / (beta**t - 1)) == r"\frac{m_{t}}{1 - \beta^{t}}"


def test_a_weight_entry_reads_w_ell_kj():
    W = sp.IndexedBase("W^{(l)}")
    assert textbook(W[k, sp.Symbol("j")]) == r"W^{(\ell)}_{kj}"


def test_vectors_and_matrices_are_bold():
    assert textbook(sp.MatrixSymbol("z^{(l)}", 3, 1)) == r"\mathbf{z}^{(\ell)}"
    assert bold(r"\delta^{(l)}") == r"\boldsymbol{\delta}^{(l)}"


def test_a_one_by_one_matrix_prints_as_its_entry():
    assert textbook(sp.Matrix([[sp.Symbol("b")]])) == "b"
    assert textbook(sp.MatrixSymbol(r"\delta^{(2)}", 1, 1)) == r"\delta^{(2)}"


def test_a_formula_written_unevaluated_prints_in_the_order_written():
    w, x, b, eta, g = sp.symbols("w x b eta g")
    with sp.evaluate(False):
        neuron, step = w * x + b, w - eta * g
    written = TextbookPrinter({"order": "none"})
    assert written.doprint(neuron) == "w x + b" and textbook(neuron) == "b + w x"
    assert written.doprint(step) == r"w - \eta g"
    assert written.doprint(sp.Add(b, sp.Add(w * x, x, evaluate=False), evaluate=False)) == "b + w x + x"


@pytest.mark.parametrize("rule", REWRITES, ids=lambda r: r.name)
def test_every_rewrite_keeps_the_value(rule):
    rng = random.Random(0)
    for expr in (-(z - 1) * z, -y / (beta**t - 1), -(1 - y) * sp.log(z), 3 * (2 - z) * (z - 5)):
        new = rule(expr)
        point = {x: sp.Rational(rng.randint(2, 40), 7) for x in expr.free_symbols}
        assert sp.simplify(new.subs(point) - expr.subs(point)) == 0


# --- captions, assumptions and titles -------------------------------------------------------------


@pytest.mark.parametrize(("text", "tex"), [
    ("1 <= j <= m_l", r"$1 \le  j \le  m_\ell$"),
    ("chain rule on (1 + e^{-z})^{-1}", r"chain rule on $(1 + e^{-z})^{-1}$"),
    ("Gradient of L(theta) = theta^2", r"Gradient of $L(\theta) = \theta^2$"),
    ("delta^L = dL/dz^L", r"$\delta^L = dL/dz^L$"),
    ("sum out the Kronecker delta (1 <= j <= n)", r"sum out the Kronecker delta $(1 \le  j \le  n)$"),
])
def test_a_records_ascii_is_typeset_as_latex(text, tex):
    assert prose_tex(text) == tex


def test_prose_around_the_maths_stays_escaped():
    assert prose_tex(r"see \input{x} and 1 <= 2") == r"see \textbackslash{}input\{x\} and $1 \le  2$"


# --- chains -----------------------------------------------------------------------------------------


def test_consecutive_equal_lines_are_joined_by_equals_and_a_derivative_by_an_arrow():
    lines = chain((("definition", 1 / (1 + sp.exp(-z))), ("differentiate", sp.exp(-z) / (1 + sp.exp(-z)) ** 2),
                   ("rewrite", 1 / (1 + sp.exp(-z)) - 1 / (1 + sp.exp(-z)) ** 2)), {"z": (-3.0, 3.0)})
    assert [str(line.relation) for line in lines] == ["", r"\longrightarrow", "="]


def test_an_expression_too_wide_to_print_shows_its_structure():
    tex, whole = typeset(sp.Add(*sp.symbols("x0:80")))
    assert not whole and "a sum of 80 terms" in tex


def test_records_with_one_chain_merge_into_one_entry():
    from derive.core import Registry
    from reports.build import build_sections

    reg = registry()
    keys = ("ce_chain_rule", "ce_chain_jacobian", "ce_chain_cancel", "ce_chain_sum", "ce_chain_labels")
    small = Registry(tuple(reg.formula(key) for key in keys), ())
    (section,) = build_sections(small, None, None, lambda _msg: None)
    assert len(section.formulas) == 1 and [m.key for m in section.formulas[0].merged] == list(keys)
    assert merge_related(section.formulas) == section.formulas


# --- quoting the notes -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [r"\input{/etc/passwd}", r"\write18{rm -rf /}", "^^5cinput", r"a $ b", "x % y",
                                  r"\catcode`\~=0", r"\left( x", r"\begin{verbatim}x\end{verbatim}", r"\def\x{y}"])
def test_notes_maths_with_anything_but_maths_commands_is_not_typeset(text):
    assert safe_math(text) is None
    assert quoted(text).startswith(r"\texttt{")


def test_notes_maths_made_of_maths_commands_is_typeset():
    assert quoted(r"\sigma(z)(1-\sigma(z))") == r"$\sigma(z)(1-\sigma(z))$"


def test_a_markdown_line_is_typeset_segment_by_segment():
    assert typeset_line(r"range $\mathbb{R}$ | GELU") == r"range $\mathbb{R}$ \textbar{} GELU"


# --- errata ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def entries(real_notes_audit):
    """The errata entries of the real notes."""
    return errata_entries(NOTES.read_text(encoding="utf-8").split("\n"), real_notes_audit.findings)


def test_errata_are_sorted_by_severity_then_line_with_one_entry_per_line(entries):
    assert entries, "the notes have known slips"
    order = [({"error": 0, "warning": 1}[e.severity], e.line) for e in entries]
    assert order == sorted(order) and len({e.line for e in entries}) == len(entries)


def test_every_erratum_says_what_to_write_and_why(entries):
    for e in entries:
        assert e.corrected != e.written and e.why.strip(), e


def test_rounding_slips_are_listed_apart_from_the_corrections(real_notes_audit):
    errata = build_errata(NOTES, real_notes_audit.findings)
    assert {e.line for e in errata.rounding} == {251, 263}
    assert {e.line for e in errata.slips} == {88, 269, 326}


def test_every_corrected_line_audits_correct(entries):
    from verify.audit import audit_text

    lines = NOTES.read_text(encoding="utf-8").split("\n")
    for e in entries:
        lines[e.line - 1] = e.corrected
    report = audit_text("\n".join(lines), "corrected.md")
    fixed = {e.line for e in entries}
    left = [(f.line, f.claim, f.verdict, f.message) for f in report.findings
            if f.line in fixed and f.severity != "info"]
    assert not left, f"corrected lines still flagged: {left}"


# --- the PDF ---------------------------------------------------------------------------------------


def _committed_files() -> dict[str, str | bytes]:
    """The committed report: its .tex files and figures."""
    files: dict[str, str | bytes] = {p.name: p.read_text(encoding="utf-8") for p in COMMITTED.glob("*.tex")}
    files.update({f"figures/{p.name}": p.read_bytes() for p in (COMMITTED / "figures").glob("*.pdf")})
    return files


@pytest.fixture(scope="module")
def committed_pdf(tmp_path_factory) -> Path:
    """The PDF compiled from the committed report."""
    if not HAS_TEX:
        pytest.skip("TeX is not installed")
    return compile_pdf(tmp_path_factory.mktemp("pdf"), _committed_files(), lambda _msg: None)


def _pages(pdf: Path) -> list[str]:
    """The text of each page."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")


def _appendix_page(pages: list[str]) -> int:
    """The index of the page the appendix starts on."""
    return next(k for k, page in enumerate(pages) if re.match(r"\s*Appendix\s*$", page.split("\n", 1)[0]))


def test_the_main_document_ends_with_the_errata_then_the_appendix():
    main = (COMMITTED / MAIN).read_text(encoding="utf-8")
    assert main.index(f"\\input{{{ERRATA}}}") < main.index(f"\\input{{{APPENDIX}}}")
    assert "\\section*{Appendix}" in (COMMITTED / APPENDIX).read_text(encoding="utf-8")


def test_the_title_page_names_the_notes_their_sha256_and_the_version():
    main = (COMMITTED / MAIN).read_text(encoding="utf-8")
    digest = hashlib.sha256(NOTES.read_bytes()).hexdigest() if NOTES.is_file() else None
    from chainrule import __version__

    assert f"chainrule}} {__version__}" in main and (digest is None or digest in main)
    assert "\\today" not in main and "\\pdftrailerid{}" in main


@pytest.mark.tex
@needs_tex
def test_the_body_is_at_most_45_pages(committed_pdf):
    body = _appendix_page(_pages(committed_pdf))
    assert body <= BODY_PAGES, f"the body has {body} pages"


@pytest.mark.tex
@needs_tex
def test_the_body_shows_no_code_spellings(committed_pdf):
    pages = _pages(committed_pdf)
    body = "\f".join(pages[:_appendix_page(pages)])
    found = {bad: body.count(bad) for bad in FORBIDDEN if bad in body}
    assert not found, f"code spellings in the body: {found}"


@pytest.mark.tex
@needs_tex
def test_the_pdf_is_byte_identical_run_to_run(committed_pdf, tmp_path):
    again = compile_pdf(tmp_path, _committed_files(), lambda _msg: None)
    assert again.read_bytes() == committed_pdf.read_bytes()


# --- matrix form of BP1-BP4 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "tex"), [
    ("bp1_output_error", r"\nabla_{\mathbf{a}^{(L)}} L \odot \sigma'(\mathbf{z}^{(L)})"),
    ("bp2_hidden_error", r"\left(\mathbf{W}^{(\ell+1)\top} \boldsymbol{\delta}^{(\ell+1)}\right) \odot "
                         r"\sigma'(\mathbf{z}^{(\ell)})"),
    ("bp3_weight_grad", r"\boldsymbol{\delta}^{(\ell)} \mathbf{a}^{(\ell-1)\top}"),
    ("bp4_bias_grad", r"\boldsymbol{\delta}^{(\ell)}"),
])
def test_bp1_to_bp4_end_in_their_matrix_form_proven_equal_to_the_index_form(key, tex):
    from reports.matrix_form import matrix_line

    line = matrix_line(registry().formula(key))
    assert line is not None and line.expr == tex and "(proven)" in line.rule
