"""The LaTeX report: a fresh, deterministic view of the registry that no notes text can subvert."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import reports.build as build
import verify.gradcheck as gradcheck
from derive.core import Kernel, Registry, registry
from reports.build import (
    ERRATA,
    FULL_WIDTH,
    MAIN,
    PREAMBLE,
    build_errata,
    build_report,
    build_sections,
    compile_pdf,
    environment,
    function_sources,
    generated,
    numpy_excerpt,
    render_report,
    section_titles,
)
from reports.checks import KernelCheck, example_checks, fixed_inputs, kernel_checks
from reports.headings import notes_headings, section_title
from reports.latex import Tex, display, escape, finalize, label, listing_body, tex_width
from reports.plots import FIGURES, XorRun, gd_iterates, render_figures, xor_losses
from reports.prose import prose_tex

REPO = Path(__file__).resolve().parents[1]
NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"
NUMPY_KERNELS = REPO / "chainrule" / "kernels" / "numpy_kernels.py"
COMMITTED = REPO / "reports" / "out"
REFRESH = "run `chainrule report --no-pdf --out reports/out --notes ../shared/notes/01_foundations.md`"
HOSTILE = (r"\input{/etc/passwd}", r"\write18{rm -rf /}", r"\immediate\write18{touch PWNED}",
           "^^5cinput{/etc/passwd}", r"\catcode`\~=0 ~input{/etc/passwd}", "$x$ & # % _ ~ { }")
HAS_TEX = all(shutil.which(tool) for tool in ("latexmk", "pdflatex", "pdftotext"))
needs_notes = pytest.mark.skipif(not NOTES.is_file(), reason=f"the committed report is built from the course notes, "
                                 f"not at {NOTES}")
needs_tex = pytest.mark.skipif(not HAS_TEX, reason="latexmk, pdflatex or pdftotext not installed "
                               "(apt-get install latexmk texlive-latex-recommended texlive-latex-extra poppler-utils)")


@dataclass(frozen=True)
class FakeFinding:
    """The fields of verify.audit's findings that the errata section reads."""

    claim: str
    line: int
    severity: str
    message: str
    stated: str
    expected: str


@dataclass(frozen=True)
class FakeCheck:
    """The fields of verify.examples' QuantityCheck that the example tables read."""

    example: str
    quantity: str
    stated: str
    exact: float
    numpy: float
    jax: float
    decimals: int
    verdict: str
    detail: str = ""


@pytest.fixture(scope="module")
def rendered(request: pytest.FixtureRequest) -> dict[str, str]:
    """The report as `chainrule report` writes it: with the audit of the notes when they are present
    (the session's audit of them, the same findings `chainrule report` would compute)."""
    if not NOTES.is_file():
        return render_report(None)
    return render_report(NOTES, findings=request.getfixturevalue("real_notes_audit").findings)


def _plain(tex: str) -> str:
    """Escaped text with its inert spellings removed, so that any TeX special left over is live."""
    return re.sub(r"\\(textbackslash|textasciicircum|textasciitilde|textless|textgreater|textbar|textquotedbl|"
                  r"textasciigrave|textquotesingle|textemdash|allowbreak|dots|texttimes|textperiodcentered|nobreakspace)\{\}"
                  r"|\\[{}$&#_%]|\{[\[\]*]\}|-\{\}|\$\\[a-zA-Z]+\$|\\unknownchar\{[0-9A-F]{4,6}\}"
                  r"|%\n", "", tex)  # "%" + newline: escape()'s inert break of a long source line


# --- escaping ---------------------------------------------------------------------------------


def test_escape_spells_input_as_inert_characters():
    assert escape(r"\input{/etc/passwd}") == r"\textbackslash{}input\{/etc/passwd\}"


def test_escape_spells_write18_as_inert_characters():
    assert escape(r"\write18{rm -rf /}") == r"\textbackslash{}write18\{rm -{}rf /\}"


