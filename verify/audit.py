"""Audit a notes file: find each claim of the registry where the notes state it, read what is
actually written there, and judge it against what SymPy derived.

How a claim is read (a later section plugs in by adding records only):

1. Where the claim is (``verify.matching``), by what it is about, never by the words around it:
   - ``Locator.subject``: a relation chain with that subject at one end (prose read by the
     ``PHRASES`` table counts as a chain); the claim is the member at the other end;
   - ``Locator.row``/``fact``: the table row that defines the function, the cell whose header
     (Derivative, Slope, Range) or text (sums to) means the fact;
   - neither: the member of the section the prover shows equal to the record's stated form, else
     the closest one in its names;
   - ``Locator.pattern`` (a regex on the raw line, for numbers of a worked example and code lines).
   Nothing found: the record is "not stated in this file" (coverage, info), never an error.
2. What is written there: the member, cell or number found; a ``(?P<value>...)`` or
   ``(?P<formula>...)`` group of a pattern; quantities: the clause ``Quantity.latex = ... = value``.
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
"""

from __future__ import annotations

import functools
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.core import CodeClaim, Definition, Derivation, Example, Formula, Locator, Quantity, Step, registry
from derive.functions import Defined
from derive.proof import Proof, check_equal, compare_sets
from verify.code_reading import CodeReadError, CodeShapeError, CodeTooLargeError, read_assignment, read_function
from verify.judge import DECIDED, LinkVerdict, fixed, judge_notes
from verify.judge import rounds_to as _rounds_to
from verify.listings import (
    EPOCH_CAP,
    RunResult,
    XorSetup,
    capped,
    close_to,
    printed_vector,
    raised,
    read_xor_setup,
    run_listing,
    screen,
    stated_vector,
    xor_training,
)
from verify.matching import Found, FoundCell, candidates, defined_at, find, find_row, record_names
from verify.notation import (
    Clause,
    Context,
    Decimal,
    Hadamard,
    NotationError,
    Partial,
    Top,
    clauses,
    decimal,
    parse_expr_latex,
    parse_prose_cases,
    parse_set,
)
from verify.notes import Math, Notes, NotesError, parse_notes, read_notes
from verify.statements import Statement, statements
from verify.tables import judge_tables

__all__ = ["AuditReport", "Finding", "FragmentVerdict", "NotesError", "audit_file", "audit_notes", "audit_text"]

Severity = Literal["error", "warning", "info"]
SEVERITY: dict[str, Severity] = {
    "correct": "info", "error": "error", "not found": "error", "warning": "warning", "unknown": "warning",
    "unparsed": "warning", "not stated": "info", "definition": "info", "not run": "info",
}
#: Claims of these kinds live in words or code: a claim the audit cannot read there is "unknown", never a
#: verdict of the record's own, unless the locator's regex has a ``value`` or ``formula`` named group.
AS_READ = frozenset({"prose", "code"})
SUMS_TO = re.compile(r"sums?\s+to\s+\$?(?P<value>[^$,;]+?)\$?\s*(?:[,;.]|$)", re.IGNORECASE)
RELATION = re.compile(r"=|\\approx|\\le(?:q)?(?![a-z])|\\ge(?:q)?(?![a-z])|<|>|\\in(?![a-z])|\\neq?(?![a-z])")
VERDICT_ORDER = ("error", "not found", "warning", "unknown", "unparsed", "correct", "definition", "not stated",
                 "unchecked", "notation")


@dataclass(frozen=True)
class Finding:
    """The verdict on one claim: where it is, what is written, what was derived, and why."""

    claim: str
    line: int | None
    severity: Severity
    message: str
    stated: str | None
    expected: str | None
    verdict: str
    section: str = ""
    kind: str = ""
    symbols: Mapping[str, str] = field(default_factory=dict)
    path: str = ""

    def as_dict(self) -> dict[str, object]:
        """The JSON form (required keys first; maps sorted)."""
        d = asdict(self)
        d["symbols"] = dict(sorted(self.symbols.items()))
        if not self.path:
            d.pop("path")
        return d


@dataclass(frozen=True)
class FragmentVerdict:
    """The verdict on one math fragment or prose number of the file (for coverage)."""

    line: int
    col: int
    kind: str
    text: str
    verdict: str
    claims: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    reason: str = ""
    path: str = ""


