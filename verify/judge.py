"""Judge every link of a statement: correct, error (with a counterexample), warning, definition or unknown.

A link is one relation of a chain (``a = b``, ``b \\approx 0.27``, ``0 < \\eta``). Both sides are read by
``verify.notation`` in its generic mode (the catalog of standard notation), the document's
definitions in scope are substituted (``verify.scope``), Leibniz derivatives and limits are taken,
and then:

- ``=``: correct when a normal form reaches zero (``derive.proof.symbolic_zero``) or every exact random
  witness agrees; error with the point, both sides' values, when one does not.
- a side written as a decimal numeral: judged at its written precision (``=`` and ``\\approx`` alike).
- ``<``, ``\\le``, ``>``, ``\\ge``, ``\\in`` an interval, ``\\neq``: decided exactly on numbers; with free
  symbols, correct only when every witness holds, else unknown (unstated assumptions are common).
- a link whose left side is a name not yet defined in its scope (or any link after "Let", "where",
  ``:=``) is a *definition*: recorded, not checked. An equality that mentions a name never seen before
  introduces it: also a definition.
- anything else is unknown, with a one-line reason naming what was not understood. Nothing is correct
  unless it was decided, and every computation runs inside a budget (``verify.budget``).

The judge is split by concern: ``verify.judge_resolve`` reads and resolves the members,
``verify.judge_decide`` decides a relation between two values, ``verify.judge_link`` chooses the decision
for one link; this module walks the statements of a file and reads the cues around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from verify.budget import TooLargeError, within
from verify.judge_decide import ConditionError, UndecidedError, decide_equal, fixed, rounds_to
from verify.judge_link import ALWAYS_DEFINES, EQUALITIES, _declares, _link, _shape_of_derivative, space_shape
from verify.judge_resolve import (
    Reading,
    _at_elided_size,
    _bold_twins,
    _names,
    context_for,
    matrix_letters,
    new_reading,
    parse_member,
    worded_names,
)
from verify.notation import NotationError, parse_set
from verify.notation_nodes import Partial
from verify.notes import Notes
from verify.reasons import Sides
from verify.scope import Scope, definable, head_name
from verify.statements import Statement, defining, statements

#: What other modules import from here (the driver's own names, and helpers that verify.audit, verify.tables and
#: reports/ have long imported from this module).
__all__ = ["BUDGET_S", "DECIDED", "LinkVerdict", "UndecidedError", "context_for", "decide_equal", "fixed",
           "hypothetical", "judge_notes", "judge_statement", "new_reading", "parse_member", "rounds_to"]

DECIDED = frozenset({"correct", "error", "warning", "definition"})
BUDGET_S = 2.0


CONDITION_AFTER = re.compile(r"(?i)^\W{0,3}(since|because|given|assuming|provided|when|if|for\s+\w+\s*[<>=])")
DECIMAL = re.compile(r"\d\.\d{2,}")
CLOSE = 1e-3


def _close(reason: str) -> bool:
    """Whether an error's two sides (the values its ``Sides`` reason carries) agree to a relative 1e-3."""
    if not isinstance(reason, Sides):
        return False
    try:
        a, b = float(str(reason.left)), float(str(reason.right))
    except ValueError:
        return False
    return abs(a - b) <= CLOSE * max(abs(a), abs(b), 1e-12)


@dataclass(frozen=True)
class LinkVerdict:
    """The verdict on one link: what, where, and why."""

    verdict: str
    reason: str
    left: str
    relation: str
    right: str
    line: int
    expected: str | None = None

    @property
    def text(self) -> str:
        """The link as written."""
        return f"{self.left.strip()} {self.relation} {self.right.strip()}"


CONDITION = "a condition or a question, not a claim: recorded, not checked"
EINSTEIN = re.compile(r"(?i)\b(einstein|summation convention)\b")
HYPOTHETICAL = re.compile(r"(?i)\b(if|when|whenever|unless|whether|mean that|such that|for some|requirement that|"
                          r"condition that|what|how|make|want|wish|need|solve|require|choose|until|"
                          r"minimi[sz]\w*|maximi[sz]\w*|minimum|maximum|optimum|optimal|attain\w*|prove)\b[^.;:$]*$")
#: Words that give a matrix a special structure; a matrix claim refuted at random matrices is then unknown.
STRUCTURE = re.compile(r"(?i)\b(orthogonal|orthonormal|symmetric|diagonal|definite|invertible|unitary|rotation|"
                       r"idempotent|projection|eigen\w*)\b")


#: "If we expand this, we get": a result follows the condition, so the statement after it is a claim.
RESULT = re.compile(r"(?i)(,|\bwe)\s+(get|obtain|have|find|arrive at|see that|see|can write)\s*:?\s*$|"
                    r"\b\w+\s+we\s+(may|can|could|will)\s+(examine|write|compute|look at|consider)\b[^.;:$]*$|"
                    r"\b(gives|yields|becomes|then|(this|that|it) is)\s*:?\s*$")


def hypothetical(cue: str) -> bool:
    """Whether the prose before a statement makes it a condition or a question rather than a claim."""
    return HYPOTHETICAL.search(cue) is not None and RESULT.search(cue) is None



# ----------------------------------------------------------------------------------------------
# A statement