def test_escape_neutralises_the_double_caret_spelling_of_a_backslash():
    assert escape("^^5c") == r"\textasciicircum{}\textasciicircum{}5c"


@pytest.mark.parametrize("char", list("\\{}$&#^_%~"))
def test_escape_leaves_no_special_character_live(char):
    assert not set(_plain(escape(f"a{char}b"))) & set("\\{}$&#^_%~")


@settings(max_examples=400)
@given(st.text())
def test_escape_of_any_text_leaves_no_special_character_live(text):
    assert not set(_plain(escape(text))) & set("\\{}$&#^_%~\n")


@settings(max_examples=400)
@given(st.text())
def test_breakable_escape_leaves_no_special_character_live(text):
    assert not set(_plain(escape(text, breakable=True))) & set("\\{}$&#^_%~\n")


def test_templates_escape_plain_strings_by_default():
    assert finalize(r"\input{x}") == r"\textbackslash{}input\{x\}"


def test_templates_pass_trusted_latex_through():
    assert finalize(Tex(r"\frac{1}{2}")) == r"\frac{1}{2}"


def test_a_listing_cannot_be_closed_by_the_code_it_shows():
    with pytest.raises(ValueError, match="lstlisting"):
        listing_body("x = 1\n\\end{lstlisting}\n\\input{/etc/passwd}")


def test_findings_quoting_tex_commands_reach_the_errata_escaped():
    findings = [FakeFinding("sigmoid_grad", 7, "error", msg, msg, msg) for msg in HOSTILE]
    errata = environment().get_template("errata.tex.j2").render(errata=build_errata(None, findings))
    for needle in (r"\input{", r"\write18", r"\immediate", "^^5c", r"\catcode"):
        assert needle not in errata


# --- content ----------------------------------------------------------------------------------


def test_every_section_of_the_registry_has_its_own_file(rendered):
    sections = {f.section for f in registry().formulas} | {e.section for e in registry().examples}
    assert {f"section-{s}.tex" for s in sections} <= set(rendered)


def test_the_main_document_inputs_every_section_in_the_notes_order(rendered):
    inputs = re.findall(r"\\input\{section-([0-9.]+)\.tex\}", rendered[MAIN])
    assert inputs == sorted(inputs, key=lambda s: tuple(map(int, s.split(".")))) and len(inputs) >= 3


def test_the_main_document_inputs_the_preamble_and_the_errata(rendered):
    assert rf"\input{{{PREAMBLE}}}" in rendered[MAIN] and rf"\input{{{ERRATA}}}" in rendered[MAIN]


def test_every_section_file_names_its_section_title(rendered):
    headings = notes_headings(NOTES)
    for number, title in section_titles().items():
        shown = section_title(number, headings, title)
        assert rf"\notessection{{{number}}}{{{shown}}}" in rendered[f"section-{number}.tex"]


def test_without_notes_a_section_is_titled_by_its_records():
    assert section_title("1.1", notes_headings(None), section_titles()["1.1"]) == prose_tex(section_titles()["1.1"])


def test_every_formula_appears_in_its_section_with_its_label(rendered):
    for f in registry().formulas:
        assert rf"\label{{{label('formula:' + f.key)}}}" in rendered[f"section-{f.section}.tex"]


def test_every_worked_example_has_a_hand_calculation_line_per_quantity(rendered):
    for e in registry().examples:
        body = rendered[f"section-{e.section}.tex"]
        assert all(f"\n{q.latex} &" in body for q in e.quantities)
        assert all(f"the notes: ${q.stated}$" in body for q in e.quantities if q.stated)


def test_every_figure_is_placed_in_its_section(rendered):
    for spec in FIGURES:
        assert rf"\includegraphics[width=\linewidth]{{{spec.path}}}" in rendered[f"section-{spec.section}.tex"]


def test_every_figure_is_cited_in_its_section(rendered):
    for spec in FIGURES:
        assert rf"Figure~\ref{{figure:{spec.name}}}" in rendered[f"section-{spec.section}.tex"]


