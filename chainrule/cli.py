"""The command line: a thin layer that parses arguments and calls one function per stage."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from chainrule.errors import ChainruleError, InputError
from verify.output import FORMATS

REPO = Path(__file__).resolve().parents[1]
DEFAULT_NOTES = ("../shared/notes/01_foundations.md",)
CORPUS = (Path(__file__).resolve().parents[2] / "shared" / "corpus" / "d2l",)
EXAMPLE_NOTES = Path(__file__).resolve().parents[1] / "verify" / "data" / "example_notes.md"
BUILD = Path("build") / "report"  # the default report folder, relative to the working directory (git-ignored)
REFERENCE = REPO / "reports" / "out"  # the committed reference report, refreshed only on purpose
VERDICT_STYLE = {"proven": "green", "agrees": "green", "correct": "green", "refuted": "red", "error": "red",
                 "unknown": "yellow", "warning": "yellow", "info": "cyan"}


class UsageError(InputError):
    """A problem with the command line's arguments, reported in one line with exit code 2."""


def default_notes() -> Path | None:
    """The built-in default notes file: ../shared/notes beside the working directory or the checkout."""
    for base in (Path.cwd(), REPO):
        for rel in DEFAULT_NOTES:
            candidate = (base / rel).resolve()
            if candidate.is_file():
                return candidate
    return None


def _console(args: argparse.Namespace) -> Console:
    """A console for human output; stderr when stdout carries JSON or Markdown."""
    machine = getattr(args, "format", "table") != "table"
    return Console(stderr=machine, highlight=False)


def cmd_derive(args: argparse.Namespace) -> int:
    """Derive every record from its definition and compare it with the notes' stated form."""
    from derive.core import registry
    from derive.proof import prove_all

    console = _console(args)
    formulas = [f for f in registry().formulas if not args.only or f.key in args.only]
    if args.only and not formulas:
        raise UsageError(f"no formula named {', '.join(args.only)}; run `chainrule derive` to list them")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs {args.jobs}: pass 1 or more worker processes")
    rows = []
    start = time.perf_counter()
    with console.status(f"deriving {len(formulas)} formulas...") as status:
        done = iter(range(1, len(formulas) + 1))
        results = prove_all(formulas, jobs=args.jobs,
                            progress=lambda f: status.update(f"derived {next(done)}/{len(formulas)}: {f.key}"))
    for f, (proof, seconds) in zip(formulas, results, strict=True):
        rows.append({"key": f.key, "section": f.section, "title": f.title, "verdict": proof.verdict,
                     "expected": f.expect, "method": proof.method, "detail": proof.detail,
                     "seconds": round(seconds, 3)})
    total = time.perf_counter() - start
    if args.format == "json":
        print(json.dumps({"formulas": rows, "seconds": round(total, 3)}, indent=2))
        return 0
    table = Table(title=f"{len(rows)} formulas derived in {total:.2f} s")
    for col in ("section", "key", "verdict", "method"):
        table.add_column(col)
    for r in rows:
        style = VERDICT_STYLE.get(r["verdict"], "")
        verdict = r["verdict"] + (" (expected: the notes' form is wrong)" if r["expected"] == "differ" else "")
        table.add_row(r["section"], r["key"], f"[{style}]{verdict}[/]", r["method"])
    console.print(table)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Write the generated NumPy and JAX kernel modules (or, with --check, say which are stale)."""
    from chainrule.codegen import write_all

    console = _console(args)
    with console.status("proving kernel rewrites and printing kernels..."):
        paths = write_all(REPO, check=args.check)
    if args.check:
        for p in paths:
            console.print(f"[red]stale[/]: {p} (run `chainrule generate`)")
        if not paths:
            console.print("generated kernels are up to date")
        return 1 if paths else 0
    for p in paths:
        console.print(f"wrote {p}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Recompute the worked examples with both generated backends and check them at stated precision."""
    from verify.examples import check_examples
    from verify.worked import check_pipelines

    console = _console(args)
    with console.status("recomputing worked examples with the generated kernels..."):
        checks = check_examples() + check_pipelines()
    bad = [c for c in checks if c.verdict != "correct"]
    if args.format == "json":
        print(json.dumps({"examples": [c.__dict__ for c in checks], "failed": len(bad)}, indent=2, default=str))
    else:
        table = Table(title="worked examples, generated kernels")
        for col in ("example", "quantity", "stated", "exact", "numpy", "jax", "verdict"):
            table.add_column(col, overflow="fold")
        for c in checks:
            style = VERDICT_STYLE.get(c.verdict, "")
            table.add_row(c.example, c.quantity, c.stated, f"{c.exact:.6g}", f"{c.numpy:.6g}", f"{c.jax:.6g}",
                          f"[{style}]{c.verdict}[/]")
        console.print(table)
    return 1 if bad else 0