def judge_statement(st: Statement, reading: Reading) -> list[LinkVerdict]:
    """Every link of one clause, in order; definitions update the reading's scope."""
    members = st.clause.members
    if len(members) < 2:
        return []
    parsed: list[sp.Basic | NotationError] = []
    ends: set[str] = set()
    matrices = matrix_letters(st.clause.text if hasattr(st.clause, "text") else " ".join(m.text for m in members))
    for k, member in enumerate(members):
        try:
            parsed.append(parse_member(member.text, reading, k == 0 and len(members) == 2, defining(st.cue),
                                       matrices, ends))
        except NotationError as e:
            parsed.append(e)
        except (RecursionError, TooLargeError, ValueError, TypeError, AttributeError) as e:
            parsed.append(NotationError(f"not read ({type(e).__name__})"))
    parsed = _at_elided_size(parsed, ends)
    parsed = _bold_twins(parsed)
    out = []
    if EINSTEIN.search(st.cue):
        reading.scope.adopt("einstein")
    condition = hypothetical(st.cue) or st.consequence
    cue = defining(st.cue)
    for k in range(len(members) - 1):
        left, right = members[k], members[k + 1]
        b = parsed[k + 1]
        if right.relation in {r"\in", r"\notin"}:
            try:
                b = parse_set(right.text, context_for(reading))
            except (NotationError, ValueError, TypeError):
                pass
        names_only = all(isinstance(parsed[j], sp.Symbol) for j in (k, k + 1)) and right.relation in EQUALITIES
        if condition and names_only:  # "one when i = k": a condition on two names never defines one of them
            verdict, reason, expected = "unknown", "", None
        else:
            verdict, reason, expected = _one_link(parsed[k], b, right.relation, reading, cue and k == 0, right.text)
        if condition and (verdict != "definition" or names_only):
            verdict, reason, expected = "definition", CONDITION, None
        if verdict == "error" and "random 3x3" in reason and STRUCTURE.search(st.cue):
            verdict, reason, expected = "unknown", "holds only for the special matrices the text describes", None
        if verdict == "error" and CONDITION_AFTER.search(st.after):
            verdict, reason, expected = "unknown", "holds only under the condition written after it", None
        if verdict == "error" and (DECIMAL.search(left.text) or DECIMAL.search(right.text)) and _close(reason):
            verdict = "warning"
            reason = f"right only with the rounded values written: {reason}"
        out.append(LinkVerdict(verdict, str(reason), left.text, right.relation, right.text, st.line_at(right.start),
                               expected))
    for value in parsed:
        if not isinstance(value, NotationError):
            reading.scope.mention(_names(value), {f.func.__name__ for f in value.atoms(AppliedUndef)})
    return out


def _one_link(a: sp.Basic | NotationError, b: sp.Basic | NotationError, relation: str, reading: Reading,
              cue: bool, right_text: str) -> tuple[str, str, str | None]:
    """(verdict, reason, expected) for one link; never raises."""
    shape = space_shape(right_text) if relation == r"\in" else None
    if relation in {r"\in", r"\to", r"\rightarrow"} and not isinstance(a, NotationError) and _declares(a):
        for x in (a.args if isinstance(a, sp.Tuple) else (a,)):
            if reading.scope.value(head_name(x)) is None:
                reading.scope.declare(head_name(x))
            if shape is not None:
                reading.scope.give_shape(head_name(x), shape)
        return "definition", "declares where a name lives", None
    if shape is not None and isinstance(a, Partial):
        return _shape_of_derivative(a, shape, reading)
    if relation in {r"\to", r"\rightarrow"} and isinstance(a, sp.Set):
        return "definition", "declares a function's domain and codomain", None
    if (isinstance(b, NotationError) and not isinstance(a, NotationError) and definable(a)
            and (relation in ALWAYS_DEFINES or relation in EQUALITIES and (cue or not reading.scope.has_value(
                head_name(a))))):
        reading.scope.declare(head_name(a))  # introduced, with a value the audit cannot read
        return "definition", f"defines {head_name(a)} (its value is not read: {b})", None
    if right_text.strip().rstrip(".").endswith("?") or right_text.strip() in {r"\;?", "?"}:
        return "definition", "a question the text goes on to answer: recorded, not checked", None
    for side in (a, b):
        if isinstance(side, NotationError):
            return "unknown", f"not read: {side}", None
    assert not isinstance(a, NotationError) and not isinstance(b, NotationError)
    try:
        with within(BUDGET_S):
            return _link(a, b, relation, reading, cue, right_text)
    except ConditionError as e:
        return "definition", f"{e}: recorded, not checked", None
    except UndecidedError as e:
        return "unknown", str(e), None
    except TooLargeError:
        return "unknown", "too large to decide within the budget", None
    except RecursionError:
        return "unknown", "too deeply nested to decide", None
    except Exception as e:  # noqa: BLE001 - one fragment's failure must not stop the audit
        return "unknown", f"could not decide ({type(e).__name__})", None


def judge_notes(notes: Notes) -> list[tuple[Statement, list[LinkVerdict]]]:
    """Judge every statement of a file in order, opening a scope at each heading."""
    reading = Reading(Scope(), worded_names(notes))
    headings = sorted(notes.headings, key=lambda h: h.line)
    paragraphs, count = [], 0
    for raw in notes.lines:
        count += not raw.strip()
        paragraphs.append(count)
    out = []
    k = 0
    for st in statements(notes):
        while k < len(headings) and headings[k].line <= st.math.line:
            reading.scope.enter(headings[k].level)
            k += 1
        reading.scope.paragraph = paragraphs[st.math.line - 1] if st.math.line <= len(paragraphs) else 0
        out.append((st, judge_statement(st, reading)))
    return out
