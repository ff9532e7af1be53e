"""Claims that notes make in words, read as relations: a table of phrasings, one row per fact (never per record).

A row's ``pattern`` is searched in each prose line. Its named groups capture inline math (``$\\theta$``,
``$0.8$``) and the row's ``says`` templates put that math into the relation the words state, in the
row's own vocabulary: ``<X>`` is replaced by group ``X``. The group ``each`` is a chain such as
``\\mathbf{m}_0=\\mathbf{v}_0=0``: the row states its relations once for every name of the chain
(``m``, ``v``). ``quantifier`` "some" marks a claim that holds somewhere, not everywhere ("drives some
weights to zero"). A record states what it claims about the same quantity (``derive.core.about``), so
the audit matches the two by meaning, whatever the sentence around the math says.

The vocabulary of the templates: ``X_{t}`` the t-th iterate and ``X_{\\infty}`` its limit; ``D_{P}`` the
values of P at which an iteration diverges and ``C_{P}`` those at which it converges (a set is ``<``
a number when its supremum is); ``\\bar{X}_{t}`` the expectation of X_t; ``\\theta^{*}_{p}`` the
minimiser under the L1 (p = 1) or L2 (p = 2) penalty the sentence names (``PENALTIES``; a sentence that
names none states nothing) and ``\\theta^{*}_{0}`` the unpenalised one; ``\\bar{x}_{\\mathrm{drop}}`` the
expectation of a dropped-out x; ``\\tilde{y}_{i}`` a normalisation layer's output when its scale and
shift are chosen to undo it. Captured math reaches only our own LaTeX reader, never ``sympify``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from verify.latex_tokens import NotationError, clauses
from verify.notes import Math, Notes
from verify.statements import Statement

#: One inline formula that is a lone name (``$\\theta$``, ``$\\eta$``): its ``$`` opens after a space or a bracket
#: and hugs the name, so that the closing ``$`` of one formula and the opening one of the next never pair.
NAME = r"(?<![^\s(\[])\$(?P<{}>\\?[A-Za-z]+)\$"
#: Every gap between the words and formulas of a phrase is at most this many characters, so that a search is
#: linear in the line's length (a hostile line of 500 kB with a "too large" every ten characters stays fast).
GAP = 240
#: Words up to the end of the sentence: no full stop (a decimal point is allowed) and no semicolon.
SENTENCE = rf"(?:[^.;]|\.\d){{0,{GAP}}}?"
#: A gap of words (no full stop, semicolon or formula), and one that may hold a full stop.
WORDS, ANY_WORDS = rf"[^.;$]{{0,{GAP}}}?", rf"[^$]{{0,{GAP}}}?"
#: Synonyms several rows share: a step of an iteration, "by (a factor of)", some of the weights, zero.
STEP = r"(?:step|update|iteration)"
FACTOR = r"\s+by\s+(?:(?:the|a)\s+factor\s+(?:of\s+)?)?\$(?P<c>[^$]+)\$"
SOME = r"(?:some|many|several|a\s+few|certain|individual)\s+(?:of\s+the\s+)?"
ZERO = r"(?:0|zero)\b"
EXPECTED = r"(?:expect(?:ations?|ed\s+(?:values?|activations?|outputs?))|means?)"
#: The penalty a sentence names before a phrase, told by its norm or its name: one row per penalty, giving the
#: ``<p>`` of ``\\theta^{*}_{<p>}`` (the minimiser under that penalty). The mention nearest the phrase wins.
PENALTIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("1", re.compile(r"(?i)\\\|[^$|]{0,80}?\\\|_\{?1\}?|\bL1\b|\blasso\b")),
    ("2", re.compile(r"(?i)\\\|[^$|]{0,80}?\\\|(?:_\{?2\}?)?\^\{?2\}?|\bL2\b|\bweight\s+decay\b|\bridge\b")),
)
#: ``\\mathbf{m}_0`` / ``\\boldsymbol{m}_{0}`` / ``m_0``: the letter of a name at its start value.
START_VALUE = re.compile(r"^\s*(?:\\(?:mathbf|boldsymbol|bm)\{)?(?P<name>\\?[A-Za-z]+)\}?\s*_\s*\{?\s*0\s*\}?\s*$")


@dataclass(frozen=True)
class Phrase:
    """A way of saying relations in words, the relations it says (LaTeX templates), and what it means."""

    pattern: re.Pattern[str]
    says: tuple[str, ...]
    note: str = ""
    quantifier: str = ""  # "some": the relation holds for some values of the record's variables
    reads: str = ""  # what the words say, in our words with the sentence's maths (``<X>`` slots as in ``says``)


PHRASES: tuple[Phrase, ...] = (
    Phrase(re.compile(r"(?i)\bReLU\b" + SENTENCE + r"\b(?:halves|cuts|divides)\b" + SENTENCE
                      + r"\beffective variance\b(?:" + SENTENCE + r"\bin half\b|" + SENTENCE + r"\bby two\b)?"),
           (r"\text{Var}(\text{ReLU}(y)) = \frac{\text{Var}(y)}{2}",
            r"\text{EffVar}(\text{ReLU}(y)) = \frac{\text{Var}(y)}{2}"),
           "'ReLU halves the effective variance': read literally (the variance of ReLU(y)) and as the "
           "effective variance He et al. mean (the second moment of ReLU(y)); records judge each reading",
           reads="ReLU halves the (effective) variance of its input"),
    Phrase(re.compile(r"(?i)\b(?:each|every)\s+" + STEP + r"\s+(?:multiplies|scales|shrinks)\s+" + NAME.format("X")
                      + FACTOR),
           (r"<X>_{t} = (<c>)^{t} <X>_{0}",),
           "'each step multiplies X by c': the t-th iterate is c^t times the start",
           reads="each step multiplies $<X>$ by $<c>$, so that $<X>_t = (<c>)^t <X>_0$"),
    Phrase(re.compile(r"(?i)" + NAME.format("X") + r"\s+(?:is|gets)\s+(?:multiplied|scaled|shrunk)" + FACTOR
                      + r"\s+(?:at|in|on|with)\s+(?:each|every)\s+" + STEP),
           (r"<X>_{t} = (<c>)^{t} <X>_{0}",),
           "'X is multiplied by c at each step': the t-th iterate is c^t times the start",
           reads="each step multiplies $<X>$ by $<c>$, so that $<X>_t = (<c>)^t <X>_0$"),
    Phrase(re.compile(r"(?i)" + NAME.format("X") + SENTENCE + r"\b(?:converg|shrink|decay|tend|approach)\w*"
                      + WORDS + r"\bto(?:wards?)?\b" + WORDS + r"\$(?P<m>[^$]+)\$"),
           (r"<X>_{\infty} = <m>",),
           "'X converges (shrinks, tends) to m': the limit of the iterates of X is m",
           reads="the iterates $<X>_t$ converge to $<m>$"),
    Phrase(re.compile(r"(?i)\b(?:if|had\s+we\s+(?:picked|chosen|taken|used|set)|with|for)\b" + WORDS
                      + r"\$\s*(?P<P>\\?[A-Za-z]+)\s*=\s*(?P<v>[^$]+)\$" + SENTENCE
                      + r"\b(?:diverg\w*|grows?\s+without\s+bound|blows?\s+up|explod\w*)"),
           (r"<v> \in D_{<P>}",),
           "'if P = v, it diverges': v is one of the values of P at which the iteration diverges",
           reads="the iteration diverges at $<P> = <v>$"),
    Phrase(re.compile(r"(?i)" + NAME.format("P") + ANY_WORDS + r"\btoo\s+(?:large|big|high)\b" + WORDS
                      + r"(?:diverg\w*|oscillat\w*|swing\w*|grows?\b|blows?\s+up|explod\w*)"),
           (r"C_{<P>} < \infty",),
           "'P too large diverges': the values of P at which the iteration converges are bounded above",
           reads="the values of $<P>$ at which the iteration converges are bounded above"),
    Phrase(re.compile(r"(?i)\$(?P<each>[^$]+?=\s*0)\s*\$" + SENTENCE
                      + r"\b(?:biased\s+towards?\s+" + ZERO + r"|underestimat\w*)"),
           (r"|\bar{<X>}_{t}| < |\bar{<X>}_{\infty}|",),
           "'starting at X_0 = 0 biases the early estimates toward zero': |E[X_t]| is below the size it settles at",
           reads="started at zero, the expectation of $<X>_t$ is smaller in size than the value it settles at"),
    Phrase(re.compile(r"(?i)\b(?:shrink|pull|push|draw|decay)\w*\s+(?:the\s+|all\s+)?weights\s+towards?\s+" + ZERO),
           (r"|\theta^{*}_{<p>}| < |\theta^{*}_{0}|",),
           "'the penalty shrinks weights toward zero': the penalised minimiser is smaller than the unpenalised one",
           reads="the L<p> penalty makes the minimising weight smaller in size than without it"),
    Phrase(re.compile(r"(?i)\b(?:drive|push|set|force|send|make)\w*\s+" + SOME
                      + r"weights\s+(?:exactly\s+to\s+|to\s+exactly\s+|to\s+|exactly\s+)?" + ZERO),
           (r"|\theta^{*}_{<p>}| = 0",),
           "'the penalty drives some weights exactly to zero': the penalised minimiser is 0 for some losses",
           quantifier="some", reads="for some losses the L<p> penalty makes the minimising weight exactly $0$"),
    Phrase(re.compile(r"(?i)\b(?:so\s+(?:that\s+)?(?:the\s+)?" + EXPECTED + r"\s+match|"
                      r"keeps?\s+(?:their|its|the)\s+" + EXPECTED + r"\s+(?:unchanged|the\s+same)|"
                      r"preserv\w*\s+(?:the\s+|their\s+|its\s+)?" + EXPECTED + "|"
                      + EXPECTED + r"\s+(?:is|are|stays?|remains?)\s+(?:unchanged|the\s+same))"),
           (r"\bar{x}_{\mathrm{drop}} = x",),
           "'scaling the survivors keeps the expectation': E of the dropped-out x is x",
           reads="dropout leaves the expectation of each activation unchanged"),
    Phrase(re.compile(r"(?i)\b(?:(?:undo|reverse|invert|cancel)\w*\s+(?:the\s+)?(?:effect\s+of\s+(?:the\s+)?)?"
                      r"normali[sz]ation|recover\w*\s+(?:the\s+)?(?:original|un-?normali[sz]ed)\s+(?:activations?|"
                      r"inputs?|values?)|represent\w*\s+the\s+identity)"),
           (r"\tilde{y}_{i} = x_{i}",),
           "'the scale and shift can undo the normalisation': with them chosen so, the layer's output is its input",
           reads="some scale and shift make the normalisation layer's output equal to its input"),
)


def _names(chain: str) -> list[str]:
    """The letters of a chain of start values ``\\mathbf{m}_0=\\mathbf{v}_0=0`` (``m``, ``v``), else none."""
    try:
        parts = clauses(chain)
    except NotationError:
        return []
    out: list[str] = []
    for clause in parts:
        for member in clause.members[:-1]:
            hit = START_VALUE.match(member.text)
            if hit is not None:
                out.append(hit.group("name"))
    return out


def _fill(template: str, groups: dict[str, str]) -> str:
    """``template`` with every ``<name>`` replaced by the captured math of that name."""
    for name, text in groups.items():
        template = template.replace(f"<{name}>", text.strip())
    return template


def _penalty(before: str) -> str | None:
    """The penalty (``1`` or ``2``) the text before a phrase names last, or None if it names none."""
    seen = [(hit.end(), kind) for kind, pattern in PENALTIES for hit in pattern.finditer(before)]
    return max(seen)[1] if seen else None


def _fills(phrase: Phrase, hit: re.Match[str]) -> list[dict[str, str]]:
    """The slot values of a match: once, or once per name of its ``each`` chain; none if a penalty is unnamed."""
    groups = {k: v for k, v in hit.groupdict().items() if v is not None}
    if any("<p>" in t for t in phrase.says):
        penalty = _penalty(hit.string[:hit.end()])
        if penalty is None:
            return []
        groups["p"] = penalty
    if "each" in groups:
        return [{**groups, "X": name} for name in _names(groups["each"])]
    return [groups]


def said(phrase: Phrase, hit: re.Match[str]) -> list[str]:
    """The relations (LaTeX) a phrase's match states: one per template, per name of an ``each`` chain."""
    return [latex for latex, _ in readings(phrase, hit)]


def readings(phrase: Phrase, hit: re.Match[str]) -> list[tuple[str, str]]:
    """Each relation a match states with what the words say, in our words and the sentence's maths."""
    return [(_fill(t, g), _fill(phrase.reads or phrase.note, g)) for g in _fills(phrase, hit) for t in phrase.says]


def phrase_statements(notes: Notes) -> tuple[Statement, ...]:
    """The relations the file's prose states in words that ``PHRASES`` reads, each at its line."""
    out: list[Statement] = []
    code = {n for c in notes.code for n in range(c.line, c.end_line + 1)}
    for number, text in enumerate(notes.lines, start=1):
        if number in code:
            continue
        for phrase in PHRASES:
            for hit in phrase.pattern.finditer(text):
                for latex, reading in readings(phrase, hit):
                    math = Math("inline", number, hit.start(), notes.section_of(number), latex)
                    try:
                        parts = clauses(latex)
                    except NotationError:
                        continue
                    out.extend(Statement(math, 0, c, "", piece_text=latex, quantifier=phrase.quantifier,
                                         words=reading)
                               for c in parts)
    return tuple(out)


__all__: Iterable[str] = ("PHRASES", "Phrase", "phrase_statements", "readings", "said")