def cmd_report(args: argparse.Namespace) -> int:
    """Regenerate the LaTeX derivation report (and the PDF when latexmk is installed)."""
    from reports.build import build_report, check_out_dir

    check_out_dir(Path(args.out))  # before any work: exit 2 on a file, /, or a folder we cannot write
    console = _console(args)
    notes = _notes_arg(args)
    out = _report_out(args, notes)
    with console.status("building the report...") as status:
        result = build_report(out, pdf=not args.no_pdf, notes=notes,
                              progress=lambda msg: status.update(msg))
    for p in result.tex:
        console.print(f"wrote {p}")
    if result.pdf:
        console.print(f"wrote {result.pdf}")
    if result.message:
        console.print(result.message)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """Audit a notes file: judge every claim found in it against the derivations."""
    from verify.audit import audit_file, audit_paths
    from verify.output import TEXT_FORMATS, default_format, render_table

    if getattr(args, "format", None) is None:
        args.format = default_format(sys.stdout.isatty())
    run = bool(getattr(args, "run_listings", False))
    if run:
        from verify.sandbox import check_available

        check_available()  # exit 2 in one line when bubblewrap cannot run: never a weaker mode
    console = _console(args)
    if getattr(args, "paths", None):
        with console.status(f"auditing {len(args.paths)} path(s)...") as status:
            report = audit_paths([Path(p) for p in args.paths], progress=lambda msg: status.update(msg),
                                 run_listings=run)
    else:
        notes = _notes_arg(args)
        assert notes is not None
        with console.status(f"auditing {notes}..."):
            report = audit_file(notes, run_listings=run)
    if args.format in TEXT_FORMATS:
        sys.stdout.write(TEXT_FORMATS[args.format](report))
    else:
        render_table(report, console)
    return report.exit_code


def cmd_all(args: argparse.Namespace) -> int:
    """Run every stage in order: derive, generate (checking, never writing), verify, report, audit."""
    from reports.build import check_out_dir

    args.format, args.only, args.check, args.jobs = "table", [], True, None
    check_out_dir(Path(args.out))
    _report_out(args, _notes_arg(args))  # a bad --out fails before the slow stages
    if args.run_listings:
        from verify.sandbox import check_available

        check_available()
    codes = []
    for name, fn in (("derive", cmd_derive), ("generate --check", cmd_generate), ("verify", cmd_verify),
                     ("report", cmd_report), ("audit", cmd_audit)):
        Console().rule(f"chainrule {name}")
        codes.append(fn(args))
    return max(codes)


def cmd_bench(args: argparse.Namespace) -> int:
    """Time the stages: cold derivation of every record, and (with --suite kernels) the generated kernels."""
    from chainrule.bench import run_bench

    if args.repeats < 1:
        raise UsageError(f"--repeats {args.repeats}: time at least one call per row (pass 1 or more)")
    if args.only and args.suite == "derive":
        raise UsageError("--only names kernels; use it with --suite kernels or all")
    try:
        backends = ("numpy", "jax") if args.backend == "all" else (args.backend,)
        notes: tuple[Path, ...] = ()
        if args.suite == "audit":
            from verify.audit import notes_files

            corpus = [Path(p) for p in args.notes] if args.notes else [p for p in CORPUS if p.exists()][:1]
            notes = tuple(notes_files(corpus or [EXAMPLE_NOTES]))
        return run_bench(args.suite, args.format, repeats=args.repeats, console=_console(args), quick=args.quick,
                         only=tuple(args.only), backends=backends, notes=notes)
    except KeyError as exc:
        raise UsageError(f"{exc.args[0]} (see `chainrule bench --suite kernels`)") from exc


def _notes_arg(args: argparse.Namespace, required: bool = True) -> Path | None:
    """The --notes path if given, else ../shared's notes, else the example notes shipped with chainrule (said once)."""
    given = getattr(args, "notes", None)
    if given:
        return Path(given)
    found = default_notes()
    if found is None:
        found = EXAMPLE_NOTES
        if not getattr(args, "_said_example", False):
            args._said_example = True
            print(f"chainrule: no notes at {DEFAULT_NOTES[0]}: auditing the example notes shipped with chainrule "
                  f"({found}); pass --notes FILE for yours",
                  file=sys.stderr)
    return found