def test_every_derivative_kernel_shows_its_three_way_check_in_the_appendix(rendered):
    appendix = rendered["appendix.tex"]
    for f in registry().formulas:
        for k in (k for k in f.kernels if k.grad_of):
            assert escape(f"{k.name}: NumPy = JAX, autodiff and central differences", breakable=True) in appendix


def test_without_notes_the_errata_say_no_audit_ran():
    errata = environment().get_template("errata.tex.j2").render(errata=build_errata(None, None))
    assert "no audit ran" in errata


def test_the_errata_list_errors_and_warnings_but_only_count_the_rest():
    findings = [FakeFinding("gelu_range", 88, "error", "range differs", "R", "[-0.17, oo)"),
                FakeFinding("tanh_grad", 85, "info", "proven", "1-tanh^2", "1 - tanh(z)**2")]
    errata = environment().get_template("errata.tex.j2").render(errata=build_errata(None, findings))
    assert "gelu" in errata and "range differs" in errata and "tanh" not in errata


def test_the_errata_give_file_and_line_and_list_errors_before_warnings():
    findings = [FakeFinding("tanh_grad", 5, "warning", "rounded", "1", "2"),
                FakeFinding("gelu_range", 9, "error", "differs", "3", "4")]
    errata = environment().get_template("errata.tex.j2").render(
        errata=build_errata(Path("/somewhere/notes.md"), findings))
    assert escape("notes.md:9", breakable=True) in errata and escape("notes.md:5", breakable=True) in errata
    assert errata.index("gelu") < errata.index("tanh")


@needs_notes
def test_the_refuted_gelu_range_shows_its_verdict(rendered):
    body = rendered["section-1.2.tex"]
    start = body.index(r"\label{formula:gelu-range}")
    assert r"\verdict{refuted}" in body[start:body.index(r"\formulatitle", start + 1)]


def test_function_sources_cuts_each_function_with_its_decorators():
    source = 'import jax\n\n\n@jax.jit\ndef f(x):\n    """f."""\n    return x\n\n\ndef g(y):\n    return y\n'
    assert function_sources(source) == {"f": '@jax.jit\ndef f(x):\n    """f."""\n    return x',
                                        "g": "def g(y):\n    return y"}


def _fake_stages(monkeypatch) -> None:
    """Stand-ins for chainrule.codegen and verify.examples with recognisable output."""
    code = {"chainrule/kernels/numpy_kernels.py": "def sigmoid(z):\n    return 'numpy-sigmoid'\n",
            "chainrule/kernels/jax_kernels.py": "@jit\ndef sigmoid(z):\n    return 'jax-sigmoid'\n"}
    checks = [FakeCheck("neuron_example", "a", "0.2689", 0.2689414, 0.26894142137, 0.2689414322, 4, "correct",
                        "the rounded intermediates agree")]
    monkeypatch.setitem(sys.modules, "chainrule.codegen",
                        types.SimpleNamespace(render_all=lambda: code, prove_kernels=lambda: []))
    monkeypatch.setitem(sys.modules, "verify.examples", types.SimpleNamespace(check_examples=lambda: checks))


def _render_sections(keys: set[str]) -> dict[str, str]:
    """The section files for a registry cut down to the records named in ``keys``."""
    reg = registry()
    small = Registry(tuple(f for f in reg.formulas if f.key in keys), tuple(e for e in reg.examples if e.key in keys))
    sections = build_sections(small, generated(), example_checks(), lambda _msg: None)
    return _with_appendix(sections)


def _with_appendix(sections: list[Any]) -> dict[str, str]:
    """Each section's file and the appendix (which holds the listings and the checks) rendered from ``sections``."""
    template = environment().get_template("section.tex.j2")
    files = {s.filename: template.render(section=s) for s in sections}
    formulas = [f for s in sections for f in s.formulas]
    context = {"sections": sections, "check_lines": build.check_lines(formulas), "benchmarks": (),
               "codegen": generated() is not None, "examples": [e for s in sections for e in s.examples],
               "errata": build_errata(None, None)}
    files["appendix.tex"] = environment().get_template("appendix.tex.j2").render(context)
    return files


