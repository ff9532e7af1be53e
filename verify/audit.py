"""Audit a notes file: find each claim of the registry where the notes state it, read what is
actually written there, and judge it against what SymPy derived.

How a claim is read (a later section plugs in by adding records only):

1. Where the claim is (``verify.matching``), by what it is about, never by the words around it:
   - ``Locator.subject``: a relation chain with that subject at one end (prose read by the
     ``verify.phrases`` table counts as a chain); the claim is the member at the other end, linked
     by "=" or, judged by ``verify.audit_relation``, by an order or a membership; a worked number
     is that member, an entry of a printed matrix there (``entry``) or a factor of a later product
     of numbers (``factor``);
   - ``Locator.row``/``fact``: the table row that defines the function, the cell whose header
     (Derivative, Slope, Range) or text (sums to) means the fact; ``column``/``row_key``: a worked
     table's cell, by the maths its column's header states and its row's first cell;
   - neither: the member of the section the prover shows equal to the record's stated form, else
     the closest one in its names; a code claim: the listing line that assigns its name.
   Nothing found: the record is "not stated in this file" (coverage, info), never an error.
2. What is written there: the member, entry, factor or cell found.
   A claim in words or code the audit cannot read is "unknown", never a verdict of the record's own.
3. The LaTeX is parsed by ``verify.notation`` (never ``sympify``/``eval``); the notes' symbols are
   mapped onto the record's by name, by canonical name (no bold, ``\\ell`` as ``l``), bold vectors
   onto the record's component ``x[j]``, the record's ``notation`` table, and a lone
   unmatched index pair (``z_k`` -> ``z_j``). A Leibniz derivative is read through the table's key
   ``\\partial N/\\partial D`` and an activation of a matrix expression entrywise. The map used is kept
   in ``Finding.symbols``.
4. Judged by ``derive.proof.check_equal`` / ``compare_sets`` (matrices also at random sizes):
   proven/agrees -> correct, refuted -> error, undecided -> unknown (never correct). Numbers are
   judged at the precision written; matching only ``Quantity.rounded_expr`` is a warning.

Then every other math fragment and prose number of the file gets a verdict too: numeric chains
(``a = 0.5(0.5175) + ... = 0.5872``) are checked by exact arithmetic, definitions and lone symbols
are "notation", the rest is "unchecked" -- so coverage says how much of the file was checked.

The audit is split by concern, imports running one way: ``verify.audit_types`` (findings, fragment verdicts,
the report, severities), ``verify.audit_claims`` (the registry's claims, derivations, locators),
``verify.audit_read`` (what is written), ``verify.audit_align`` (the notes' names onto the record's),
``verify.audit_judge`` (one claim's verdict), ``verify.audit_listings`` (the output a listing states),
``verify.audit_fragments`` (every other fragment, line coverage); this module runs them over a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from verify.audit_claims import DerivationError, claims, notation_of, unlocated
from verify.audit_fragments import fragment_verdicts, line_coverage, statement_lines
from verify.audit_judge import judge, judge_number
from verify.audit_listings import listing_findings
from verify.audit_types import SEVERITY, AuditReport, Finding, FragmentVerdict, _finding
from verify.notes import Notes, NotesError, parse_notes, read_notes

#: What other modules import from here (the entry points, and names tests and the command line have long
#: imported from this module).
__all__ = ["SEVERITY", "AuditReport", "Finding", "FragmentVerdict", "NotesError", "audit_file", "audit_notes",
           "audit_paths", "audit_text", "claims", "judge_number", "notes_files", "statement_lines"]


def audit_notes(notes: Notes, sections: Iterable[str] | None = None, *, run_listings: bool = False) -> AuditReport:
    """Judge every located claim of the registry against ``notes``, then give every fragment a verdict.

    ``sections`` (e.g. ``("1.1", "1.2")``) limits the claims judged to those sections and their subsections.
    ``run_listings`` runs the NumPy listings in the bubblewrap sandbox (by default they are only read).
    """
    findings: list[Finding] = []
    absent: list[str] = []
    covered: dict[tuple[int, int], list[tuple[str, str, str]]] = {}
    wanted = tuple(sections) if sections is not None else None
    taken: set[tuple[int, int, int, int]] = set()
    for claim in claims():
        if wanted is not None and not any(claim.locator.section == w or claim.locator.section.startswith(w + ".")
                                          for w in wanted):
            continue
        try:
            finding, written = judge(notes, claim, notation_of(claim), taken)
        except DerivationError as e:
            base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
            finding, written = _finding(base, None, "unknown", str(e), None, None), None
        if finding.verdict == "not found":
            absent.append(claim.key)  # a result this file does not state is not an error in it
            continue
        findings.append(finding)
        if written is not None and written.math is not None:
            span = "" if written.clause is None else f"{written.clause.start}:{written.clause.end}"
            for m in notes.math_on(written.line):
                if m == written.math or (written.cell is not None and m.cell == written.cell
                                         and m.line == written.line):
                    covered.setdefault((m.line, m.col), []).append((claim.key, span, finding.verdict))
    fragments, extra, by_line = fragment_verdicts(notes, findings, covered)
    findings.extend(extra)
    if wanted is None or any(c.section == w or c.section.startswith(w + ".") for c in notes.code for w in wanted):
        findings.extend(f for f in listing_findings(notes, run=run_listings)
                        if wanted is None or any(f.section == w or f.section.startswith(w + ".") for w in wanted))
    findings.sort(key=lambda f: (f.line if f.line is not None else 10**9, f.claim))
    coverage = _coverage(findings, fragments, len(notes.code))
    coverage["not_found"] = len(absent)
    coverage["relation_lines"], coverage["relation_lines_decided"] = line_coverage(notes, by_line)
    coverage["not_stated_in_this_file"] = sorted(absent)  # type: ignore[assignment]
    return AuditReport(notes.source, findings, coverage, fragments)


def _coverage(findings: list[Finding], fragments: list[FragmentVerdict], code_blocks: int) -> dict[str, int]:
    """Counts of claims by verdict, and of fragments by verdict."""
    listings = [f for f in findings if f.claim.startswith("listing@")]
    claim_findings = [f for f in findings if not f.claim.startswith(("arithmetic@", "listing@"))]
    verdicts = Counter(f.verdict for f in claim_findings)
    frag = Counter(v.verdict for v in fragments)
    return {
        "claims": len(claim_findings),
        "found": len(claim_findings),
        "correct": verdicts["correct"],
        "definition": verdicts["definition"],
        "error": verdicts["error"],
        "warning": verdicts["warning"],
        "unknown": verdicts["unknown"],
        "unparsed": verdicts["unparsed"],
        "not_found": verdicts["not found"],
        "not_stated": verdicts["not stated"],
        "unlocated_records": unlocated(),
        "fragments": len(fragments),
        "fragments_correct": frag["correct"],
        "fragments_definition": frag["definition"],
        "fragments_error": frag["error"] + frag["not found"],
        "fragments_warning": frag["warning"],
        "fragments_undecided": frag["unknown"] + frag["unparsed"] + frag["not stated"],
        "notation": frag["notation"],
        "unchecked": frag["unchecked"],
        "arithmetic_findings": len(findings) - len(claim_findings) - len(listings),
        "listings_read": sum(f.verdict != "not run" for f in listings),
        "listings_run": sum(f.verdict != "not run" and not f.message.startswith("not run") for f in listings),
        "code_blocks_skipped": code_blocks - sum(f.verdict != "not run" for f in listings),
    }


def audit_text(text: str, source: str = "<text>", sections: Iterable[str] | None = None, *,
               run_listings: bool = False) -> AuditReport:
    """Audit Markdown given as a string (tests, editors)."""
    if not text.strip():
        raise NotesError(f"{source} is empty; nothing to audit")
    return audit_notes(parse_notes(text, source), sections, run_listings=run_listings)


def notes_files(paths: Iterable[Path]) -> list[Path]:
    """The Markdown files named by ``paths``: files as given, folders searched for ``*.md`` (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.md") if q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise NotesError(f"{p}: no such file or folder; pass notes files or folders that hold *.md files")
    if not out:
        raise NotesError("no *.md notes files under the given paths")
    return out


def audit_paths(paths: Iterable[Path], progress: Callable[[str], None] | None = None, *,
                run_listings: bool = False) -> AuditReport:
    """Audit several files and folders into one report: every finding and fragment carries its file's path."""
    findings: list[Finding] = []
    fragments: list[FragmentVerdict] = []
    coverage: Counter[str] = Counter()
    files = notes_files(paths)
    for path in files:
        if progress:
            progress(f"auditing {path}")
        report = audit_file(path, run_listings=run_listings)
        findings += [replace(f, path=str(path)) for f in report.findings]
        fragments += [replace(v, path=str(path)) for v in report.fragments]
        coverage.update({k: v for k, v in report.coverage.items() if isinstance(v, int)})
    coverage["files"] = len(files)
    return AuditReport(f"{len(files)} file(s)", findings, dict(sorted(coverage.items())), fragments)


def audit_file(path: Path, sections: Iterable[str] | None = None, *, run_listings: bool = False) -> AuditReport:
    """Audit a notes file; raise NotesError (one line) if it cannot be read."""
    return audit_notes(read_notes(Path(path)), sections, run_listings=run_listings)