def _report_out(args: argparse.Namespace, notes: Path | None) -> Path:
    """The report folder; the committed reference folder only with the real notes, never the example."""
    out = Path(args.out)
    if out.resolve() == REFERENCE.resolve() and (notes is None or notes.resolve() == EXAMPLE_NOTES.resolve()):
        raise UsageError(f"--out {args.out} is the committed reference report, whose errata come from the course "
                         "notes: pass --notes ../shared/notes/01_foundations.md (see README, Development)")
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subcommand per stage."""
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Derive every formula of deep-learning notes with SymPy, generate NumPy and JAX kernels "
                    "from the derivations, verify them, write a LaTeX/PDF report, and audit a notes file.",
        epilog="Stages run in order claim -> derivation -> kernel -> check -> report; `chainrule all` runs them all.",
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=fn)
        return p

    p = add("derive", cmd_derive, "derive every formula from its definition and prove it equal to the notes' form")
    p.add_argument("--only", nargs="*", default=[], metavar="KEY", help="derive only these record keys")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes (default: one per core; 1 derives in this process)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")

    p = add("generate", cmd_generate, "write the NumPy and JAX kernel modules from the derivations")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed kernel is stale")

    p = add("verify", cmd_verify, "recompute the notes' worked examples with both generated backends")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")

    p = add("report", cmd_report, "write the LaTeX derivation report (and the PDF if latexmk is installed)")
    p.add_argument("--out", default=str(BUILD), help=f"output folder (default: {BUILD}, ignored by git; "
                   "reports/out, the committed reference, needs --notes with the course notes)")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex only")
    p.add_argument("--notes", help="notes file whose audit fills the errata section (default: ../shared/notes, "
                                   "else the example notes shipped with chainrule)")

    p = add("audit", cmd_audit,
            "audit Markdown+LaTeX notes: every relation judged from the document's own definitions, the catalog "
            "of standard notation and the derivations (exit 0 ok, 1 errors, 2 bad input)")
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="notes files or folders (every *.md below them); one report for all of them")
    p.add_argument("--notes", help="one notes file (default: ../shared/notes/01_foundations.md, else the "
                                   "example notes shipped with chainrule)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="table (people), concise (path:line:col: severity: message), github (workflow annotations), "
                        "sarif (SARIF 2.1.0), json, or markdown (an errata page); default: table at a terminal, "
                        "else concise")
    p.add_argument("--run-listings", action="store_true",
                   help="run the notes' NumPy listings isolated by bubblewrap (no network, read-only system, "
                        "limits); without it listings are only read, never run")

    p = add("all", cmd_all, "run derive, generate --check, verify, report and audit in order (writes only to --out)")
    p.add_argument("--notes", help="notes file to audit (default: ../shared/notes/01_foundations.md, else the "
                                   "example notes shipped with chainrule)")
    p.add_argument("--out", default=str(BUILD), help=f"report folder (default: {BUILD}, ignored by git)")
    p.add_argument("--no-pdf", action="store_true", help="write the report's .tex only")
    p.add_argument("--run-listings", action="store_true",
                   help="in the audit stage, run the notes' NumPy listings isolated by bubblewrap; without it "
                        "listings are only read, never run (the report's errata always read them)")

    p = add("bench", cmd_bench, "benchmark derivation speed and generated kernels against references")
    p.add_argument("--suite", choices=("derive", "kernels", "all", "audit"), default="all",
                   help="what to time (default: all = derive and kernels; audit: cold audits and the share of "
                        "relation lines decided, on ../shared/corpus/d2l or --notes)")
    p.add_argument("--notes", nargs="*", default=[], metavar="PATH",
                   help="notes files or folders for --suite audit (default: ../shared/corpus/d2l if present)")
    p.add_argument("--repeats", type=int, default=5,
                   help="rounds of calls per row (one call of each side per round, in a rotating order); "
                        "each side's median, the median per-round ratio and an interval for it are reported")
    p.add_argument("--quick", action="store_true",
                   help="time kernels on tiny inputs (a smoke run: the ratios then mean little)")
    p.add_argument("--only", nargs="*", default=[], metavar="KERNEL", help="time only these kernels")
    p.add_argument("--backend", choices=("numpy", "jax", "all"), default="all",
                   help="which generated kernels to time (default: all; jax times the derivative kernels)")
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `chainrule` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except InputError as exc:
        print(f"chainrule {args.command}: {exc}", file=sys.stderr)
        return 2
    except ChainruleError as exc:
        print(f"chainrule {args.command}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if args.debug:
            raise
        print(f"chainrule {args.command}: internal error: {type(exc).__name__}: {exc} "
              "(rerun with --debug for the traceback, and please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