def test_each_backend_listing_is_cut_from_its_generated_module(monkeypatch):
    _fake_stages(monkeypatch)
    body = _render_sections({"sigmoid_grad"})["appendix.tex"]
    assert "def sigmoid(z):\n    return 'numpy-sigmoid'" in body
    assert "@jit\ndef sigmoid(z):\n    return 'jax-sigmoid'" in body


def test_a_numpy_listing_shows_the_plain_expression_and_counts_the_loops_operations():
    source = function_sources(NUMPY_KERNELS.read_text())["sigmoid_grad"]
    excerpt = numpy_excerpt(source).split("\n")
    assert excerpt[:-1] == source.split("\n")[:len(excerpt) - 1]
    assert excerpt[-2] == "        return numpy.asarray(_t0/(_t0 + 1)**2, dtype=dtype)"
    assert excerpt[-1].startswith("    ...  # larger inputs: in blocks of entries, 6 operation(s) with out= per block")
    plain = function_sources(NUMPY_KERNELS.read_text())["dense_forward"]
    assert numpy_excerpt(plain) == plain


def test_worked_example_tables_show_each_backend_value_and_verdict(monkeypatch):
    _fake_stages(monkeypatch)
    body = _render_sections({"neuron_example"})["appendix.tex"]
    assert "& 0.2689414 & 0.2689414 & correct" in body


def test_worked_example_tables_are_followed_by_the_reasons_for_their_verdicts(monkeypatch):
    _fake_stages(monkeypatch)
    body = _render_sections({"neuron_example"})["section-1.1.tex"]
    assert "Notes on the verdicts" in body and "the rounded intermediates agree" in body


def test_a_failed_kernel_check_reads_failed_with_what_failed(monkeypatch):
    _fake_stages(monkeypatch)
    failed = [KernelCheck("sigmoid_grad", "derivative", "float64", 64, ("sigmoid_grad gradient: error 1 > 0",))]
    small = Registry((registry().formula("sigmoid_grad"),), ())
    sections = build_sections(small, generated(), None, lambda _msg: None, failed)
    body = _with_appendix(sections)["appendix.tex"]
    assert r"\verdict{failed}" in body and r"error 1 \textgreater{} 0" in body


def test_without_the_later_stages_the_report_says_what_it_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "chainrule.codegen", None)
    monkeypatch.setitem(sys.modules, "verify.examples", None)
    body = "".join(_render_sections({"sigmoid_grad", "neuron_example"}).values())
    assert "listings skipped" in body and "backend columns left empty" in body


# --- abbreviating wide expressions -------------------------------------------------------------

TERMS = sp.symbols("x0:40")


def test_an_expression_that_fits_is_printed_whole():
    expr = sp.exp(-TERMS[0] ** 2) / (1 + TERMS[1])
    assert display(expr, FULL_WIDTH) == (sp.latex(expr), False)


def test_a_long_sum_keeps_its_leading_terms_and_counts_the_rest():
    tex, abbreviated = display(sp.Add(*(x**2 for x in TERMS)), FULL_WIDTH)
    more = re.search(r"\\text\{(\d+) more terms\}", tex)
    assert abbreviated and more and tex.count("^{2}") + int(more.group(1)) == len(TERMS)


def test_a_large_matrix_shows_its_leading_entries_and_its_shape():
    matrix = sp.Matrix(6, 6, lambda r, c: TERMS[r] * TERMS[c] + TERMS[r + c] ** 2 + sp.sin(TERMS[r + 2 * c]))
    tex, abbreviated = display(matrix, FULL_WIDTH)
    assert abbreviated and r"\vdots" in tex and r"6 \times 6" in tex