@dataclass
class AuditReport:
    """All findings (ordered by line) and coverage counts for one notes file."""

    source: str
    findings: list[Finding]
    coverage: dict[str, int]
    fragments: list[FragmentVerdict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when no finding is an error, 1 otherwise."""
        return 1 if any(f.severity == "error" for f in self.findings) else 0

    def to_json(self) -> str:
        """Findings and coverage as JSON (``verify.output.to_json``)."""
        from verify.output import to_json

        return to_json(self)

    def to_markdown(self) -> str:
        """An errata page (``verify.output.to_markdown``)."""
        from verify.output import to_markdown

        return to_markdown(self)

    def render(self, console: object) -> None:
        """Print the findings as a rich table (``verify.output.render_table``)."""
        from verify.output import render_table

        render_table(self, console)


# ----------------------------------------------------------------------------------------------
# Claims


@dataclass(frozen=True)
class Claim:
    """A registry record with a locator: a formula, or one quantity of a worked example."""

    key: str
    locator: Locator
    formula: Formula | None = None
    quantity: Quantity | None = None
    example: Example | None = None
    definition: Definition | None = None


@dataclass(frozen=True)
class Located:
    """Where a claim was found: the line, the regex match, and the matched line's text."""

    line: int
    match: re.Match[str]
    others: int


def claims() -> list[Claim]:
    """Every formula and example quantity of the registry that says where the notes state it."""
    reg = registry()
    out = [Claim(f.key, f.locator, formula=f) for f in reg.formulas if f.locator is not None]
    out += [Claim(f"{e.key}.{q.name}", q.locator, quantity=q, example=e)
            for e in reg.examples for q in e.quantities if q.locator is not None]
    out += [Claim(d.key, d.locator, formula=as_formula(d), definition=d) for d in reg.definitions]
    return out


def as_formula(d: Definition) -> Formula:
    """A definition as a formula record whose "derivation" is the definition itself (for reading and comparing)."""
    step = Step(f"definition ({d.source})" if d.source else "definition", d.expr)
    return Formula(key=d.key, section=d.section, title=d.title, assumptions=(), definition=d.expr,
                   derive=lambda: Derivation(d.expr, (step,)), stated=d.expr, locator=d.locator,
                   variables=tuple(sorted(d.expr.free_symbols, key=str)), domain=d.domain,
                   notation=d.notation)


def unlocated() -> int:
    """How many records carry no locator (they cannot be audited)."""
    reg = registry()
    return (sum(f.locator is None for f in reg.formulas)
            + sum(q.locator is None for e in reg.examples for q in e.quantities))


def notation_of(claim: Claim) -> Mapping[str, sp.Basic]:
    """The notes' names for the claim's symbols: its formula's or definition's ``notation`` (none for a quantity)."""
    return claim.formula.notation if claim.formula is not None else {}


_DERIVED: dict[str, sp.Basic] = {}


class DerivationError(Exception):
    """A record's derivation raised; the audit reports it for that claim instead of stopping."""


def derived(formula: Formula) -> sp.Basic:
    """The formula's derivation result, computed once per process."""
    if formula.key not in _DERIVED:
        try:
            _DERIVED[formula.key] = formula.derive().result
        except Exception as e:  # a bug in one record must not hide the verdicts on all the others
            raise DerivationError(f"derivation of {formula.key!r} failed: {type(e).__name__}: {e}") from e
    return _DERIVED[formula.key]


def locate(notes: Notes, locator: Locator) -> Located | None:
    """The first line of the locator's section that its regex matches."""
    pattern = re.compile(locator.pattern)
    hits = []
    for number, text in enumerate(notes.lines, start=1):
        if notes.in_section(number, locator.section):
            m = pattern.search(text)
            if m is not None:
                hits.append((number, m))
    if not hits:
        return None
    return Located(hits[0][0], hits[0][1], len(hits) - 1)


# ----------------------------------------------------------------------------------------------
# Reading the written fragment


@dataclass(frozen=True)
class Written:
    """What the notes write for a claim: raw text, how to read it, and where (fragment, clause)."""

    text: str
    mode: str  # "expr" | "set" | "sum" | "cell" | "number"
    line: int
    math: Math | None = None
    clause: Clause | None = None
    segments: tuple[tuple[str, str], ...] = ()
    cell: int | None = None


class UnreadableError(Exception):
    """The claim's line was found but no fragment of the expected form is there."""


#: How a table cell is read, by the fact of its row's function it states (``Locator.fact``).
CELL_MODES = {"derivative": "cell", "range": "set", "sum": "sum"}


def read_cell(notes: Notes, claim: Claim, found: FoundCell) -> Written:
    """What the table cell ``found`` states for ``claim``: a formula, a set, or what the values sum to."""
    row, cell, line = found.row, found.cell, found.row.line
    mode = CELL_MODES[claim.locator.fact]
    maths = [m for m in notes.math_on(line) if m.cell == cell.column]
    if mode == "set":
        first = next((seg for kind, seg in cell.segments if kind == "math"), None)
        if first is None:
            raise UnreadableError(f"no formula in the {cell.header!r} cell: {cell.text!r}")
        m = next((x for x in maths if x.latex == first), None)
        return Written(first, "set", line, m, cell=cell.column)
    if mode == "sum":
        hit = SUMS_TO.search(cell.text)
        if hit is None:
            raise UnreadableError(f"the {cell.header!r} cell does not say what the values sum to: {cell.text!r}")
        return Written(hit.group("value").strip(), "sum", line, maths[0] if maths else None, cell=cell.column)
    if not any(kind == "math" for kind, _ in cell.segments):
        raise UnreadableError(f"no formula in the {cell.header!r} cell: {cell.text!r}")
    texts = [seg for kind, seg in cell.segments if seg.strip()]
    shown = texts[0] if len(texts) == 1 else cell.text
    del row
    return Written(shown, "cell", line, maths[0] if maths else None, segments=cell.segments, cell=cell.column)


def _group(match: re.Match[str]) -> tuple[str, int] | None:
    """The text and start of a ``value`` or ``formula`` named group of the locator's regex, if it matched."""
    for name in ("value", "formula"):
        if name in match.re.groupindex and match.group(name) is not None:
            return match.group(name), match.start(name)
    return None


def _dollar_segments(text: str) -> tuple[tuple[str, str], ...]:
    """Split ``$a$ if $b$`` into ("math", "a"), ("text", " if "), ("math", "b") (unescaped dollars only)."""
    parts = re.split(r"(?<!\\)\$", text)
    return tuple(("math" if k % 2 else "text", part) for k, part in enumerate(parts) if part)


def read(notes: Notes, claim: Claim, located: Located) -> Written:
    """What is written for ``claim``: a named group of the regex, a table cell, or a chain member."""
    group = _group(located.match)
    if group is not None:
        text, start = group
        hit = notes.math_at(located.line, start)
        inside = hit is not None and not text.startswith("$")  # a group that starts in math: "-\\eta\\cdot$grad"
        segments = _dollar_segments(("$" if inside else "") + text.strip())
        if claim.quantity is not None:
            return Written(text.strip().strip("$").strip(), "number", located.line, hit[0] if hit else None)
        math, clause = (hit[0], _clause_at(*hit)) if hit else (None, None)
        if len(segments) == 1 and segments[0][0] == "math" or "$" not in text:
            body = segments[0][1] if segments else text
            is_set = claim.formula is not None and isinstance(_rhs(derived(claim.formula)), sp.Set)
            return Written(body.strip(), "set" if is_set else "expr", located.line, math, clause)
        return Written(text.strip(), "cell", located.line, math, clause, segments=segments)
    return read_math(notes, located, claim.quantity)


def _clause_at(math: Math, offset: int) -> Clause | None:
    """The clause of ``math`` that holds ``offset`` (what a formula group of a locator reads, for coverage)."""
    try:
        parts = clauses(math.latex)
    except NotationError:
        return None
    return next((c for c in parts if c.start <= offset <= c.end), None)


def _rhs(value: sp.Basic) -> sp.Basic:
    """The right-hand side of an equation, or the value itself."""
    return value.rhs if isinstance(value, sp.Equality) else value


def read_math(notes: Notes, located: Located, quantity: Quantity | None) -> Written:
    """The chain member the match points into (the right-hand side if it is on the left)."""
    line, m = located.line, located.match
    hit = notes.math_at(line, m.start())
    if hit is None:
        later = [x for x in notes.math_on(line) if x.line == line and x.col >= m.start()]
        if not later:
            raise UnreadableError(f"no math at or after the match on line {line}")
        hit = (later[0], 0)
    math, offset = hit
    parts = clauses(math.latex)
    if not parts:
        raise UnreadableError(f"empty formula at line {line}")
    if quantity is not None:
        return _read_value(notes, located, math, parts, quantity)
    clause = next((c for c in parts if c.start <= offset <= c.end), None)
    if clause is None:
        clause = next((c for c in parts if c.start >= offset), parts[-1])
    index = clause.member_at(offset)
    member = clause.members[-1] if index == 0 and len(clause.members) > 1 else clause.members[index]
    return Written(member.text, "expr", math.position(member.start)[0], math, clause)


def _read_value(notes: Notes, located: Located, math: Math, parts: tuple[Clause, ...], q: Quantity) -> Written:
    """The number a quantity states: a ``value`` group of the regex, or the end of the clause ``q.latex = ...``."""
    m = located.match
    if "value" in m.re.groupindex and m.group("value") is not None:
        return Written(m.group("value"), "number", located.line, math)
    want = _squash(q.latex)
    for clause in parts:
        if len(clause.members) > 1 and _squash(clause.members[0].text) == want:
            last = clause.members[-1]
            return Written(last.text, "number", math.position(last.start)[0], math, clause)
    raise UnreadableError(f"no clause '{q.latex} = ...' in the formula at line {located.line}")


def _squash(text: str) -> str:
    """LaTeX with spacing removed, for comparing short left-hand sides."""
    return re.sub(r"\s+|\\[,;!:]|\\q?quad", "", text)


# ----------------------------------------------------------------------------------------------
# Symbols: mapping the notes' names onto the record's


def record_atoms(*exprs: object) -> tuple[dict[str, sp.Basic], frozenset[str]]:
    """Names of the plain and matrix symbols and of the IndexedBase labels in a record's expressions."""
    names: dict[str, sp.Basic] = {}
    labels: set[str] = set()
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        for x in e.atoms(sp.Indexed):
            labels.add(str(x.base.label))
        for s in e.atoms(sp.Symbol, sp.MatrixSymbol):
            names.setdefault(str(s.name), s)
    return names, frozenset(labels)


def record_functions(*exprs: object) -> dict[str, sp.FunctionClass]:
    """The undefined functions of a record's expressions (a generic activation sigma), by canonical name."""
    return {canonical(str(app.func)): app.func for e in exprs if isinstance(e, sp.Basic)
            for app in e.atoms(AppliedUndef)}


def context_for(formula: Formula) -> Context:
    """The parsing context of a claim: which names its record indexes, which it keeps plain, its generic functions."""
    exprs = (formula.definition, formula.stated, derived(formula))
    names, labels = record_atoms(*exprs)
    functions = frozenset(str(f) for f in record_functions(*exprs).values())
    return Context(indexed=labels, symbols=frozenset(names) - labels, functions=functions)


def _free_plain(expr: sp.Basic) -> set[sp.Symbol]:
    """Free symbols that are not IndexedBase labels."""
    labels = {x.base.label for x in expr.atoms(sp.Indexed)}
    return {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s not in labels}


def canonical(name: str) -> str:
    r"""A name as compared across notes and records: no bold, ``\ell`` as ``l``, ``\hat y`` as ``\hat{y}``.

    ``\mathbf{W}^{(\ell)}`` -> ``W^{(l)}``, ``\boldsymbol{\delta}`` -> ``delta``, ``\hat{\mathbf{y}}`` -> ``\hat{y}``.
    """
    name = re.sub(r"\\(?:mathbf|boldsymbol|bm)\{(\\?[A-Za-z]+)\}", r"\1", name)
    name = re.sub(r"\\ell(?![A-Za-z])", "l", name)
    name = re.sub(r"\\(hat|bar|tilde)\s*([A-Za-z])(?![A-Za-z{])", r"\\\1{\2}", name)
    name = re.sub(r"\s+", "", name)
    return name[1:] if re.fullmatch(r"\\[A-Za-z]+", name) else name


class SpellingBlind(Mapping[str, sp.Basic]):
    r"""A claim's symbol table looked up by name, else by canonical name (``\boldsymbol{W}^{(l)}`` finds
    the entry written ``\mathbf{W}^{(\ell)}``)."""

    def __init__(self, table: Mapping[str, sp.Basic]) -> None:
        self.table = table
        self.canon: dict[str, str] | None = None

    def _key(self, name: str) -> str | None:
        if name in self.table:
            return name
        if self.canon is None:
            self.canon = {canonical(k): k for k in self.table}
        return self.canon.get(canonical(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._key(name) is not None

    def __getitem__(self, name: str) -> sp.Basic:
        key = self._key(name)
        if key is None:
            raise KeyError(name)
        return self.table[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


def align(parsed: sp.Basic, formula: Formula, target: sp.Basic,
          explicit: Mapping[str, sp.Basic]) -> tuple[sp.Basic, dict[str, str]]:
    """Rename the notes' symbols to the record's; return the expression and the renames made.

    In order: the record's ``notation`` entries; symbols of the same name (or the
    same name without bold styling, for the record's MatrixSymbols); then, when exactly one integer
    index of the notes and one of the record are left unmatched, those two (``z_k`` vs ``z_j``).
    """
    shown: dict[str, str] = {}
    subs: dict[sp.Basic, sp.Basic] = {}
    explicit = SpellingBlind(explicit)
    parsed = _rename_functions(parsed, record_functions(formula.definition, formula.stated, target), shown)
    for x in parsed.atoms(sp.Indexed):
        name = str(x.base.label)
        if name in explicit and isinstance(explicit[name], sp.IndexedBase):
            subs[x.base] = explicit[name]
            shown[name] = str(explicit[name])
    indices = {s for x in parsed.atoms(sp.Indexed) for s in x.indices if isinstance(s, sp.Symbol)}
    for s in _free_plain(parsed) | indices:
        if s.name in explicit and not isinstance(explicit[s.name], sp.IndexedBase):
            subs[s] = explicit[s.name]
            shown[s.name] = str(explicit[s.name])
    for app in parsed.atoms(AppliedUndef):
        key = f"{app.func.__name__}({', '.join(map(str, app.args))})"
        if key in explicit:
            subs[app] = explicit[key]
            shown[key] = str(explicit[key])
    names, labels = record_atoms(formula.definition, formula.stated, target, *formula.variables)
    names = {k: v for k, v in names.items() if k not in labels}
    for app in parsed.atoms(AppliedUndef):
        spelled = _operator_name(app)
        if app not in subs and spelled in names:
            subs[app] = names[spelled]
            shown[str(app)] = spelled
    by_canon = {canonical(k): v for k, v in names.items()}
    bases = {canonical(label): sp.IndexedBase(label) for label in labels}
    for x in parsed.atoms(sp.Indexed):
        label = str(x.base.label)
        if label not in labels and x.base not in subs and canonical(label) in bases:
            subs[x.base] = bases[canonical(label)]
            shown[label] = str(bases[canonical(label)])
    components = _components(target)
    for s in (_free_plain(parsed) | _bound(parsed)) - set(subs):
        match = names.get(s.name) or by_canon.get(canonical(s.name)) or components.get(canonical(s.name))
        if match is not None and match != s:
            subs[s] = match
            if str(match) != s.name:
                shown[s.name] = str(match)
    expr = _rebuild(parsed, subs) if subs else parsed
    expr = _read_partials(expr, explicit, shown)
    expr = _name_applied_slopes(expr, labels, shown)
    if "(entry)" in explicit:
        expr = _entry_of_applied(expr, explicit["(entry)"])
    record_free = {s.name for s in _free_plain(target)}
    mine = sorted((s for s in _free_plain(expr) if s.name not in record_free and s.is_integer), key=str)
    theirs = sorted((s for s in _free_plain(target) if s.name not in {t.name for t in _free_plain(expr)}
                     and s.is_integer), key=str)
    if len(mine) == 1 and len(theirs) == 1:
        expr = expr.xreplace({mine[0]: theirs[0]})
        shown[mine[0].name] = theirs[0].name
    return expr, shown


def _rename_functions(expr: sp.Basic, functions: Mapping[str, sp.FunctionClass], shown: dict[str, str]) -> sp.Basic:
    """Write the notes' undefined functions as the record's of the same canonical name (``sigma^{(\\ell)}``)."""
    def renamed(app: AppliedUndef) -> sp.Basic:
        same = functions[canonical(str(app.func))]
        shown[str(app.func)] = str(same)
        return same(*app.args)

    return expr.replace(lambda e: isinstance(e, AppliedUndef) and canonical(str(e.func)) in functions
                        and functions[canonical(str(e.func))] != e.func, renamed)


def _entry_of_applied(expr: sp.Basic, at: sp.Tuple) -> sp.Basic:
    """Entry ``at`` of a matrix expression; a function applied entrywise to one, ``sigma(W a + b)``, at that entry."""
    if isinstance(expr, sp.MatrixExpr):
        return matrix_entry_of(expr, at)
    if isinstance(expr, (AppliedUndef, Defined)) and len(expr.args) == 1 and isinstance(expr.args[0], sp.MatrixExpr):
        return expr.func(matrix_entry_of(expr.args[0], at))
    return expr


def _spelled(x: sp.Basic) -> str:
    """How a derivative's numerator or denominator is named in a ``notation`` key: its canonical name or base label."""
    return canonical(str(x.base.label) if isinstance(x, sp.Indexed) else str(x))


def _read_partials(expr: sp.Basic, explicit: Mapping[str, sp.Basic], shown: dict[str, str]) -> sp.Basic:
    r"""Read each Leibniz derivative the notes write (``Partial``) through the notation key ``\partial N/\partial D``.

    Its value is a Lambda of the numerator's indices, then the denominator's: ``\partial s/\partial z`` ->
    ``Lambda((i, j), s_i (delta_ij - s_j))`` reads ``\frac{\partial s_i}{\partial z_k}`` as ``s_i (delta_ik - s_k)``.
    A derivative with no such key raises KeyError (the claim is then "unknown", never correct).
    """
    def value(p: Partial) -> sp.Basic:
        num, den = p.args
        key = f"\\partial {_spelled(num)}/\\partial {_spelled(den)}"
        rule = explicit.get(key)
        indices = [*getattr(num, "indices", ()), *getattr(den, "indices", ())]
        if not isinstance(rule, sp.Lambda) or len(rule.variables) != len(indices):
            raise KeyError(f"no reading of the derivative {key} in the record's notation")
        out = rule(*indices)
        shown[str(p)] = str(out)
        return out

    return expr.replace(lambda e: isinstance(e, Partial), value) if expr.has(Partial) else expr


def _operator_name(app: AppliedUndef) -> str:
    r"""How a record names an operator applied to a symbol: ``\text{Var}(W)`` -> ``\mathrm{Var}(W)``."""
    m = re.fullmatch(r"\\(?:text|mathrm|operatorname)\{(\w+)\}", app.func.__name__)
    head = f"\\mathrm{{{m.group(1)}}}" if m else app.func.__name__
    return f"{head}({', '.join(map(str, app.args))})"


def _plain_label(name: str) -> str:
    """A label compared without backslashes or bold: ``\\sigma'(z^{(\\ell)})`` -> ``sigma'(z^{(l)})``."""
    return canonical(name).replace("\\", "")


def _name_applied_slopes(expr: sp.Basic, labels: frozenset[str], shown: dict[str, str]) -> sp.Basic:
    """Write ``sigma'(z[j])`` as the record's entry ``sigma'(z)[j]`` when the record names that vector."""
    by_plain = {_plain_label(label): label for label in labels}

    def entry(app: AppliedUndef) -> sp.Basic:
        (arg,) = app.args
        label = by_plain.get(_plain_label(f"{app.func.__name__}({arg.base.label})"))
        if label is None:
            return app
        shown[str(app)] = f"{label}{list(arg.indices)}"
        return sp.IndexedBase(label)[arg.indices]

    return expr.replace(lambda e: isinstance(e, AppliedUndef) and len(e.args) == 1
                        and isinstance(e.args[0], sp.Indexed), entry)


def matrix_entry_of(expr: sp.MatrixExpr, at: sp.Tuple) -> sp.Basic:
    """Entry ``at`` (1-based row, column indices) of a matrix expression, written with IndexedBase entries.

    Each MatrixSymbol ``M`` stands for the IndexedBase of the same name (``M[i]`` for a column vector,
    ``M[i, j]`` otherwise); the sums SymPy writes over 0-based dummies are shifted to 1-based.
    """
    row, col = (tuple(at) + (sp.Integer(1),))[:2]
    if expr.shape[1] == 1:
        col = sp.Integer(1)
    entry = expr[row - 1, col - 1]

    def shift(total: sp.Sum) -> sp.Sum:
        (dummy, lo, hi), = total.limits
        index = sp.Dummy("k", integer=True, positive=True)
        return sp.Sum(total.function.xreplace({dummy: index - 1}), (index, lo + 1, hi + 1))

    def indexed(e: MatrixElement) -> sp.Indexed:
        base = sp.IndexedBase(e.parent.name)
        return base[e.i + 1] if e.parent.shape[1] == 1 else base[e.i + 1, e.j + 1]

    entry = entry.replace(lambda e: isinstance(e, sp.Sum), shift)
    return entry.replace(lambda e: isinstance(e, MatrixElement), indexed)


def _components(target: sp.Basic) -> dict[str, sp.Basic]:
    """Vector names the record writes by component: canonical label -> its one indexed entry.

    The notes write ``\\hat{\\mathbf{y}} - \\mathbf{y}``; a record that works with components states
    ``\\hat{y}[j] - y[j]``. A bold name stands for the record's entry when that base appears with one
    index tuple only.
    """
    seen: dict[str, set[sp.Basic]] = {}
    for x in target.atoms(sp.Indexed):
        seen.setdefault(canonical(str(x.base.label)), set()).add(x)
    return {label: next(iter(entries)) for label, entries in seen.items() if len(entries) == 1}


def _rebuild(expr: sp.Basic, subs: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``expr.xreplace(subs)``, turning products and sums of matrices into MatMul/MatAdd."""
    if expr in subs:
        return subs[expr]
    if not expr.args:
        return expr
    args = [_rebuild(a, subs) for a in expr.args]
    if any(isinstance(a, sp.MatrixExpr) for a in args):
        if isinstance(expr, sp.Mul):
            return sp.MatMul(*args)
        if isinstance(expr, sp.Add):
            return sp.MatAdd(*args)
        if isinstance(expr, sp.Pow):
            return sp.MatPow(*args)
        if isinstance(expr, Top):
            return args[0].T
        if isinstance(expr, (AppliedUndef, Defined)) and len(args) == 1:
            return ElementwiseApplyFunction(expr.func, args[0])  # activations apply entrywise
        if isinstance(expr, Hadamard):
            scalars = [a for a in args if not isinstance(a, sp.MatrixExpr)]
            return functools.reduce(operator.mul, args) if scalars else sp.hadamard_product(*args)
    if isinstance(expr, Hadamard):
        return sp.Mul(*args)
    return expr.func(*args)


def _bound(expr: sp.Basic) -> set[sp.Symbol]:
    """Summation indices of the Sums and Products in ``expr``."""
    return {lim[0] for s in expr.atoms(sp.Sum, sp.Product) for lim in s.limits}


def _exact_floats(expr: sp.Basic) -> sp.Basic:
    """Replace each Float by the decimal it prints as (0.044715 -> 8943/200000)."""
    exact = {}
    for f in expr.atoms(sp.Float):
        d = decimal(str(f))
        if d is not None:
            exact[f] = d.value
    return expr.xreplace(exact) if exact else expr


# ----------------------------------------------------------------------------------------------
# Judging


def _describe(value: sp.Basic) -> str:
    """A short readable form of a derived value (floats to 6 digits, intervals as [a, b))."""
    if isinstance(value, sp.Interval):
        lo = "(" if value.left_open else "["
        hi = ")" if value.right_open else "]"
        return f"{lo}{_describe(value.start)}, {_describe(value.end)}{hi}"
    if value == sp.S.Reals:
        return "R"
    floats = value.atoms(sp.Float) if isinstance(value, sp.Basic) else set()
    if floats:
        value = value.xreplace({f: sp.Float(f, 6) for f in floats})
    return sp.sstr(value)


def _verdict(proof: Proof) -> str:
    """correct for proven/agrees, error for refuted, unknown otherwise (never correct)."""
    return {"proven": "correct", "agrees": "correct", "refuted": "error"}.get(proof.verdict, "unknown")


COMPARE_ERRORS = (TypeError, ValueError, KeyError, ZeroDivisionError, NotImplementedError, AttributeError,
                  RecursionError, sp.PolynomialError, sp.ShapeError)


def expected_of(claim: Claim) -> str:
    """What the derivation (or the exact value of a quantity) says, as short text."""
    if claim.quantity is not None:
        return _describe(sp.N(claim.quantity.expr, 10))
    assert claim.formula is not None
    target = derived(claim.formula)
    return _describe(target.rhs if isinstance(target, sp.Equality) else target)


def judge_formula(claim: Claim, written: Written, explicit: Mapping[str, sp.Basic]) -> Finding:
    """Compare the formula written at the claim's place with the derivation."""
    formula = claim.formula
    assert formula is not None
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    target = derived(formula)
    expected = expected_of(claim)
    if formula.stated is None:
        return _unstated(base, formula, written, explicit, expected)
    context = context_for(formula)
    try:
        parsed = _parse_written(written, context)
    except NotationError as e:
        return _finding(base, written.line, "unparsed", f"cannot read {written.text!r}: {e}", written.text, expected)
    rhs = target.rhs if isinstance(target, sp.Equality) else target
    if isinstance(rhs, sp.Set):
        if not isinstance(parsed, sp.Set):
            return _finding(base, written.line, "unparsed", "expected a set (an interval or \\mathbb{R})",
                            written.text, expected)
        proof = compare_sets(rhs, parsed)
        if proof.verdict == "refuted" and _interval_at_precision(rhs, parsed, written.text):
            proof = Proof("agrees", "the endpoints agree at the precision written", 0)
        symbols: dict[str, str] = {}
    else:
        try:
            parsed, symbols = align(parsed, formula, rhs, explicit)
        except sp.ShapeError as e:
            return _finding(base, written.line, "error", f"the product as written is undefined: {e}",
                            written.text, expected)
        except COMPARE_ERRORS as e:
            return _finding(base, written.line, "unknown", f"cannot map the notes' symbols ({e})",
                            written.text, expected)
        leftover = sorted(s.name for s in _free_plain(parsed) - _free_plain(rhs)
                          if s.name not in formula.domain)
        if leftover:
            return _finding(base, written.line, "unknown", f"symbols {leftover} of the notes have no counterpart in "
                            f"record {formula.key!r}; add them to the record's notation", written.text,
                            expected, symbols)
        matrices = isinstance(rhs, sp.MatrixExpr) or isinstance(parsed, sp.MatrixExpr)
        try:
            try:
                proof = check_equal(rhs, parsed, formula.domain, formula.regions)
            except COMPARE_ERRORS:
                if not matrices:
                    raise
                proof = Proof("unknown", "no symbolic comparison of matrix expressions", 0)
            if proof.verdict == "unknown" and matrices:
                proof = matrix_witness(rhs, parsed)
        except COMPARE_ERRORS as e:
            return _finding(base, written.line, "unknown", f"comparison failed ({type(e).__name__}: {e})",
                            written.text, expected, symbols)
    verdict = _verdict(proof)
    read = _describe(parsed)
    if verdict == "correct":
        message = f"{proof.verdict} ({proof.method})"
    elif verdict == "error":
        message = f"written {read}, derived {expected}: {proof.detail or proof.method}"
    else:
        message = f"undecided: {proof.detail or proof.method}"
    drift = _drift(formula, parsed, rhs, proof)
    return _finding(base, written.line, verdict, message + drift, written.text, expected, symbols)


def matrix_witness(derived_expr: sp.Basic, written: sp.Basic, trials: int = 4, seed: int = 0) -> Proof:
    """Compare matrix expressions at random sizes (1..4) and random rational entries.

    A size at which the written product is undefined, or a pair of values that differ, refutes it;
    agreement at every trial is "agrees" (evidence, not a proof).
    """
    import random

    rng = random.Random(seed)
    sizes = sorted({s for e in (derived_expr, written) for m in e.atoms(sp.MatrixSymbol)
                    for s in sp.Tuple(*m.shape).free_symbols}, key=str)
    for trial in range(trials):
        at = {s: sp.Integer(rng.randint(1, 4)) for s in sizes}
        values: dict[tuple[str, tuple[int, int]], sp.ImmutableMatrix] = {}

        def concrete(e: sp.Basic, at: dict = at, values: dict = values) -> sp.Basic:
            sized = e.xreplace(at)
            table = {}
            for m in sized.atoms(sp.MatrixSymbol):
                key = (str(m.name), (int(m.shape[0]), int(m.shape[1])))
                if key not in values:
                    values[key] = sp.ImmutableMatrix(*key[1], lambda i, j: sp.Rational(rng.randint(-9, 9), 7))
                table[m] = values[key]
            return sp.ImmutableMatrix(sized.xreplace(table).doit())

        want = concrete(derived_expr)
        try:
            have = concrete(written)
        except (sp.ShapeError, ValueError, TypeError) as e:
            return Proof("refuted", "random sizes and entries", trial,
                         f"undefined at sizes {dict(sorted((str(k), int(v)) for k, v in at.items()))}: {e}")
        if want.shape != have.shape or want != have:
            return Proof("refuted", "random sizes and entries", trial,
                         f"differs at sizes {dict(sorted((str(k), int(v)) for k, v in at.items()))}")
    return Proof("agrees", f"random sizes and entries ({trials} trials)", trials)


def _interval_at_precision(derived_set: sp.Basic, written: sp.Basic, text: str) -> bool:
    """Whether two intervals agree when each decimal endpoint written is judged at its own precision."""
    if not (isinstance(derived_set, sp.Interval) and isinstance(written, sp.Interval)):
        return False
    if (derived_set.left_open, derived_set.right_open) != (written.left_open, written.right_open):
        return False
    inner = text.strip()
    inner = re.sub(r"^\\left", "", inner)[1:]
    inner = re.sub(r"\\right\s*$", "", inner[:-1])
    ends = [e.strip() for e in inner.split(",")]
    if len(ends) != 2:
        return False
    for have, want, end_text in ((derived_set.start, written.start, ends[0]), (derived_set.end, written.end, ends[1])):
        if have == want:
            continue
        number = decimal(end_text)
        if number is None or not have.is_number or not _rounds_to(sp.N(have, 50), number):
            return False
    return True


def _parse_written(written: Written, context: Context) -> sp.Basic:
    """Parse a written fragment according to how it is to be read."""
    if written.mode == "set":
        return parse_set(written.text, context)
    if written.mode == "cell":
        return parse_prose_cases(written.segments, context)
    return parse_expr_latex(written.text, context)


def _drift(formula: Formula, parsed: sp.Basic, derived_rhs: sp.Basic, proof: Proof) -> str:
    """A note when the notes no longer say what the record's ``stated`` expects (``proof``: parsed vs derived)."""
    stated = formula.stated
    if stated is None:
        return ""
    if stated == derived_rhs and not isinstance(stated, sp.Set):  # the same comparison was just made
        return f" (the record expects the notes to say {_describe(stated)})" if proof.verdict == "refuted" else ""
    if isinstance(stated, sp.Set) or isinstance(parsed, sp.Set):
        return "" if stated == parsed else f" (the record expects the notes to say {_describe(stated)})"
    try:
        proof = check_equal(stated, parsed, formula.domain, formula.regions)
    except COMPARE_ERRORS:
        return ""
    return f" (the record expects the notes to say {_describe(stated)})" if proof.verdict == "refuted" else ""


def _unstated(base: dict[str, str], formula: Formula, written: Written, explicit: Mapping[str, sp.Basic],
              expected: str) -> Finding:
    """A record whose notes state no closed form: info, unless what is written contradicts the definition."""
    message = f"the notes state no closed form; derived: {expected}"
    definition = formula.definition
    names = {s.name for s in _free_plain(definition)} if isinstance(definition, sp.Expr) else set()
    if written.mode != "expr" or not names or not names <= set(formula.domain):
        return _finding(base, written.line, "not stated", message, written.text, expected)
    try:
        parsed = parse_expr_latex(written.text, context_for(formula))
        parsed, symbols = align(parsed, formula, definition, explicit)
        proof = check_equal(_exact_floats(definition), parsed, formula.domain, formula.regions)
    except (NotationError, *COMPARE_ERRORS):
        return _finding(base, written.line, "not stated", message, written.text, expected)
    if proof.verdict == "refuted":
        return _finding(base, written.line, "error", f"written {_describe(parsed)} is not the record's definition "
                        f"{_describe(definition)}: {proof.detail}", written.text, expected, symbols)
    verdict = "definition" if proof.verdict in ("proven", "agrees") else "not stated"  # it defines the record
    return _finding(base, written.line, verdict, f"written form matches the record's definition "
                    f"({proof.verdict}); derived: {expected}", written.text, expected, symbols)


def _short(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters (for messages; the full forms stay in stated/expected)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge_quantity(claim: Claim, written: Written) -> Finding:
    """Judge the number written at the claim's place at the precision it is written with."""
    q = claim.quantity
    assert q is not None
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    exact = sp.N(q.expr, 50)
    number = decimal(written.text)
    if number is None:
        return _finding(base, written.line, "unparsed", f"expected a number, found {written.text!r}", written.text,
                        _describe(exact))
    if q.stated is None:
        return _finding(base, written.line, "not stated", "the record expects no number here", written.text,
                        fixed(exact, number.places))
    verdict, message = judge_number(number, q.expr, q.rounded_expr)
    if number.text != q.stated:
        message += f" (the record expects {q.stated})"
    return _finding(base, written.line, verdict, message, number.text, fixed(exact, number.places))


def judge_number(number: Decimal, exact: sp.Expr, rounded: sp.Expr | None = None) -> tuple[str, str]:
    """correct if ``exact`` rounds to the written number at its precision; warning if only ``rounded`` does."""
    value = sp.N(exact, 50)
    shown = fixed(value, number.places)
    if _rounds_to(value, number):
        return "correct", f"exact value {_describe(sp.N(exact, 10))} rounds to {shown}"
    if rounded is not None and _rounds_to(sp.N(rounded, 50), number):
        return "warning", (f"right only with rounded intermediates: exact value rounds to {shown}, "
                           f"the rounded computation gives {fixed(sp.N(rounded, 50), number.places)}")
    return "error", f"written {number.text}, exact value {_describe(sp.N(exact, 10))} rounds to {shown}"


def _finding(base: Mapping[str, str], line: int | None, verdict: str, message: str, stated: str | None,
             expected: str | None, symbols: Mapping[str, str] | None = None) -> Finding:
    """Build a Finding with the severity that belongs to its verdict."""
    return Finding(base["claim"], line, SEVERITY[verdict], message, stated, expected, verdict,
                   base["section"], base["kind"], dict(symbols or {}))


def base_of(claim: Claim) -> dict[str, str]:
    """The claim, section and kind every finding on ``claim`` carries."""
    return {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}


def judge_by_subject(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic],
                     taken: set[tuple[int, int, int, int]]) -> tuple[Finding, Written | None]:
    """Find the statement whose subject is the record's (``verify.matching``), read it, and judge it."""
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    if claim.formula is not None:
        names = record_names(claim.formula.definition, claim.formula.stated, derived(claim.formula))
    else:
        names = frozenset()
    number_ok = claim.formula is not None and isinstance(claim.formula.stated, sp.Number)
    local = claim.definition is not None or claim.quantity is not None or number_ok
    found = find(notes, claim.locator, names, taken, numeric=claim.quantity is not None, number_ok=number_ok,
                 local=local)
    if found is None:
        return _finding(base, None, "not found", f"no statement of the file says what {claim.locator.subject} "
                        "equals", None, None), None
    if claim.quantity is not None:
        written = Written(found.member.text.strip(), "number", found.line, found.math, found.clause)
        finding = judge_quantity(claim, written)
    else:
        assert claim.formula is not None
        is_set = isinstance(_rhs(derived(claim.formula)), sp.Set)
        written = Written(found.member.text.strip(), "set" if is_set else "expr", found.line, found.math,
                          found.clause)
        finding = judge_formula(claim, written, explicit)
    if claim.definition is not None:
        finding = _as_definition(finding, claim.definition)
    if finding.verdict not in DECIDED and (claim.definition is not None
                                           or not notes.in_section(found.line, claim.locator.section)):
        return _finding(base, None, "not found", f"the statement about {claim.locator.subject} at line "
                        f"{found.line} could not be read as this record's definition or lies outside its "
                        "section", None, None), None
    if found.others:
        finding = replace(finding, message=f"{finding.message} ({found.others} other statement(s) of the file "
                                           "have this subject as closely; the first is used)")
    return finding, written


def judge_in_row(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic]) -> tuple[Finding, Written | None]:
    """Find the table row that defines the record's function, read the cell that states its fact, and judge it."""
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    found = find_row(notes, claim.locator)
    if found is None:
        return _finding(base, None, "not found", f"no table row of the file defines {claim.locator.row} with a "
                        f"cell for its {claim.locator.fact}", None, None), None
    try:
        written = read_cell(notes, claim, found)
    except UnreadableError as e:
        unstated = claim.formula is not None and claim.formula.stated is None
        verdict = "not stated" if unstated else "unparsed"
        message = f"the notes state no closed form; derived: {expected_of(claim)}" if unstated else str(e)
        return _finding(base, found.row.line, verdict, message, None, expected_of(claim)), None
    finding = judge_formula(claim, written, explicit)
    if found.others:
        finding = replace(finding, message=f"{finding.message} ({found.others} other row(s) define this function; "
                                           "the first is used)")
    return finding, written


def _closeness(claim: Claim, found: Found, explicit: Mapping[str, sp.Basic]) -> tuple[int, int, int] | None:
    """How close a candidate is to the record's stated form: (2, ...) proven equal, (1, names, -size gap) else.

    A candidate that cannot be read, or that uses a name the record does not know, is no candidate; one
    that differs from the stated form is close only when it uses exactly the stated form's names.
    """
    formula = claim.formula
    if formula is None or formula.stated is None or isinstance(formula.stated, sp.Set):
        return None
    stated = _rhs(formula.stated)
    text = found.member.text.strip()
    try:
        parsed, _ = align(parse_expr_latex(text, context_for(formula)), formula, stated, explicit)
    except (NotationError, *COMPARE_ERRORS):
        return None
    if not isinstance(parsed, sp.Expr) or isinstance(parsed, sp.MatrixExpr):
        return None
    mine, theirs = _free_plain(parsed), _free_plain(stated)
    if mine - theirs - {s for s in mine if s.name in formula.domain}:
        return None
    try:
        proof = check_equal(stated, parsed, formula.domain, formula.regions)
    except COMPARE_ERRORS:
        return None
    if proof.verdict in ("proven", "agrees"):
        return (2, 0, 0)
    if stated.is_number:  # a number written in place of the stated one: the closest lone number
        lone = len(found.clause.members) == 1 and parsed.is_number
        return (1, 0, -int(1000 * abs(sp.N(parsed - stated)))) if lone else None
    try:
        raw = parse_expr_latex(text, context_for(formula))
    except NotationError:
        return None
    spelled = SpellingBlind(explicit)
    raw = raw.xreplace({x: spelled[x.name] for x in raw.atoms(sp.Symbol) if x.name in spelled})
    (names, functions), (want, wanted) = _name_parts(raw), _name_parts(stated)
    if not names & want or _name_parts(parsed)[0] != want:  # none of the record's names, or others than its
        return None
    if wanted and functions and not functions & wanted:  # an edited e^{z_i} applies exp, not a ReLU's cases
        return None
    gap = abs(sp.count_ops(parsed) - sp.count_ops(stated))
    return (1, len(functions & wanted) - len(functions ^ wanted), -gap)


def _name_parts(expr: sp.Basic) -> tuple[frozenset[str], frozenset[str]]:
    """The canonical names an expression uses (symbols and indexed bases, indices left out), and its functions."""
    functions = frozenset(type(f).__name__ for f in expr.atoms(sp.Function))
    return record_names(expr) - functions, functions


def judge_by_form(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic],
                  taken: set[tuple[int, int, int, int]]) -> tuple[Finding, Written | None]:
    """Find the member of the record's section that is its stated form (else the closest one), read it, judge it."""
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    best: tuple[tuple[int, int, int], Found] | None = None
    for found in candidates(notes, claim.locator.section):
        where = (found.math.line, found.math.col, found.clause.start, found.member.start)
        if where in taken:
            continue
        score = _closeness(claim, found, explicit)
        if score is not None and (best is None or score > best[0]):
            best = (score, found)
            if score[0] == 2:
                break
    if best is None:
        return _finding(base, None, "not found", f"no statement of section {claim.locator.section} states "
                        f"{expected_of(claim)} or an expression in its names", None, None), None
    found = best[1]
    taken.add((found.math.line, found.math.col, found.clause.start, found.member.start))
    written = Written(found.member.text.strip(), "expr", found.line, found.math, found.clause)
    finding = judge_formula(claim, written, explicit)
    if claim.definition is not None:
        finding = _as_definition(finding, claim.definition)
    return finding, written


def judge(notes: Notes, claim: Claim, explicit: Mapping[str, sp.Basic],
          taken: set[tuple[int, int, int, int]] | None = None) -> tuple[Finding, Written | None]:
    """Find one claim in the notes, read what is written there, and judge it."""
    reader = claim.formula.code if claim.formula is not None else None
    if claim.locator.kind == "code" and claim.locator.subject and reader is not None:
        line = defined_at(notes, claim.locator.section, claim.locator.subject)
        if line is None:
            return _finding(base_of(claim), None, "not found", f"no Python listing defines {claim.locator.subject}",
                            None, None), None
        located = Located(line, re.match("", ""), 0)  # type: ignore[arg-type]
        return judge_code(notes, claim, located, reader), None
    if claim.locator.subject:
        return judge_by_subject(notes, claim, explicit, set() if taken is None else taken)
    if claim.locator.row is not None:
        return judge_in_row(notes, claim, explicit)
    if not claim.locator.pattern and claim.locator.kind != "prose":
        return judge_by_form(notes, claim, explicit, set() if taken is None else taken)
    if not claim.locator.pattern:  # words no phrase of verify.matching reads: never a verdict of its own
        return _finding(base_of(claim), None, "not found", "stated only in words the audit does not read "
                        "(no row of verify.matching.PHRASES says it)", None, None), None
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    try:
        located = locate(notes, claim.locator)
    except re.error as e:
        return _finding(base, None, "not found", f"locator pattern of {claim.key!r} does not compile: {e}",
                        None, None), None
    if located is None:
        span = notes.section_span(claim.locator.section)
        where = f"lines {span[0]}-{span[1]}" if span else "no such section in the file"
        head = next((h.line for h in notes.headings if h.section == claim.locator.section), None)
        return _finding(base, head, "not found", f"not found in section {claim.locator.section} ({where}): "
                        f"no line matches /{claim.locator.pattern}/", None, None), None
    reader = claim.formula.code if claim.formula is not None else None
    if reader is not None and claim.locator.kind == "code":
        return judge_code(notes, claim, located, reader), None
    if not _group(located.match) and claim.locator.kind in AS_READ:
        return _finding(base, located.line, "unknown", f"a {claim.locator.kind} claim the audit cannot read: "
                        "no verdict is given", None, expected_of(claim)), None
    try:
        written = read(notes, claim, located)
    except UnreadableError as e:
        unstated = claim.formula is not None and claim.formula.stated is None
        verdict = "not stated" if unstated else "unparsed"
        message = f"the notes state no closed form; derived: {expected_of(claim)}" if unstated else str(e)
        return _finding(base, located.line, verdict, message, None, expected_of(claim)), None
    finding = judge_quantity(claim, written) if claim.quantity is not None else judge_formula(claim, written, explicit)
    if claim.definition is not None:
        finding = _as_definition(finding, claim.definition)
    if located.others:
        finding = replace(finding, message=f"{finding.message} (the pattern also matches {located.others} later "
                                           f"line(s) of the section; the first is used)")
    return finding, written


#: Seeds the XOR listing's training is repeated with, to say how typical its stated output is.
LISTING_SEEDS = tuple(range(20))
#: Most numbers of a run's printed line a finding shows (a run may print anything; we show what we compare).
SHOWN_NUMBERS = 16


@functools.lru_cache(maxsize=8)
def _run_listing(code: str) -> RunResult:
    """Run a screened listing in the bubblewrap sandbox once per process (audits of edited copies share the run)."""
    return run_listing(code)


@functools.lru_cache(maxsize=8)
def _trained(setup: XorSetup) -> tuple[tuple[float, ...], tuple[tuple[float, ...], ...]]:
    """The generated kernels' predictions for the listing's own seed, and for each of ``LISTING_SEEDS``."""
    own = xor_training(setup, [setup.seed])[0]
    seeds = xor_training(setup, list(LISTING_SEEDS))
    return tuple(own.tolist()), tuple(tuple(p) for p in seeds.tolist())


def _seeds_reaching(setup: XorSetup, stated: tuple[float, ...]) -> tuple[int, int]:
    """How many of ``LISTING_SEEDS`` reach the stated output when the XOR training reruns with the generated kernels."""
    _, predictions = _trained(setup)
    return sum(close_to(list(p), list(stated)) for p in predictions), len(LISTING_SEEDS)


def _numbers(values: Iterable[float]) -> str:
    """Numbers we parsed or computed, as ``[0.03, 0.97]`` (at most ``SHOWN_NUMBERS`` of them)."""
    values = list(values)
    more = f", ... {len(values) - SHOWN_NUMBERS} more" if len(values) > SHOWN_NUMBERS else ""
    return f"[{', '.join(f'{v:.3g}' for v in values[:SHOWN_NUMBERS])}{more}]"


def _setup_words(setup: XorSetup, epochs: int) -> str:
    """The listing's setup as our finding states it, saying when the epochs were capped."""
    cap = (f"{EPOCH_CAP} epochs (capped: the listing says {setup.epochs:.3g})" if setup.epochs > EPOCH_CAP
           else f"{epochs} epochs")
    return f"seed {setup.seed}, learning rate {setup.eta:g}, init scale {setup.init_std:g}, {cap}"


def _read_listing(base: Mapping[str, str], line: int, setup: XorSetup | None, stated: list[float]) -> Finding:
    """Judge a listing's stated output without running it: the generated kernels trained on its own setup."""
    shown = _numbers(stated)
    if setup is None:
        return _finding(base, line, "not run", "not run (listings are read, never run; pass --run-listings to run "
                        "them isolated): its setup (seed, learning rate, epochs, init) cannot be read from its code, "
                        "so its stated output is not checked", shown, None)
    used = capped(setup)
    own, _ = _trained(used)
    reached, total = _seeds_reaching(used, tuple(stated))
    got = _numbers(own)
    verdict = "correct" if close_to(list(own), stated) else "error"
    how = (f"not run (listings are read, never run): the generated kernels, trained on the listing's setup read "
           f"from its code ({_setup_words(setup, used.epochs)}), predict {got}")
    tally = f"; {reached} of {total} seeds ({LISTING_SEEDS[0]}-{LISTING_SEEDS[-1]}) reach it"
    message = (f"{how}, as the listing states (≈ {shown}){tally}" if verdict == "correct"
               else f"{how}, but the listing states ≈ {shown}{tally}")
    return _finding(base, line, verdict, message, shown, got)


def _ran_listing(base: Mapping[str, str], line: int, code: str, label: str | None, stated: list[float]) -> Finding:
    """Judge a listing's stated output by running it in the sandbox; only numbers we parse are shown."""
    shown = _numbers(stated)
    result = _run_listing(code)
    if result.timed_out or result.returncode != 0:
        why = "timed out in the sandbox" if result.timed_out else f"{raised(result.stderr)} in the sandbox"
        return _finding(base, line, "error", f"the listing {why}", shown, None)
    values = printed_vector(result.stdout, label) if label else None
    if values is None:
        cut = " (its output passed 1 MiB and was cut there)" if result.truncated else ""
        return _finding(base, line, "error", f"the listing ran in the sandbox but printed no such line{cut}", shown,
                        None)
    got = _numbers(values)
    verdict = "correct" if close_to(values, stated) else "error"
    message = (f"ran isolated (bubblewrap) and printed {got}, as the listing states (≈ {shown})"
               if verdict == "correct" else f"the listing states ≈ {shown} but running it isolated prints {got}")
    return _finding(base, line, verdict, message, shown, got)


def listing_findings(notes: Notes, *, run: bool = False) -> list[Finding]:
    """A finding per Python listing: check the output stated in it ('# ≈ [...]' on a print line).

    By default nothing is run: the XOR training is re-run with the generated kernels on the listing's
    own setup, read from its syntax tree. With ``run`` (``--run-listings``), a listing the screen lets
    through runs in the bubblewrap sandbox and its printed numbers are compared. A listing the screen
    refuses (another library, anything outside the screened subset) is never run.
    """
    out = []
    for code in notes.code:
        if code.info.split()[:1] != ["python"]:
            continue
        base = {"claim": f"listing@{code.line}", "section": code.section, "kind": "code"}
        printed = [(k, ln) for k, ln in enumerate(code.text.splitlines()) if "print(" in ln and stated_vector(ln)]
        refused = screen(code.text)
        if refused:
            out.append(_finding(base, code.line, "not run", f"not run: {'; '.join(sorted(set(refused)))} (only "
                                "NumPy listings are checked)", None, None))
            continue
        if not printed:
            out.append(_finding(base, code.line, "not run", "not run: no print line states an output "
                                "('# ≈ [...]')", None, None))
            continue
        k, text = printed[0]
        line = code.line + 1 + k
        stated = stated_vector(text) or []
        if run:
            label = re.search(r"print\(\s*[\"']([^\"']+)[\"']", text)
            out.append(_ran_listing(base, line, code.text, label.group(1) if label else None, stated))
        else:
            out.append(_read_listing(base, line, read_xor_setup(code.text), stated))
    return out


def judge_code(notes: Notes, claim: Claim, located: Located, reader: CodeClaim) -> Finding:
    """Read what a listing line computes (from its syntax tree, never running it) and compare with the derivation."""
    formula = claim.formula
    assert formula is not None
    base = {"claim": claim.key, "section": claim.locator.section, "kind": claim.locator.kind}
    written = notes.lines[located.line - 1].split("#")[0].strip()
    expected = expected_of(claim)
    code = notes.code_at(located.line)
    if code is None:
        return _finding(base, located.line, "unparsed", "the line is not inside a code block", written, expected)
    name = reader.name
    try:
        if reader.parameter is not None:
            stated = read_function(code.text, name, reader.parameter)
        else:
            assert reader.env is not None  # CodeClaim checks that it has one of the two
            value = read_assignment(code.text, reader.env(), name)
            if value is None:
                return _finding(base, located.line, "unparsed", f"the listing assigns no {name}", written, expected)
            stated = reader.project(value)
    except CodeShapeError as e:
        return _finding(base, located.line, "error", f"as written: {e}", written, expected)
    except CodeTooLargeError as e:
        return _finding(base, located.line, "unknown", f"unknown: too large to decide ({e})", written, expected)
    except (RecursionError, MemoryError) as e:
        return _finding(base, located.line, "unknown", f"unknown: too large to decide ({type(e).__name__} while "
                        "reading the listing)", written, expected)
    except CodeReadError as e:
        return _finding(base, located.line, "unparsed", f"cannot read the listing: {e}", written, expected)
    except ValueError as e:  # a shape that does not fit the array it is the gradient of
        return _finding(base, located.line, "error", f"as written: {e}", written, expected)
    try:
        proof = check_equal(_rhs(derived(formula)), stated, formula.domain, formula.regions)
    except COMPARE_ERRORS as e:
        return _finding(base, located.line, "unknown", f"comparison failed ({type(e).__name__}: {e})",
                        written, expected)
    verdict = _verdict(proof)
    message = {"correct": f"the code as written computes what SymPy derived: {proof.verdict} ({proof.method})",
               "error": f"the code as written does not compute what SymPy derived: {proof.detail or proof.method}"
               }.get(verdict, f"undecided: {proof.detail or proof.method}")
    return _finding(base, located.line, verdict, message, written, _short(expected))


def _as_definition(finding: Finding, d: Definition) -> Finding:
    """Reword a definition's finding: a match is the verdict "definition", a mismatch an error about the definition."""
    source = f" ({d.source})" if d.source else ""
    if finding.verdict == "correct":
        return replace(finding, verdict="definition",
                       message=f"a definition, written as the derivations use it{source}: {finding.message}")
    if finding.verdict == "error":
        return replace(finding, message=f"the notes define {d.title.lower()} differently from the derivations"
                                        f"{source}: {finding.message}")
    return finding


# ----------------------------------------------------------------------------------------------
# Every other fragment: arithmetic chains, notation, unchecked


@dataclass(frozen=True)
class Term:
    """A member of a chain that evaluates to a number (or a matrix of numbers)."""

    text: str
    value: sp.Basic
    literal: tuple[Decimal, ...] | None  # the numerals, when the member is written as plain numbers


def _numeric(value: sp.Basic) -> bool:
    """Whether ``value`` is a number, or a matrix of numbers, with no symbols or unknown functions."""
    if isinstance(value, sp.MatrixBase):
        return all(_numeric(x) for x in value)
    return (isinstance(value, sp.Expr) and value.is_number is True and not value.atoms(sp.core.function.AppliedUndef)
            and not value.has(sp.nan, sp.zoo, sp.oo, -sp.oo))  # oo - oo is no number to compare


def _literal(text: str, value: sp.Basic) -> tuple[Decimal, ...] | None:
    """The numerals of a member written only as numbers (``0.2689``, ``[0.5175,\\, 0.5474]``, a bmatrix)."""
    single = decimal(text)
    if single is not None:
        return (single,)
    if not isinstance(value, sp.MatrixBase):
        return None
    body = text.strip()
    one_env = re.fullmatch(r"\\begin\{([a-zA-Z]*matrix)\}(?:(?!\\begin).)*\\end\{\1\}", body, re.DOTALL)
    one_row = re.fullmatch(r"(?:\\left)?\[[^\[\]]*(?:\\right)?\]", body)
    if not (one_env or one_row):
        return None
    rest = re.sub(r"\\(?:begin|end)\{[a-zA-Z]*matrix\}|\\\\|&|[\[\],]|\\[,;!]|\\(?:left|right)|\s", " ", text)
    numerals = [decimal(t) for t in rest.split()]
    if not numerals or any(d is None for d in numerals) or len(numerals) != len(value):
        return None
    return tuple(d for d in numerals if d is not None)


def _matches(literal: tuple[Decimal, ...], value: sp.Basic) -> bool:
    """Whether every written numeral is ``value`` (entry by entry) rounded at the numeral's precision."""
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    if len(entries) != len(literal):
        return False
    return all(_exact_equal(v, d.value) if d.places == 0 else _rounds_to(sp.N(v, 50), d)
               for v, d in zip(entries, literal, strict=True))  # a written integer is exact


def _show(value: sp.Basic, like: tuple[Decimal, ...]) -> str:
    """``value`` rounded like the numerals it is compared with."""
    entries = list(value) if isinstance(value, sp.MatrixBase) else [value]
    if len(entries) != len(like):
        return _describe(value)
    shown = [fixed(v, d.places) for v, d in zip(entries, like, strict=True)]
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def numeric_terms(clause: Clause) -> list[Term]:
    """The members of a clause that parse to numbers, in order."""
    out = []
    for member in clause.members:
        try:
            value = parse_expr_latex(member.text)
        except NotationError:
            continue
        if _numeric(value):
            out.append(Term(member.text, value, _literal(member.text, value)))
    return out


def arithmetic(clause: Clause) -> tuple[str, str] | None:
    """Check a chain like ``0.5(0.5175)+0.6(0.5474) = 0.5872``; None if it is not a numeric chain.

    A numeral is correct when the first computed member before it rounds to it; a warning when only
    the last computed member before it does (it was computed from rounded intermediates); else an
    error. Two computed members with no decimals in them must be exactly equal.
    """
    terms = numeric_terms(clause)
    if len(terms) < 2:
        return None
    verdicts: list[str] = []
    notes: list[str] = []
    for k, term in enumerate(terms):
        before = [t for t in terms[:k] if t.literal is None]
        if term.literal is None:
            if before and "." not in term.text and "." not in before[-1].text:
                same = _exact_equal(before[-1].value, term.value)
                verdicts.append("correct" if same else "error")
                if not same:
                    notes.append(f"{term.text} differs from {before[-1].text}")
            continue
        if not before:
            continue
        first, last = before[0], before[-1]
        written = ", ".join(d.text for d in term.literal)
        if _matches(term.literal, first.value):
            verdicts.append("correct")
        elif _matches(term.literal, last.value):
            verdicts.append("warning")
            notes.append(f"{written}: right only with rounded intermediates ({first.text} gives "
                         f"{_show(first.value, term.literal)}, {last.text} gives {_show(last.value, term.literal)})")
        else:
            verdicts.append("error")
            notes.append(f"written {written}, but {first.text} gives {_show(first.value, term.literal)}")
    if not verdicts:
        return None
    for v in ("error", "warning"):
        if v in verdicts:
            return v, "numeric chain: " + "; ".join(notes)
    return "correct", f"numeric chain: {len(verdicts)} value(s) consistent"


def _exact_equal(a: sp.Basic, b: sp.Basic) -> bool:
    """Exact equality of two numbers or numeric matrices (to 50 digits where irrational)."""
    if isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase):
        if not (isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase)) or a.shape != b.shape:
            return False
        return all(_exact_equal(x, y) for x, y in zip(a, b, strict=True))
    diff = sp.N(a - b, 50)
    return diff == 0 or abs(diff) < sp.Float(10) ** -40


def clause_verdict(clause: Clause) -> tuple[str, str]:
    """Notation or unchecked, for a clause that states no relation (a relation gets its links judged)."""
    if any(r"\dots" in m.text or r"\ldots" in m.text for m in clause.members):
        return "notation", "an index range"
    if any(re.search(r"\\arg\s*\\?(min|max)", m.text) for m in clause.members):
        return "notation", "the definition of an optimum"
    call = r"[A-Za-z]\w*(_\{[^{}]*\})?\((\\?[\w{}^ ]+,?\s*)+\)"  # L(\hat{y}, y): a name and its arguments
    if re.fullmatch(call, clause.members[0].text.strip()):
        return "notation", "a function named with its arguments"
    try:
        parse_expr_latex(clause.members[0].text)
    except NotationError as e:
        return "unchecked", f"not read: {e}"
    return "notation", "a name or expression, no statement"


def fragment_verdicts(notes: Notes, findings: Iterable[Finding],
                      covered: Mapping[tuple[int, int], list[tuple[str, str, str]]]
                      ) -> tuple[list[FragmentVerdict], list[Finding], dict[int, list[str]]]:
    """A verdict for every math fragment and prose number; errors and warnings of its links become findings.

    ``covered`` maps a fragment (line, col) to (claim, clause span or "", verdict) of the claims read there.
    Every other clause is judged link by link (``verify.judge``): numeric chains by exact arithmetic at
    the precision written, everything else against the document's definitions and the catalog.
    """
    out: list[FragmentVerdict] = []
    extra: list[Finding] = []
    by_number = {(f.line, f.stated): f for f in findings if f.stated is not None}
    judged: dict[tuple[int, int], list[tuple[Statement, list[LinkVerdict]]]] = {}
    by_line: dict[int, list[str]] = {}
    tables = judge_tables(notes)
    for st, links in judge_notes(notes):
        key = (st.math.line, st.math.col)
        if not links and key in tables and len(st.clause.members) == 1:
            links = [tables.pop(key)]  # a derivative or range cell, judged against its row's function
        judged.setdefault(key, []).append((st, links))
    for m in notes.math:
        mine = covered.get((m.line, m.col), [])
        verdicts = [v for _, _, v in mine]
        reasons: list[str] = []
        spans = {span for _, span, _ in mine if span}
        whole = any(not span for _, span, _ in mine)
        for line in relation_lines(m) if mine else ():
            by_line.setdefault(line, []).extend(v for _, _, v in mine)
        for st, links in judged.get((m.line, m.col), []):
            start, end = st.offset + st.clause.start, st.offset + st.clause.end
            if f"{start}:{end}" in spans or (whole and m.kind == "inline" and m.cell is not None):
                continue
            for link in links:
                by_line.setdefault(link.line, []).append(link.verdict)
            verdict, message, found = clause_judgement(st, links)
            verdicts.append(verdict)
            reasons.append(message)
            extra.extend(replace(f, section=m.section, kind=m.kind) for f in found)
        if not verdicts:
            verdicts = ["unchecked"]
        names = tuple(dict.fromkeys(c for c, _, _ in mine))
        worst = _worst(verdicts)
        reason = next((r for v, r in zip(verdicts[len(mine):], reasons, strict=False) if v == worst), "")
        out.append(FragmentVerdict(m.line, m.col, m.kind, m.latex, worst, names, tuple(verdicts), reason))
    for n in notes.numbers:
        claim = by_number.get((n.line, n.text))
        out.append(FragmentVerdict(n.line, n.col, "number", n.text, claim.verdict if claim else "unchecked",
                                   (claim.claim,) if claim else ()))
    out.sort(key=lambda v: (v.line, v.col))
    return out, extra, by_line


def relation_lines(m: Math) -> set[int]:
    """The lines of a fragment that hold a relation (=, \\approx, \\le, \\ge, <, >, \\in, \\neq)."""
    return {m.position(x.start())[0] for x in RELATION.finditer(m.latex)}


def statement_lines(notes: Notes) -> set[int]:
    """The lines where a statement of the file writes a relation at its top level: ``a = b``, ``x \\le 1``, not
    the ``=`` of ``\\sum_{i=1}`` or of ``P(X = x)``."""
    return {st.line_at(member.start) for st in statements(notes) for member in st.clause.members[1:]}


def line_coverage(notes: Notes, by_line: Mapping[int, list[str]]) -> tuple[int, int]:
    """(lines holding a relation, those whose every verdict is decided: correct, error, warning, definition)."""
    lines = statement_lines(notes)
    decided = {line for line in lines if by_line.get(line) and all(v in DECIDED for v in by_line[line])}
    return len(lines), len(decided)


def clause_judgement(st: Statement, links: list[LinkVerdict]) -> tuple[str, str, list[Finding]]:
    """(verdict, reason, findings) of one clause: a numeric chain by arithmetic, else its links' worst."""
    if not links:
        verdict, message = clause_verdict(st.clause)
        return verdict, message, []
    equalities = all(m.relation in {"=", r"\approx"} for m in st.clause.members[1:])
    checked = arithmetic(st.clause) if equalities else None
    if checked is not None:
        verdict, message = checked
        found = [] if verdict not in {"error", "warning"} else [
            Finding(f"arithmetic@{st.line}", st.line, SEVERITY[verdict], message, st.text, None, verdict)]
        return verdict, message, found
    verdict = _worst([link.verdict for link in links])
    first = next(link for link in links if link.verdict == verdict)
    found = [Finding(f"relation@{link.line}", link.line, SEVERITY[link.verdict], f"{link.text}: {link.reason}",
                     link.text, link.expected, link.verdict) for link in links if link.verdict in {"error", "warning"}]
    return verdict, first.reason, found


def _worst(verdicts: list[str]) -> str:
    """The most serious verdict of a fragment's clauses; a checked clause beats unchecked and notation."""
    for v in VERDICT_ORDER:
        if v in verdicts:
            return v
    return verdicts[0]


# ----------------------------------------------------------------------------------------------
# Entry points


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