def test_a_fraction_is_as_wide_as_its_wider_part():
    assert tex_width(r"\frac{a + b + c}{d}") == pytest.approx(tex_width("a + b + c"), abs=1.0)


def _widest(count: int) -> list[sp.Basic]:
    """The ``count`` widest expressions of the registry's derivations (by ``tex_width``)."""
    exprs = [s.expr for f in registry().formulas for s in f.derive().steps]
    return sorted(exprs, key=lambda e: -tex_width(sp.latex(e)))[:count]


@pytest.mark.tex
@needs_tex
def test_abbreviated_expressions_fit_the_page_when_typeset(rendered, tmp_path):
    shown = [display(e, FULL_WIDTH)[0] for e in _widest(12)]
    probes = "".join(rf"\settowidth{{\probe}}{{$\displaystyle {t}$}}W=\the\probe\par " for t in shown)
    main = (f"\\documentclass[11pt,a4paper]{{article}}\\input{{{PREAMBLE}}}\\newlength\\probe\\begin{{document}}"
            f"L=\\the\\linewidth\\par {probes}\\end{{document}}\n")
    pdf = compile_pdf(tmp_path, {MAIN: main, PREAMBLE: rendered[PREAMBLE]}, lambda _msg: None)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    line = float(re.search(r"L=([\d.]+)pt", text).group(1))
    widths = [float(w) for w in re.findall(r"W=([\d.]+)pt", text)]
    assert len(widths) == len(shown) and max(widths) <= 1.3 * line  # \fitmath shrinks them by at most a quarter


# --- figures -----------------------------------------------------------------------------------


def test_gd_iterates_at_eta_0_1_are_the_notes_table():
    table = next(e for e in registry().examples if e.key == "gd_table")
    stated = [sp.Rational(q.stated) for q in table.quantities if q.name.startswith("theta_")]
    got = gd_iterates(table.inputs["theta_0"], table.inputs["eta"], len(stated) - 1)
    assert got == stated


def test_gd_iterates_at_eta_1_1_grow_by_the_notes_multiplier():
    ratio = registry().formula("gd_multiplier_divergent").stated  # -1.2, as the notes state it
    assert gd_iterates(sp.Integer(5), sp.Rational(11, 10), 6) == [5 * ratio**t for t in range(7)]


def _listing_losses(run: XorRun) -> np.ndarray:
    """The 1.10 listing's training loop in plain NumPy (its own sigmoid and a*(1-a)): the loss before each epoch."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    out = np.empty((len(run.seeds), run.epochs))
    for row, seed in enumerate(run.seeds):
        rng = np.random.default_rng(seed)
        w1, b1 = rng.normal(0, run.init_std, (2, 2)), np.zeros((1, 2))
        w2, b2 = rng.normal(0, run.init_std, (2, 1)), np.zeros((1, 1))
        for epoch in range(run.epochs):
            a1 = 1 / (1 + np.exp(-(x @ w1 + b1)))
            a2 = 1 / (1 + np.exp(-(a1 @ w2 + b2)))
            out[row, epoch] = np.mean((a2 - y) ** 2)
            dz2 = 2 * (a2 - y) / len(x) * a2 * (1 - a2)
            dz1 = dz2 @ w2.T * a1 * (1 - a1)
            w2, b2 = w2 - run.eta * a1.T @ dz2, b2 - run.eta * dz2.sum(0, keepdims=True)
            w1, b1 = w1 - run.eta * x.T @ dz1, b1 - run.eta * dz1.sum(0, keepdims=True)
    return out


def test_xor_losses_follow_a_plain_transcription_of_the_listing():
    run = XorRun(seeds=(0, 5), epochs=300)
    np.testing.assert_allclose(xor_losses(run), _listing_losses(run), rtol=1e-9)


# --- kernel checks at fixed points --------------------------------------------------------------


def _kernel(name: str) -> Kernel:
    """The registry's kernel called ``name``."""
    return next(k for k in registry().kernels() if k.name == name)


def test_fixed_inputs_are_the_same_every_time_and_inside_the_domain():
    kernel = _kernel("bce_grad_yhat")
    first, second = fixed_inputs(kernel, "float64"), fixed_inputs(kernel, "float64")
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    for arg, x in zip(kernel.args, first, strict=True):
        lo, hi = kernel.domain[arg.name]
        assert lo <= x.min() and x.max() <= hi


def test_a_wrong_derivative_kernel_fails_its_check(monkeypatch):
    real = gradcheck.function

    def doubled(name: str, backend: str):
        fn = real(name, backend)
        return (lambda *args: 2 * np.asarray(fn(*args))) if name == "sigmoid_grad" else fn

    monkeypatch.setattr(gradcheck, "function", doubled)
    (check,) = [c for c in kernel_checks([_kernel("sigmoid_grad")]) if c.check == "derivative"][:1]
    assert not check.passed and "sigmoid_grad" in check.failures[0]


# --- determinism and freshness ----------------------------------------------------------------


@needs_notes
def test_the_committed_report_is_fresh(rendered):
    committed = {p.name: p.read_text(encoding="utf-8") for p in sorted(COMMITTED.glob("*.tex"))}
    names = set(rendered) | set(committed)
    if not NOTES.is_file():
        names.discard(ERRATA)  # the committed errata come from the audit of the notes, absent here
    stale = sorted(name for name in names if rendered.get(name) != committed.get(name))
    assert not stale, f"reports/out is stale ({', '.join(stale)}): {REFRESH}"


def test_the_committed_errata_come_from_the_audit_of_the_notes():
    if not NOTES.is_file():
        pytest.skip(f"notes absent: {NOTES}")
    assert f"The audit of \\texttt{{{escape(NOTES.name, breakable=True)}}}" in (COMMITTED / ERRATA).read_text()


@pytest.mark.slow
def test_a_fresh_process_with_worker_processes_renders_byte_identical_tex(rendered):
    notes = repr(str(NOTES)) if NOTES.is_file() else "None"
    code = ("import json, sys; from pathlib import Path; from reports.build import render_report; "
            f"json.dump(render_report(None if {notes} is None else Path({notes}), parallel=True), sys.stdout)")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == rendered


@pytest.fixture(scope="module")
def figures() -> dict[str, bytes]:
    """The report's figures, drawn once for the module."""
    return render_figures(registry())


@pytest.mark.slow  # draws every figure again (8 s); test_the_committed_figures_are_fresh compares across runs
def test_figures_are_byte_identical_run_to_run(figures):
    assert render_figures(registry()) == figures


def test_the_committed_figures_are_fresh(figures):
    for name, data in figures.items():
        path = COMMITTED / name
        assert path.is_file(), f"{path} is missing: {REFRESH}"
        made_by = re.search(rb"matplotlib ([0-9][^,)\s]*), fontTools ([0-9][^)\s]*)\)", path.read_bytes())
        here = (matplotlib.__version__, importlib.metadata.version("fonttools"))
        if made_by is None or (made_by.group(1).decode(), made_by.group(2).decode()) != here:
            pytest.skip(f"{name} was drawn by another matplotlib or fontTools than {here} (install from "
                        "constraints.txt); bytes differ")
        assert path.read_bytes() == data, f"{path} is stale: {REFRESH}"


# --- writing ----------------------------------------------------------------------------------


def test_a_failed_build_leaves_the_output_folder_untouched(tmp_path, monkeypatch):
    (tmp_path / MAIN).write_text("old", encoding="utf-8")

    def broken(_registry):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(build, "render_report", lambda *_args, **_kw: {MAIN: "new", "section-9.9.tex": "new"})
    monkeypatch.setattr(build, "render_figures", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        build_report(tmp_path, pdf=False, parallel=False)
    assert [p.name for p in tmp_path.iterdir()] == [MAIN] and (tmp_path / MAIN).read_text() == "old"


def test_without_latexmk_the_build_writes_the_tex_and_says_how_to_install_tex(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "render_report", lambda *_args, **_kw: {MAIN: "main", "section-1.1.tex": "s"})
    monkeypatch.setattr(build, "render_figures", lambda _registry: {"figures/f.pdf": b"%PDF"})
    monkeypatch.setattr(build.shutil, "which", lambda _tool: None)
    result = build_report(tmp_path, pdf=True, parallel=False)
    assert result.pdf is None and "apt-get install latexmk" in result.message
    assert {p.name: p.read_text() for p in result.tex} == {MAIN: "main", "section-1.1.tex": "s"}
    assert (tmp_path / "figures" / "f.pdf").read_bytes() == b"%PDF"


def test_a_rebuild_removes_only_the_files_its_manifest_lists_and_it_no_longer_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "render_report", lambda *_args, **_kw: {MAIN: "main", "section-9.9.tex": "s"})
    monkeypatch.setattr(build, "render_figures", lambda _registry: {})
    build_report(tmp_path, pdf=False, parallel=False)
    (tmp_path / "section-8.8.tex").write_text("mine", encoding="utf-8")  # the user's, never listed
    monkeypatch.setattr(build, "render_report", lambda *_args, **_kw: {MAIN: "main"})
    build_report(tmp_path, pdf=False, parallel=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([MAIN, build.MANIFEST, "section-8.8.tex"])
    assert (tmp_path / build.MANIFEST).read_text().splitlines()[-1] == MAIN


@pytest.fixture(scope="module")
def pdf_text(rendered, figures, tmp_path_factory) -> str:
    """The text of the PDF compiled from the rendered report and its figures."""
    out = tmp_path_factory.mktemp("report")
    pdf = compile_pdf(out, {**rendered, **figures}, lambda _msg: None)
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@needs_notes
@pytest.mark.tex
@needs_tex
def test_the_pdf_names_every_section_and_formula(pdf_text):
    flat = " ".join(pdf_text.replace("-\n", "").split())
    titles = [f"{n} " for n in section_titles()] + [f"record {f.key}" for f in registry().formulas]
    missing = [t for t in titles if " ".join(t.split()) not in flat]
    assert not missing, f"not in the PDF: {missing}"


@pytest.mark.tex
@needs_tex
def test_the_pdf_shows_every_figure_and_the_errata(pdf_text):
    flat = " ".join(pdf_text.split())
    missing = [n for n in range(1, len(FIGURES) + 1) if f"Figure {n}:" not in flat]
    assert not missing and "Errata" in flat, f"figures {missing} not in the PDF"


@pytest.mark.tex
@needs_tex
def test_tex_commands_quoted_by_the_notes_are_printed_not_run(tmp_path):
    errata = environment().get_template("errata.tex.j2").render(
        errata=build_errata(None, [FakeFinding("k", 1, "error", h, h, h) for h in HOSTILE]))
    main = "\\documentclass{article}\\input{preamble.tex}\\begin{document}\\input{errata.tex}\\end{document}\n"
    preamble = environment().get_template("preamble.tex.j2").render()
    pdf = compile_pdf(tmp_path, {MAIN: main, PREAMBLE: preamble, ERRATA: errata}, lambda _msg: None)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert r"\input{/etc/passwd}" in flat and r"\write18{rm-rf/}" in flat and "^^5cinput" in flat
    assert "root:" not in text and not list(tmp_path.rglob("PWNED")) and not list(REPO.rglob("PWNED"))


@pytest.mark.tex
@needs_tex
def test_the_pdf_is_compiled_with_shell_escape_off(tmp_path):
    main = "\\documentclass{article}\\begin{document}shell-escape-\\the\\pdfshellescape\\end{document}\n"
    pdf = compile_pdf(tmp_path, {MAIN: main}, lambda _msg: None)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "shell-escape-0" in text  # pdfTeX: 0 disabled, 1 enabled, 2 restricted
