"""Read the LaTeX written in a notes file into SymPy, through a table of the notes' notation.

This is a small recursive-descent parser for the subset of LaTeX that deep-learning notes use
(fractions, sums, subscripts, ``\\hat``/``\\mathbf`` names, ``cases``, matrices, intervals). It
never hands notes text to ``eval``, ``exec``, ``sympify`` or ``parse_expr``: every SymPy object is
built from tokens by the rules below, numbers from their digits. Anything outside the table raises
``NotationError`` with the position, so a caller can report the fragment as "unparsed".

Why not latex2sympy2_extended: its number rule calls ``sympy.Number(text)``, which sympifies the
token text, and it builds ``sympy.Function`` objects from arbitrary command names. SymPy's own
lark backend needs ``lark`` (not installed) and knows neither ``cases`` nor ``\\text`` subscripts.

Conventions (the "notation table"):

- ``\\sigma(x)`` is the logistic sigmoid ``derive.functions.sigmoid``, ``\\Phi(x)`` the normal CDF;
  a bare ``\\sigma`` is the symbol ``sigma``. When the caller's ``Context`` names ``sigma`` among its
  functions (a record about any activation), ``\\sigma(x)`` is that undefined function instead; a
  labelled ``\\sigma^{(\\ell)}(x)`` is always an undefined function (layer l's own activation).
- ``e^{x}`` is ``exp(x)``; ``e`` alone is Euler's number; ``\\pi``, ``\\infty`` are constants.
- Names: a letter ``x``; a Greek command without backslash (``\\alpha`` -> ``alpha``); decorated
  and styled names keep their LaTeX (``\\hat y`` and ``\\hat{y}`` -> ``\\hat{y}``, ``\\mathbf{x}``).
  Bold names are vectors or matrices: their symbols do not commute, so products keep their order.
- Subscripts: letters are indices (``w_i`` -> ``IndexedBase("w")[i]``, ``i`` an integer symbol),
  ``\\delta_{ij}`` is ``KroneckerDelta(i, j)``; numbers and ``\\text{..}`` make a new name
  (``\\beta_1``, ``L_{\\text{MSE}}``) unless the caller's ``Context`` says the base is indexed.
- Superscripts: ``^{(\\ell)}`` and ``^{*}`` are part of the name (layer index, optimum);
  ``^\\top`` transposes; anything else is a power (``\\tanh^2(z)`` is ``tanh(z)**2``).
- ``\\sum_{i=1}^{N}`` binds the rest of its product term; ``\\sum_k`` runs over 1..n. A bare ``\\sum``
  with no index and nothing to sum (``e^{z_i}/(\\sum)^2``) is prose shorthand: the name ``\\sum``, which
  the record's notation table must map onto the sum it abbreviates (unmapped, the claim is "unknown").
- Norms of a vector name of the default size n: ``\\|v\\|`` and ``\\|v\\|_2`` are ``sqrt(Sum(v_i^2))``,
  ``\\|v\\|_1`` is ``Sum(|v_i|)``; a norm of anything but a name, or another subscript, is refused.
- ``\\begin{cases} a & c \\\\ b & c' \\end{cases}`` is a ``Piecewise``; ``\\text{otherwise}`` is True.
- ``\\nabla_\\theta L`` is one name, ``\\nabla_{\\theta} L`` (a gradient the record names as a whole).
- Spacing (``\\, \\; \\! \\quad``), ``\\left``/``\\right``/``\\big``, ``\\displaystyle`` are ignored;
  ``\\dfrac``/``\\tfrac`` are ``\\frac``; ``\\boxed{x}`` is ``x``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.functions import Phi, sigmoid
from verify.catalog import GENERIC_FUNCTIONS, lookup

MAX_LENGTH = 4000
MAX_DEPTH = 60
MAX_POWER_DIGITS = 10_000
MAX_EXPONENT = 1000
MAX_SUM_TERMS = 1000


class NotationError(ValueError):
    """LaTeX outside the notation table; the message names the construct and its position."""


class Top(sp.Function):
    """The transpose of something whose shape is unknown (``x^\\top`` for a symbol ``x``)."""

    nargs = 1


class Hadamard(sp.Function):
    """An entrywise product ``a \\odot b`` of operands whose shapes are not known yet (bold names)."""

    nargs = 2


class Norm(sp.Function):
    """``\\|a\\|_p`` of a vector or matrix expression (p = 1, or 2 for Euclidean and Frobenius); generic mode."""

    nargs = 2


class Partial(sp.Function):
    """A Leibniz derivative ``d num / d den`` as written; kept opaque (it names, it does not compute)."""

    nargs = 2


class Expectation(sp.Function):
    """``E[X]``: the expectation of X, kept opaque until a distribution the notes give evaluates it."""

    nargs = 1


class ProbabilityOf(sp.Function):
    """``P(X = v)``: the probability that X takes the value v; args (X, v)."""

    nargs = 2


class InverseOf(sp.Function):
    """``f^{-1}(y)``: the inverse of the function named f at y; args (Symbol f, y), kept opaque."""

    nargs = 2


class Entry(sp.Function):
    """``[M]_{ij}``: the entry (i, j) of a vector or matrix expression, 1-based; args (M, Tuple(i, j))."""

    nargs = 2


class DerivativeAt(sp.Function):
    """``\\frac{\\partial f}{\\partial u}(p, q)``: the derivative of the function named f with respect to its argument
    named u, taken ``order`` times, at the point (p, q); args (Symbol f, u, order, Tuple(p, q)), kept opaque."""

    nargs = 4


#: The size a list written with dots (``x_1, \\ldots, x_n``) is read at; verify.matrices uses it for its matrices.
ELIDED_SIZE = 3
ELIDED = sp.Symbol("\\ldots")  # the marker of the dots in a comma list, before they are expanded

INDEX = {"integer": True, "positive": True}
DEFAULT_SIZE = sp.Symbol("n", **INDEX)
NORM_INDEX = sp.Symbol("i", **INDEX)

GREEK = frozenset("""alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi
    omicron rho varrho sigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon
    Phi Psi Omega ell""".split())
DECORATIONS = frozenset({"hat", "widehat", "bar", "overline", "tilde", "widetilde", "vec", "dot", "ddot", "check"})
STYLES = frozenset({"mathbf", "boldsymbol", "bm", "mathcal", "mathit", "mathsf", "mathscr", "mathfrak", "mathrm"})
TEXT_COMMANDS = frozenset({"text", "textrm", "textit", "textbf", "mbox", "operatorname", "textnormal"})
IGNORED = frozenset({"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
                     "biggr", "Biggl", "Biggr", "middle", "displaystyle", "textstyle", "limits", "nolimits", ",",
                     ";", ":", "!", " ", "thinspace", "medspace", "thickspace", "nobreak"})
SEPARATORS = frozenset({"quad", "qquad"})
FRACTIONS = frozenset({"frac", "dfrac", "tfrac", "cfrac"})
FUNCTIONS: dict[str, Callable[..., sp.Expr]] = {
    "log": sp.log, "ln": sp.log, "exp": sp.exp, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "tanh": sp.tanh, "sinh": sp.sinh, "cosh": sp.cosh, "arctan": sp.atan, "erf": sp.erf,
    "max": sp.Max, "min": sp.Min,
}
NAMED_CALLS: dict[str, Callable[[sp.Expr], sp.Expr]] = {"sigma": sigmoid, "Phi": Phi}
CALLABLE_NAMES = frozenset(NAMED_CALLS) | {f"{k}'" for k in NAMED_CALLS}
CONSTANTS: dict[str, sp.Expr] = {"e": sp.E, "pi": sp.pi, "infty": sp.oo}
SETS: dict[str, sp.Set] = {"R": sp.S.Reals, "N": sp.S.Naturals, "Z": sp.S.Integers, "Q": sp.S.Rationals}
COMPARISONS: dict[str, Callable[[sp.Expr, sp.Expr], sp.Basic]] = {
    "=": sp.Eq, "<": sp.Lt, ">": sp.Gt, r"\lt": sp.Lt, r"\gt": sp.Gt, r"\le": sp.Le, r"\leq": sp.Le,
    r"\leqslant": sp.Le, r"\ge": sp.Ge, r"\geq": sp.Ge, r"\geqslant": sp.Ge, r"\ne": sp.Ne, r"\neq": sp.Ne,
}
CHAIN_RELATIONS = frozenset(COMPARISONS) | {r"\coloneqq", r"\triangleq", r"\doteq", r"\simeq", r"\notin",
                                            r"\approx", r"\equiv", ":=", r"\in", r"\leftarrow", r"\to",
                                            r"\rightarrow", r"\Rightarrow", r"\mapsto", r"\sim", r"\propto"}
MATRICES = frozenset({"matrix", "bmatrix", "pmatrix", "Bmatrix", "vmatrix", "smallmatrix", "array"})
OPENERS, CLOSERS = frozenset({"(", "[", "{", r"\{", "begin"}), frozenset({")", "]", "}", r"\}", "end"})
NUMBER = re.compile(r"(?P<sign>[-+−]?)(?P<int>\d*)(?:\.(?P<frac>\d+))?")
TOKEN = re.compile(r"""
    (?P<num>\d+(?:\.\d+)?|\.\d+)
  | (?P<cmd>\\(?:[A-Za-z]+|.))
  | (?P<letter>[A-Za-z])
  | (?P<op>[-+*/=<>()\[\]{}^_,'|&!:;.])
  | (?P<space>\s+)
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    """One lexical unit of a LaTeX fragment, with its span in the fragment."""

    kind: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Context:
    """What a claim's record knows: names it uses as IndexedBase, of its plain symbols, of its undefined functions."""

    indexed: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    generic: bool = False  # read any notes: Leibniz d/dx, primes, \lim, \binom and the catalog's functions
    matrices: frozenset[str] = frozenset()  # plain letters that name a matrix here (A beside its entries a_{ij})
    #: receives the end letter N of each list written with dots (w_1, ..., w_N)
    ends: set[str] | None = field(default=None, compare=False, hash=False)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; a character outside the table becomes a ``bad`` token."""
    if len(text) > MAX_LENGTH:
        raise NotationError(f"fragment of {len(text)} characters is longer than {MAX_LENGTH}; split it")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if m is None:
            tokens.append(Token("bad", text[pos], pos, pos + 1))
            pos += 1
            continue
        kind = m.lastgroup or "bad"
        value = m.group()
        end = m.end()
        if kind == "cmd" and value[1:] in TEXT_COMMANDS | {"begin", "end"} | STYLES | {"mathbb"}:
            body, end = _brace_body(text, end)
            if body is None:
                tokens.append(Token("bad", value, pos, end))
                pos = end
                continue
            kind = {"begin": "begin", "end": "end", "mathbb": "set"}.get(value[1:], "text" if value[1:] in
                                                                         TEXT_COMMANDS else "style")
            value = body if kind != "style" else f"{value}{{{body}}}"
        elif kind == "cmd" and value[1:] in IGNORED:
            if value[1:] in {"left", "right", "middle"} and text.startswith(".", end):
                end += 1
            kind = "space"
        elif kind == "cmd" and value == "\\\\":
            kind = "rowsep"
        elif kind == "cmd" and value[1:] in SEPARATORS:
            kind = "sep"
        if kind != "space":
            tokens.append(Token(kind, value, pos, end))
        pos = end
    return tokens


def _brace_body(text: str, pos: int) -> tuple[str | None, int]:
    """The content of the brace group starting at ``pos`` (after optional spaces), and the end."""
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos < len(text) and text[pos].isalpha() and text[pos - 1] == " ":
        return text[pos], pos + 1  # \mathbf y: a style command on one letter without braces
    if pos >= len(text) or text[pos] != "{":
        return None, pos
    depth = 0
    for k in range(pos, len(text)):
        if text[k] == "{" and (k == 0 or text[k - 1] != "\\"):
            depth += 1
        elif text[k] == "}" and text[k - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[pos + 1:k], k + 1
    return None, len(text)


def _depth_change(tok: Token) -> int:
    """+1 for an opening bracket or environment, -1 for a closing one, else 0."""
    if tok.kind == "begin" or (tok.kind in {"op", "cmd"} and tok.value in {"(", "[", "{", r"\{"}):
        return 1
    if tok.kind == "end" or (tok.kind in {"op", "cmd"} and tok.value in {")", "]", "}", r"\}"}):
        return -1
    return 0


# ----------------------------------------------------------------------------------------------
# Clauses and equality chains, found on tokens so spans stay positions in the raw text


@dataclass(frozen=True)
class Member:
    """One side of a relation chain ``a = b \\approx c``: its text, span, and the relation before it."""

    text: str
    start: int
    end: int
    relation: str


@dataclass(frozen=True)
class Clause:
    """A top-level statement of a fragment (separated by ``\\qquad``, ``\\quad``, a comma or a label colon)."""

    start: int
    end: int
    members: tuple[Member, ...]

    def member_at(self, offset: int) -> int:
        """Index of the member whose span contains ``offset`` (the nearest one before it otherwise)."""
        best = 0
        for k, m in enumerate(self.members):
            if m.start <= offset:
                best = k
        return best


def _relation_at(tokens: Sequence[Token], k: int) -> tuple[str, int] | None:
    """The chain relation starting at token ``k`` and how many tokens it spans, if any."""
    tok = tokens[k]
    if tok.kind == "op" and tok.value == ":" and k + 1 < len(tokens) and tokens[k + 1].value == "=":
        return ":=", 2
    if tok.kind in {"op", "cmd"} and tok.value in CHAIN_RELATIONS:
        return tok.value, 1
    return None


def clauses(text: str) -> tuple[Clause, ...]:
    """Split a math fragment into top-level clauses, each into the members of its relation chain."""
    tokens = tokenize(text)
    out: list[Clause] = []
    groups: list[list[Token]] = [[]]
    depth = 0
    for k, tok in enumerate(tokens):
        depth += _depth_change(tok)
        label = tok.value == ":" and (k + 1 == len(tokens) or tokens[k + 1].value != "=")
        if depth == 0 and (tok.kind == "sep" or (tok.kind == "op" and (tok.value in {",", ";"} or label))):
            groups.append([])
            continue
        groups[-1].append(tok)
    for group in groups:
        group = _unbox(group)
        if not group:
            continue
        members: list[Member] = []
        start, relation, depth, k = 0, "", 0, 0
        while k < len(group):
            depth += _depth_change(group[k])
            rel = _relation_at(group, k) if depth == 0 else None
            if rel is not None:
                members.append(_member(text, group[start:k], relation))
                relation, start = rel[0], k + rel[1]
                k += rel[1]
                continue
            k += 1
        members.append(_member(text, group[start:], relation))
        out.append(Clause(group[0].start, group[-1].end, tuple(members)))
    return tuple(out)


def _unbox(group: list[Token]) -> list[Token]:
    """Drop a ``\\boxed{...}`` that wraps a whole clause, keeping the positions of what is inside."""
    if len(group) >= 3 and group[0].value == r"\boxed" and group[1].value == "{" and group[-1].value == "}":
        depth = 0
        for k, tok in enumerate(group[1:], start=1):
            depth += _depth_change(tok)
            if depth == 0:
                return group[2:-1] if k == len(group) - 1 else group
    return group


def _member(text: str, toks: Sequence[Token], relation: str) -> Member:
    """A member built from its tokens (empty members keep an empty text)."""
    if not toks:
        return Member("", 0, 0, relation)
    return Member(text[toks[0].start:toks[-1].end], toks[0].start, toks[-1].end, relation)


# ----------------------------------------------------------------------------------------------
# Numbers


@dataclass(frozen=True)
class Decimal:
    """A decimal numeral as written: its exact value and the number of digits after the point."""

    value: sp.Rational
    places: int
    text: str


def decimal(text: str) -> Decimal | None:
    """Read a plain numeral (``-0.2689``, ``5``, ``+1.0``); None if ``text`` is anything else."""
    s = text.strip().replace("\\,", "").replace("{,}", "")
    m = NUMBER.fullmatch(s)
    if m is None or not (m.group("int") or m.group("frac")):
        return None
    frac = m.group("frac") or ""
    magnitude = sp.Rational(int(m.group("int") or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac))
    return Decimal(-magnitude if m.group("sign") in {"-", "−"} else magnitude, len(frac), s)


def _number(text: str) -> sp.Rational:
    """The exact value of a digit token."""
    d = decimal(text)
    if d is None:
        raise NotationError(f"not a number: {text!r}")
    return d.value


# ----------------------------------------------------------------------------------------------
# The parser


@dataclass
class Name:
    """A name being built (before subscripts and superscripts decide what it is)."""

    text: str
    greek: bool = False
    plain: bool = True  # a bare letter or Greek command, no decoration


@dataclass
class Parser:
    """Recursive-descent parser over the tokens of one member."""

    tokens: list[Token]
    context: Context = field(default_factory=Context)
    pos: int = 0
    depth: int = 0

    # -- token helpers ---------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token:
        """The token ``ahead`` positions on (an ``eof`` token past the end)."""
        k = self.pos + ahead
        while k < len(self.tokens) and self.tokens[k].kind == "sep":
            k += 1
        if k < len(self.tokens):
            return self.tokens[k]
        end = self.tokens[-1].end if self.tokens else 0
        return Token("eof", "", end, end)

    def next(self) -> Token:
        """Consume and return the next token."""
        while self.pos < len(self.tokens) and self.tokens[self.pos].kind == "sep":
            self.pos += 1
        tok = self.peek()
        self.pos += 1
        return tok

    def at(self, *values: str) -> bool:
        """Whether the next token has one of ``values``."""
        tok = self.peek()
        return tok.kind in {"op", "cmd", "rowsep"} and tok.value in values

    def expect(self, value: str) -> Token:
        """Consume a token with ``value`` or raise."""
        tok = self.next()
        if tok.value != value or tok.kind not in {"op", "cmd", "rowsep"}:
            raise self.error(f"expected {value!r}", tok)
        return tok

    def error(self, message: str, tok: Token | None = None) -> NotationError:
        """A NotationError naming the offending token and its position."""
        tok = tok or self.peek()
        what = "end of formula" if tok.kind == "eof" else repr(tok.value)
        return NotationError(f"{message} at {what} (character {tok.start})")

    def enter(self) -> None:
        """Count one level of nesting; refuse absurd depth."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH}")

    # -- grammar --------------------------------------------------------------------------------

    def parse(self) -> sp.Basic:
        """The whole token list as one expression."""
        value = self.expr()
        if self.peek().kind != "eof":
            raise self.error("unexpected token")
        return value

    def expr(self) -> sp.Basic:
        """Sums and differences of terms."""
        self.enter()
        terms = [self.term()]
        elided: int | None = None
        while self.at("+", "-"):
            op = self.next().value
            if self.context.generic and op == "+" and self.at(*ELLIPSES) and elided is None:
                self.next()  # x_1 + x_2 + \ldots + x_n: the terms before and the last one give the pattern
                elided = len(terms)
                if not self.at("+"):
                    raise self.error("an elided sum that does not end in a last term")
                continue
            rhs = self.term()
            terms.append(rhs if op == "+" else _neg(rhs))
        if elided is not None:
            if elided != len(terms) - 1:
                raise self.error("an elided sum with more than one term after the dots")
            terms = [elided_sum(terms[:-1], terms[-1], self)]
        value = terms[0]
        for rhs in terms[1:]:
            value = _add(value, rhs)
        self.depth -= 1
        return value

    def term(self) -> sp.Basic:
        """Products, quotients and juxtaposition of factors; a leading sign negates the whole term."""
        if self.at("-"):
            self.next()
            return _neg(self.term())
        if self.at("+"):
            self.next()
            return self.term()
        value = self.factor()
        while True:
            if self.at("*", r"\cdot", r"\times", r"\ast"):
                self.next()
                value = _mul(value, self.factor())
            elif self.at(r"\odot"):
                self.next()
                value = _hadamard(value, self.juxtaposed())
            elif self.at("/"):
                self.next()
                value = _mul(value, _inverse(self.factor()))
            elif self.starts_factor():
                value = _mul(value, self.factor())
            else:
                return value

    def juxtaposed(self) -> sp.Basic:
        """A run of implicitly multiplied factors: the right operand of ``\\odot`` (``a \\odot 2 b`` is a (.) (2b))."""
        value = self.factor()
        while self.starts_factor():
            value = _mul(value, self.factor())
        return value

    def starts_factor(self) -> bool:
        """Whether the next token can begin a factor (for implicit multiplication)."""
        tok = self.peek()
        if tok.kind in {"num", "letter", "text", "style", "set", "begin"}:
            return True
        if tok.kind == "op":
            return tok.value in {"(", "[", "{"}
        if tok.kind == "cmd":
            name = tok.value[1:]
            return (name in GREEK or name in FUNCTIONS or name in DECORATIONS or name in FRACTIONS
                    or name in CONSTANTS or name in {"sqrt", "sum", "prod", "boxed", "{", "nabla", "|", "lim", "binom"})
        return False

    def factor(self) -> sp.Basic:
        """A signed power: ``-x^2`` is ``-(x^2)``."""
        if self.at("-"):
            self.next()
            return _neg(self.factor())
        if self.at("+"):
            self.next()
            return self.factor()
        return self.postfix()

    def postfix(self) -> sp.Basic:
        """An atom with its subscripts, superscripts and primes."""
        self.enter()
        tok = self.peek()
        if tok.kind == "cmd" and tok.value[1:] in {"sum", "prod"}:
            value = self.big_operator()
        elif tok.kind == "cmd" and tok.value[1:] in FUNCTIONS:
            value = self.function()
        else:
            atom = self.atom()
            value = self.scripts(atom)
        while self.context.generic and self.at("!"):
            self.next()
            value = sp.factorial(_as_expr(value))  # n!
        self.depth -= 1
        return value

    # -- names, subscripts and superscripts ---------------------------------------------------

    def scripts(self, atom: Name | sp.Basic) -> sp.Basic:
        """Apply ``_``, ``^`` and ``'`` after an atom; a name decides here what it stands for."""
        sub: list[Token] | None = None
        while self.at("_", "^", "'"):
            op = self.next().value
            if op == "'":
                if not isinstance(atom, Name):
                    raise self.error("prime on an expression")
                atom = Name(atom.text + "'", atom.greek, False)
                continue
            group = self.script_group()
            if op == "_" and not isinstance(atom, Name) and sub is None and self.context.generic:
                atom = Entry(atom, sp.Tuple(*self.entry_indices(group)))  # [\mathbf{A} + \mathbf{A}^\top]_{ki}
                continue
            if op == "_":
                if sub is not None or not isinstance(atom, Name):
                    raise self.error("subscript on an expression")
                sub = group
                continue
            labelled = group and (group[0].value == "(" and group[-1].value == ")" or [t.value for t in group] == ["*"])
            if (op == "^" and isinstance(atom, Name) and sub is None and not labelled and self.at("(")
                    and self.generic_callable(atom.text)):
                if [t.value for t in group] == ["-", "1"]:
                    args = self.paren_args()
                    if len(args) != 1:
                        raise self.error("an inverse function of several arguments")
                    return InverseOf(sp.Symbol(atom.text), args[0])  # f^{-1}(y)
                return _power(self.call(atom), self.sub_parse(group), self)  # g^2(x) is g(x)^2
            if isinstance(atom, Name) and labelled:
                atom = self.superscript(atom, group)  # W_{kj}^{(l)}: the layer label belongs to the name
                continue
            if isinstance(atom, Name) and sub is not None:
                atom, sub = self.resolve(atom, sub), None
            atom = self.superscript(atom, group)
        if self.context.generic and isinstance(atom, Name) and atom.text == "E" and self.at("[") and sub is None:
            inner = self.paren_args()
            if len(inner) != 1:
                raise self.error("an expectation of several arguments")
            return Expectation(inner[0])  # E[\xi]: taken from a distribution the notes give, if they give one
        if self.context.generic and isinstance(atom, Name) and atom.text in {"E", "P", "Var", "Cov"} and self.at("["):
            raise self.error("an expectation or probability needs a distribution the notes do not give")
        if (self.context.generic and isinstance(atom, Name) and atom.text in {"P", "Pr", "\\Pr"} and sub is None
                and self.at("(") and self.event_follows()):
            return self.event()
        if isinstance(atom, Name) and self.at("(") and sub is None and (
                _callable(atom.text) or self.generic_callable(atom.text) or self.comma_call()):
            value = self.call(atom)
            while self.context.generic and self.at("^"):
                self.next()
                value = _power(value, self.sub_parse(self.script_group()), self)  # \sigma(z)^2
            return value
        if isinstance(atom, Name):
            if atom.text.startswith("\\text{") and self.at("(") and sub is None:
                return self.call(atom)
            if self.context.generic and sub is not None and self.at("(") and atom.text in GENERIC_FUNCTIONS:
                return sp.Function(f"{atom.text}_{{{_raw(sub)}}}")(*self.paren_args())  # P_n(x), L_i(w)
            return self.resolve(atom, sub)
        return atom

    def script_group(self) -> list[Token]:
        """The tokens of a sub/superscript: a brace group, or one token (one digit of a number)."""
        tok = self.next()
        if tok.kind == "op" and tok.value == "{":
            return self.group_tokens(tok)
        if tok.kind == "num" and len(tok.value) > 1:
            self.pos -= 1
            self.tokens[self.pos] = Token("num", tok.value[1:], tok.start + 1, tok.end)
            return [Token("num", tok.value[0], tok.start, tok.start + 1)]
        if tok.kind in {"eof", "op"} and tok.value not in {"*"}:
            raise self.error("missing sub/superscript", tok)
        if tok.kind == "cmd" and tok.value[1:] in DECORATIONS | {"mathbf"}:
            raise self.error("decorated script needs braces", tok)
        return [tok]

    def group_tokens(self, opener: Token) -> list[Token]:
        """Tokens up to the brace matching ``opener`` (already consumed)."""
        depth, out = 1, []
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error("unclosed {", opener)
            if tok.kind == "op" and tok.value == "{":
                depth += 1
            elif tok.kind == "op" and tok.value == "}":
                depth -= 1
                if depth == 0:
                    return out
            out.append(tok)

    def sub_parse(self, toks: list[Token]) -> sp.Basic:
        """Parse a token list (a script or an argument) with the same context and depth budget."""
        if not toks:
            raise self.error("empty group")
        choose = _top_level(toks, r"\choose")
        if choose is not None:
            return sp.binomial(self.sub_parse(toks[:choose]), self.sub_parse(toks[choose + 1:]), evaluate=False)
        inner = Parser(list(toks), self.context, 0, self.depth)
        value = inner.parse()
        return value

    def resolve(self, name: Name, sub: list[Token] | None) -> sp.Basic:
        """What a name with an optional subscript stands for: a constant, symbol or indexed entry."""
        if sub is None:
            if name.plain and name.text in CONSTANTS:
                return CONSTANTS[name.text]
            if name.text in self.context.matrices:
                return _symbol(f"\\mathbf{{{name.text}}}")
            return _symbol(name.text)
        text_sub = len(sub) == 1 and sub[0].kind == "text"
        letters = all(t.kind == "letter" or (t.kind == "cmd" and t.value[1:] in GREEK) or t.value == ","
                      for t in sub)
        if letters:
            indices = [sp.Symbol(t.value.lstrip("\\"), **INDEX) for t in sub if t.value != ","]
            if name.text == "delta" and name.plain and len(indices) == 2:
                return sp.KroneckerDelta(*indices)
            letters_text = "".join(t.value for t in sub)
            for joined in (f"{name.text}_{letters_text}", f"{name.text}_{{{letters_text}}}"):
                if joined in self.context.symbols:
                    return _symbol(joined)
            return sp.IndexedBase(name.text)[tuple(indices)]
        if text_sub:
            label = sub[0].value.strip()
            if name.text in self.context.indexed and re.fullmatch(r"[A-Za-z]+", label):
                return sp.IndexedBase(name.text)[sp.Symbol(label, **INDEX)]
            return _symbol(f"{name.text}_{{{label}}}")
        value = self.sub_parse(sub)
        if isinstance(value, sp.Integer) and name.text not in self.context.indexed:
            return _symbol(f"{name.text}_{value}")
        if not isinstance(value, sp.Expr):
            raise self.error("subscript is not an index")
        return sp.IndexedBase(name.text)[value]

    def superscript(self, atom: Name | sp.Basic, group: list[Token]) -> Name | sp.Basic:
        """A layer index ``^{(l)}``, a star, a transpose (``^\\top``, ``^\\intercal``, bold ``^T``), or a power."""
        if [t.value for t in group] == ["T"] and _bold_atom(atom):
            group = [replace(group[0], value=r"\top")]
        if group and group[-1].value in {r"\top", r"\intercal"}:
            rest = group[:-1]
            if rest:
                atom = self.superscript(atom, rest)
            value = self.resolve(atom, None) if isinstance(atom, Name) else atom
            return value.T if isinstance(value, sp.MatrixBase) else Top(value)
        if isinstance(atom, Name) and group and group[0].value == "(" and group[-1].value == ")":
            return Name(f"{atom.text}^{{{_raw(group)}}}", atom.greek, False)
        if isinstance(atom, Name) and [t.value for t in group] == ["*"]:
            return Name(f"{atom.text}^{{*}}", atom.greek, False)
        exponent = self.sub_parse(group)
        base = self.resolve(atom, None) if isinstance(atom, Name) else atom
        if self.context.generic and isinstance(base, sp.Set):
            return base  # R^n, R^{m x n}: a space of vectors or matrices, read as its entries' set
        if base == sp.E:
            _refuse_huge(base, exponent, self)
            return sp.exp(exponent)
        return _power(base, exponent, self)

    def comma_call(self) -> bool:
        """In generic mode, a name before ``(a, b)`` is applied to the arguments (a tuple cannot be a factor)."""
        if not self.context.generic:
            return False
        depth = 0
        for k in range(self.pos, len(self.tokens)):
            tok = self.tokens[k]
            depth += _depth_change(tok)
            if depth == 1 and tok.value == ",":
                return True
            if depth == 0 and k > self.pos:
                return False
        return False

    def generic_callable(self, text: str) -> bool:
        """In generic mode: a catalog function, a document's function, or a letter that names one (``f(x)``)."""
        if not self.context.generic:
            return False
        bare = text.rstrip("'")
        row = lookup(bare)
        plain = re.sub(r"^\\(?:hat|bar|tilde|check)\{(.+)\}$", r"\1", bare)  # \bar{f} is a function like f
        return (bare.lstrip("\\") in self.context.functions or _unlabelled(plain) in GENERIC_FUNCTIONS
                or row is not None and row.kind != "constant")

    def call(self, name: Name) -> sp.Basic:
        """``\\sigma(x)``, ``\\Phi(x)``, ``\\text{GELU}(x)``: a named function applied to a group."""
        if self.context.generic:
            return self.generic_call(name.text, self.paren_args())
        args = self.paren_args()
        key = name.text.lstrip("\\")
        if key in self.context.functions:
            return sp.Function(key)(*args)
        if key in NAMED_CALLS and len(args) == 1:
            return NAMED_CALLS[key](args[0])
        return sp.Function(name.text)(*args)

    def generic_call(self, text: str, args: list[sp.Basic]) -> sp.Basic:
        """A function applied in generic mode: primes differentiate (``f'(x)``, ``\\sigma''(z)``)."""
        primes = len(text) - len(text.rstrip("'"))
        bare = text.rstrip("'")
        key = bare.lstrip("\\")
        row = None if key in self.context.functions else lookup(bare)
        plain = re.sub(r"^\\?(?:hat|bar|tilde|check)\{(.+)\}$", r"\1", key)
        several = len(args) > 1 and re.fullmatch(r"[A-Za-z]", key) is not None  # s(i, t): only a function reads so
        known = key in self.context.functions or _unlabelled(plain) in GENERIC_FUNCTIONS or several
        if row is None and not known:
            raise self.error(f"the function {key} is neither in the catalog nor defined by the notes")
        if row is not None and row.build is None:
            raise self.error(f"{row.key}: {row.note}")
        if row is not None and row.arity not in (-1, len(args)):
            raise self.error(f"{row.key} takes {row.arity} argument(s), not {len(args)}")
        if primes == 0:
            return row.build(*args) if row is not None else sp.Function(key)(*args)
        if len(args) != 1:
            raise self.error("a prime on a function of several arguments")
        t = sp.Dummy("t")
        body = row.build(t) if row is not None else sp.Function(key)(t)
        derivative = sp.Derivative(body, (t, primes))
        arg = args[0]
        return derivative.xreplace({t: arg}) if isinstance(arg, sp.Symbol) else sp.Subs(derivative, t, arg)

    def leibniz(self, num: list[Token], den: list[Token]) -> sp.Basic | None:
        """Leibniz notation in generic mode: ``\\frac{dy}{dx}``, ``\\frac{d^2 y}{dx^2}``, ``\\frac{d}{dx} E``."""
        marks = {"d", r"\partial"}
        if not (num and den and num[0].value in marks and den[0].value == num[0].value and len(den) > 1):
            return None
        order, body = 1, num[1:]
        if body and body[0].value == "^":
            if len(body) < 2 or body[1].kind != "num":
                return None
            order, body = int(body[1].value), body[2:]
        var_toks = den[1:]
        if len(var_toks) > 2 and var_toks[-2].value == "^":
            var_toks = var_toks[:-2]
        if order > 3:
            raise self.error("a derivative of order above 3")
        var = self.sub_parse(var_toks)
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            raise self.error("a derivative with respect to something that is not a name")
        operand = self.sub_parse(body) if body else self.juxtaposed()
        if body and self.at("(") and isinstance(operand, sp.Symbol):
            args = self.paren_args()  # \frac{dg}{dx}(x): the derivative of g, at the point in parentheses
            general = operand.name in GENERIC_FUNCTIONS or operand.name in self.context.functions
            simple = len(args) == 1 and isinstance(args[0], (sp.Symbol, sp.Number))
            if not (simple or general and not any(a.has(Partial, DerivativeAt) for a in args)):
                raise self.error("a derivative applied to an expression (an operator product)")
            if not isinstance(var, sp.Symbol):
                raise self.error("a derivative at a point with respect to an entry")
            return DerivativeAt(sp.Symbol(operand.name), var, sp.Integer(order), sp.Tuple(*args))
        value = operand
        for _ in range(order):
            value = Partial(value, var)
        return value

    def gradient(self, name: str) -> sp.Basic:
        """``\\partial_x f``, ``\\nabla_x f``, ``\\nabla f(x)`` (generic mode): a derivative of the operand."""
        var: sp.Basic | None = None
        if self.at("_"):
            self.next()
            var = self.sub_parse(self.script_group())
        operand = self.juxtaposed() if var is not None else self.postfix()  # \nabla_x of the whole product
        if var is None and name == "partial" and self.at("/") and self.peek(1).value == r"\partial":
            self.next()
            self.next()
            return Partial(operand, self.postfix())  # \partial L / \partial \mathbf{W}, written inline
        if var is None and isinstance(operand, AppliedUndef) and len(operand.args) == 1:
            var = operand.args[0]
        if var is None and isinstance(operand, AppliedUndef) and all(isinstance(a, sp.Symbol) for a in operand.args):
            return sp.ImmutableMatrix([Partial(operand, a) for a in operand.args])  # \nabla f(x, y): a column
        if var is None and isinstance(operand, AppliedUndef) and all(a.is_number for a in operand.args):
            return sp.ImmutableMatrix([_at_slots(operand, (k,)) for k in range(len(operand.args))])  # \nabla f(0, 0)
        if var is None:
            raise self.error(f"\\{name} without the variable it differentiates by")
        if not isinstance(var, (sp.Symbol, sp.Indexed)):
            raise self.error(f"\\{name} with respect to something that is not a name")
        return Partial(operand, var)

    def entry_indices(self, group: list[Token]) -> list[sp.Basic]:
        """The indices of an entry ``_{ki}``, ``_{k, i}`` or ``_k``: letters (1-based positions) or numbers."""
        out: list[sp.Basic] = []
        for t in group:
            if t.value == ",":
                continue
            if t.kind == "letter":
                out.append(sp.Symbol(t.value, **INDEX))
            elif t.kind == "num" and t.value.isdigit():
                out.extend(sp.Integer(c) for c in t.value) if len(group) == 1 and len(t.value) == 2 else out.append(
                    sp.Integer(t.value))
            else:
                raise self.error("an entry index that is not a letter or a number", t)
        if not 1 <= len(out) <= 2:
            raise self.error("an entry with more than two indices")
        return out

    def event_follows(self) -> bool:
        """Whether the parenthesised group ahead holds an ``=`` at its top level (``P(\\xi = 0)``)."""
        depth = 0
        for tok in self.tokens[self.pos:]:
            depth += _depth_change(tok)
            if depth == 0:
                return False
            if depth == 1 and tok.value == "=":
                return True
        return False

    def event(self) -> sp.Basic:
        """``P(\\xi = v)``: the probability that a name takes a value."""
        opener = self.next()
        toks: list[Token] = []
        depth = 1
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error("unclosed (", opener)
            depth += _depth_change(tok)
            if depth == 0:
                break
            toks.append(tok)
        cut = _top_level(toks, "=")
        assert cut is not None
        return ProbabilityOf(self.sub_parse(toks[:cut]), self.sub_parse(toks[cut + 1:]))

    def hessian_follows(self) -> bool:
        """Whether ``\\mathbf{H}`` (a name the notes leave free) is followed by a function applied to names."""
        nxt = self.peek()
        after = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
        return (self.context.generic and "H" not in self.context.functions and nxt.kind == "letter"
                and self.generic_callable(nxt.value) and after is not None and after.value == "(")

    def hessian(self) -> sp.Basic:
        """``\\mathbf{H}f(x, y)``: the matrix of f's second derivatives by its named arguments."""
        operand = self.postfix()
        if isinstance(operand, AppliedUndef) and all(a.is_number for a in operand.args):
            slots = range(len(operand.args))  # \mathbf{H} f(0, 0): second derivatives by the argument slots
            return sp.ImmutableMatrix([[_at_slots(operand, (a, b)) for b in slots] for a in slots])
        if not isinstance(operand, AppliedUndef) or not all(isinstance(a, sp.Symbol) for a in operand.args):
            raise self.error("a Hessian at a point, not at named arguments")
        names = operand.args
        return sp.ImmutableMatrix([[Partial(Partial(operand, a), b) for b in names] for a in names])

    def limit(self) -> sp.Basic:
        """``\\lim_{h \\to 0} body``: an unevaluated limit of the rest of the term."""
        if not self.at("_"):
            raise self.error("\\lim without a subscript")
        self.next()
        sub = self.script_group()
        arrow = next((k for k, t in enumerate(sub) if t.value in {r"\to", r"\rightarrow"}), None)
        if arrow is None or arrow == 0 or arrow == len(sub) - 1:
            raise self.error("\\lim subscript is not 'h \\to a'")
        point_toks = sub[arrow + 1:]
        direction = "+-"
        if len(point_toks) > 2 and point_toks[-2].value == "^" and point_toks[-1].value in {"+", "-"}:
            direction, point_toks = point_toks[-1].value, point_toks[:-2]
        var = self.sub_parse(sub[:arrow])
        point = self.sub_parse(point_toks)
        if not isinstance(var, sp.Symbol):
            raise self.error("\\lim over something that is not a name")
        body = self.term()
        return sp.Limit(_as_expr(body), var, point, dir=direction)

    def binomial(self) -> sp.Basic:
        """``\\binom{n}{k}``."""
        top = self.sub_parse(self.script_group())
        bottom = self.sub_parse(self.script_group())
        return sp.binomial(top, bottom, evaluate=False)

    def paren_args(self) -> list[sp.Basic]:
        """A parenthesised, comma-separated argument list."""
        opener = self.next()
        closer = {"(": ")", "[": "]", "{": "}"}[opener.value]
        args, current, depth = [], [], 0
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error(f"unclosed {opener.value}", opener)
            depth += _depth_change(tok)
            if depth < 0 and tok.value == closer:
                break
            if depth == 0 and (tok.value == "," and tok.kind == "op" or tok.value == r"\mid" and self.context.generic):
                args.extend(self.items(current))  # P(y \mid x): the condition is one more argument
                current = []
                continue
            current.append(tok)
        args.extend(self.items(current))
        return self.expand_elided(args) if any(a is ELIDED for a in args) else args

    def items(self, toks: list[Token]) -> list[sp.Basic]:
        """An item of a comma list, or the dots and the item written after them without a comma."""
        dots = [r"\ldots", r"\cdots", r"\dots", r"\vdots"]
        if self.context.generic and len(toks) > 1 and toks[0].value in dots:
            return [ELIDED, self.sub_parse(toks[1:])]
        return [self.item(toks)]

    def item(self, toks: list[Token]) -> sp.Basic:
        """One item of a comma list; a lone ``\\ldots`` (generic mode) is the ELIDED marker."""
        if self.context.generic and [t.value for t in toks] in ([r"\ldots"], [r"\cdots"], [r"\dots"], [r"\vdots"]):
            return ELIDED
        return self.sub_parse(toks)

    def expand_elided(self, items: list[sp.Basic]) -> list[sp.Basic]:
        """``w_1, w_2, \\ldots, w_N`` at the size lists are read at (N = ELIDED_SIZE): the item after the dots is
        the pattern, the items before them give where it resumes."""
        out: list[sp.Basic] = []
        for k, item in enumerate(items):
            if item is not ELIDED:
                out.append(item)
                continue
            if k == 0 or k + 1 >= len(items) or items[k + 1] is ELIDED:
                raise self.error("an elided sequence without a term before and after the dots")
            last = items[k + 1]
            ends = sorted({i for x in last.atoms(sp.Indexed) for i in x.indices if isinstance(i, sp.Symbol)},
                          key=sp.default_sort_key)
            if len(ends) != 1:
                raise self.error("an elided sequence whose last term has no single letter index")
            written = _written_index(out[-1])
            if written is None or written >= ELIDED_SIZE:
                raise self.error("an elided sequence whose terms before the dots have no number index")
            end = ends[0]
            if self.context.ends is not None:
                self.context.ends.add(end.name)
            out.extend(_at_index(last, end, j) for j in range(written + 1, ELIDED_SIZE))
            items[k + 1] = _at_index(last, end, ELIDED_SIZE)
        return out

    def function(self) -> sp.Basic:
        """``\\log x``, ``\\tanh^2(z)``, ``\\max(a, b)``: the argument is a group or the next power."""
        name = self.next().value[1:]
        power: sp.Basic | None = None
        primes = 0
        while self.context.generic and self.at("'"):
            self.next()
            primes += 1
        if primes:
            return self.generic_call(name + "'" * primes, self.paren_args())
        if self.at("^"):
            self.next()
            power = self.sub_parse(self.script_group())
        if self.at("(", "["):
            args = self.paren_args()
        elif self.at("{"):
            args = [self.sub_parse(self.group_tokens(self.next()))]
        else:
            args = [self.factor()]
        try:
            value = FUNCTIONS[name](*args)
        except (TypeError, ValueError) as e:
            raise self.error(f"\\{name} cannot take {len(args)} argument(s)") from e
        while power is None and self.context.generic and self.at("^"):
            self.next()
            value = _power(value, self.sub_parse(self.script_group()), self)  # \tanh(z)^2
        return value if power is None else _power(value, power, self)

    def big_operator(self) -> sp.Basic:
        """``\\sum_{i=1}^{N} body`` and ``\\prod``: the body is the rest of the product term."""
        op = self.next().value[1:]
        lower: list[Token] = []
        upper: list[Token] = []
        while self.at("_", "^"):
            which = self.next().value
            (lower if which == "_" else upper).extend(self.script_group())
        if op == "sum" and not lower and not upper and self.peek().kind == "eof":
            return sp.Symbol(r"\sum")  # prose shorthand for a sum the record names
        if not lower or lower[0].kind != "letter":
            raise self.error(f"\\{op} without an index")
        if op == "sum" and not upper and len(lower) > 1 and all(
                t.kind == "letter" if k % 2 == 0 else t.value == "," for k, t in enumerate(lower)):
            body = self.term()  # \sum_{i, j}: one sum per index, each over 1..n
            for t in reversed(lower[::2]):
                index = sp.Symbol(t.value, integer=True)
                body = body.xreplace({x: index for x in body.free_symbols if isinstance(x, sp.Symbol)
                                      and x.name == index.name})
                body = sp.Sum(body, (index, 1, DEFAULT_SIZE))
            return body
        index = sp.Symbol(lower[0].value, **INDEX)
        if len(lower) > 1:
            if lower[1].value != "=":
                raise self.error(f"\\{op} index is not 'i=...'")
            start = self.sub_parse(lower[2:])
            stop = self.sub_parse(upper) if upper else DEFAULT_SIZE
        else:
            start, stop = sp.Integer(1), self.sub_parse(upper) if upper else DEFAULT_SIZE
        if isinstance(start, sp.Integer) and isinstance(stop, sp.Integer) and stop - start > MAX_SUM_TERMS:
            raise self.error(f"\\{op} of more than {MAX_SUM_TERMS} terms")
        body = self.term()
        if self.context.generic:  # the body's letter i is the bound index (an integer, maybe 0)
            index = sp.Symbol(index.name, integer=True)
            body = body.xreplace({x: index for x in body.free_symbols if isinstance(x, sp.Symbol)
                                  and x.name == index.name})
        return (sp.Sum if op == "sum" else sp.Product)(body, (index, start, stop))

    def atom(self) -> Name | sp.Basic:
        """A number, name, group, fraction, root, set, environment or Kronecker delta."""
        tok = self.next()
        kind, value = tok.kind, tok.value
        if kind == "num":
            return _number(value)
        if kind == "letter":
            return Name(value)
        if kind == "style":
            if _canonical_style(value) == r"\mathbf{H}" and self.hessian_follows():
                return self.hessian()
            return Name(_canonical_style(value))
        if kind == "text":
            return Name(f"\\text{{{value.strip()}}}", plain=False)
        if kind == "set":
            if value.strip() in SETS:
                return SETS[value.strip()]
            raise self.error("unknown \\mathbb set", tok)
        if kind == "begin":
            return self.environment(tok)
        if kind == "op" and value in {"(", "[", "{"}:
            return self.bracket(tok)
        if kind == "op" and value == "|":
            inner = self.expr()
            self.expect("|")
            return sp.Abs(inner)
        if kind == "cmd" and value == "\\|":
            return self.norm(tok)
        if kind == "cmd":
            name = value[1:]
            if name == "Delta" and self.context.generic and self.peek().kind in {"letter", "style"}:
                inner = self.next()  # \Delta x, \Delta\mathbf{x}: an increment is one name
                return Name(f"\\Delta {_canonical_style(inner.value) if inner.kind == 'style' else inner.value}")
            if name in GREEK:
                return Name(name, greek=True)
            if name in CONSTANTS:
                return Name(name)
            if name in DECORATIONS:
                return self.decorated(name)
            if name in FRACTIONS:
                return self.fraction()
            if name == "sqrt":
                return self.root()
            if name == "boxed":
                return self.sub_parse(self.group_tokens(self.expect("{")))
            if name in {"nabla", "partial"} and self.context.generic:
                return self.gradient(name)
            if name == "nabla":
                return self.nabla()
            if name == "lim" and self.context.generic:
                return self.limit()
            if name == "binom" and self.context.generic:
                return self.binomial()
            if name in {"ldots", "cdots", "dots", "vdots", "ddots"}:
                raise self.error("an elided sequence", tok)
            if name == "{":
                return self.finite_set(tok)
        raise self.error("not in the notation table", tok)

    def norm(self, opener: Token) -> sp.Basic:
        """``\\|v\\|``, ``\\|v\\|_2`` (Euclidean) and ``\\|v\\|_1`` of a vector name v, as sums over its n entries."""
        toks: list[Token] = []
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error("unclosed \\|", opener)
            if tok.kind == "cmd" and tok.value == "\\|":
                break
            toks.append(tok)
        inner = self.sub_parse(toks)
        if self.context.generic and not (isinstance(inner, sp.Symbol) and inner.is_commutative):
            order = "2"
            if self.at("_"):
                self.next()
                order = _raw(self.script_group())
            if order not in {"2", "1", r"\text{F}", "F"}:
                raise self.error(f"a norm with subscript {order!r} (only 1, 2 and F are read)", opener)
            return Norm(inner, sp.Integer(1) if order == "1" else sp.Integer(2))  # the audit evaluates it entrywise
        if not isinstance(inner, sp.Symbol):
            raise self.error("a norm of something that is not a vector name", opener)
        order = "2"
        if self.at("_"):
            self.next()
            order = _raw(self.script_group())
        entry = sp.IndexedBase(inner.name)[NORM_INDEX]
        if order == "1":
            return sp.Sum(sp.Abs(entry), (NORM_INDEX, 1, DEFAULT_SIZE))
        if order == "2":
            return sp.sqrt(sp.Sum(entry**2, (NORM_INDEX, 1, DEFAULT_SIZE)))
        raise self.error(f"a norm with subscript {order!r} (only 1 and 2 are read)", opener)

    def nabla(self) -> Name:
        """``\\nabla_\\theta L``: the gradient of a name, kept as one name ``\\nabla_{\\theta} L``."""
        sub: list[Token] = []
        if self.at("_"):
            self.next()
            sub = self.script_group()
        tok = self.next()
        if tok.kind == "letter" or (tok.kind == "cmd" and tok.value[1:] in GREEK):
            operand = tok.value
        elif tok.kind == "style":
            operand = _canonical_style(tok.value)
        else:
            raise self.error("\\nabla of something that is not a name", tok)
        return Name(f"\\nabla_{{{_raw(sub)}}} {operand}" if sub else f"\\nabla {operand}", plain=False)

    def decorated(self, decoration: str) -> Name:
        """``\\hat y``, ``\\hat{y}``, ``\\hat{\\mathbf{y}}``: a name that keeps its decoration."""
        canon = {"widehat": "hat", "overline": "bar", "widetilde": "tilde"}.get(decoration, decoration)
        tok = self.next()
        toks = self.group_tokens(tok) if tok.value == "{" and tok.kind == "op" else [tok]
        if len(toks) != 1:
            raise self.error(f"\\{decoration} of more than one name", tok)
        inner = toks[0]
        if inner.kind == "letter":
            body = inner.value
        elif inner.kind == "style":
            body = _canonical_style(inner.value)
        elif inner.kind == "cmd" and inner.value[1:] in GREEK:
            body = inner.value
        else:
            raise self.error(f"\\{decoration} of something that is not a name", inner)
        return Name(f"\\{canon}{{{body}}}", plain=False)

    def fraction(self) -> sp.Basic:
        """``\\frac{a}{b}`` (braceless arguments take one token, one digit of a number)."""
        num = self.script_group()
        den = self.script_group()
        if self.context.generic:
            derivative = self.leibniz(num, den)
            if derivative is not None:
                return derivative
        if num and num[0].value == r"\partial" and den and den[0].value == r"\partial":
            return Partial(self.sub_parse(num[1:]), self.sub_parse(den[1:]))
        return _mul(self.sub_parse(num), _inverse(self.sub_parse(den)))

    def root(self) -> sp.Basic:
        """``\\sqrt{x}`` and ``\\sqrt[n]{x}``."""
        degree: sp.Basic = sp.Integer(2)
        if self.at("["):
            self.next()
            toks = []
            while not self.at("]"):
                tok = self.next()
                if tok.kind == "eof":
                    raise self.error("unclosed [ in \\sqrt")
                toks.append(tok)
            self.next()
            degree = self.sub_parse(toks)
        radicand = self.sub_parse(self.script_group())
        return _power(radicand, 1 / degree, self) if degree != 2 else sp.sqrt(radicand)

    def bracket(self, opener: Token) -> sp.Basic:
        """A parenthesised expression; a comma list in ``(..)`` is a Tuple, in ``[..]`` a row vector."""
        closer = {"(": ")", "[": "]", "{": "}"}[opener.value]
        self.pos -= 1
        items = self.paren_args()
        if len(items) == 1:
            return items[0]
        if closer == "]":
            return sp.ImmutableMatrix([items])
        return sp.Tuple(*items)

    def finite_set(self, opener: Token) -> sp.Basic:
        r"""``\{a, b\}``."""
        items, current, depth = [], [], 0
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error("unclosed \\{", opener)
            if tok.value == r"\}" and depth == 0:
                break
            depth += _depth_change(tok)
            if tok.value == "," and depth == 0:
                items.append(self.sub_parse(current))
                current = []
                continue
            current.append(tok)
        if current:
            items.append(self.sub_parse(current))
        return sp.FiniteSet(*items)

    def environment(self, begin: Token) -> sp.Basic:
        """``cases`` as a Piecewise, the matrix environments as a matrix."""
        env = begin.value.strip()
        if env not in MATRICES | {"cases"}:
            raise self.error(f"environment {env!r} is not in the notation table", begin)
        if env == "array" and self.at("{"):
            self.group_tokens(self.next())
        rows: list[list[list[Token]]] = [[[]]]
        depth = 0
        while True:
            tok = self.next()
            if tok.kind == "eof":
                raise self.error(f"unclosed environment {env!r}", begin)
            if tok.kind == "end" and depth == 0:
                break
            depth += _depth_change(tok)
            if depth == 0 and tok.kind == "rowsep":
                rows.append([[]])
            elif depth == 0 and tok.kind == "op" and tok.value == "&":
                rows[-1].append([])
            else:
                rows[-1][-1].append(tok)
        rows = [r for r in rows if any(cell for cell in r)]
        if env == "cases":
            return self.piecewise(rows)
        cells = [[self.item(cell) for cell in row] for row in rows]
        if any(c is ELIDED for r in cells for c in r):
            if any(len(r) != 1 for r in cells):
                raise self.error("an elided matrix that is not one column", begin)
            cells = [[c] for c in self.expand_elided([r[0] for r in cells])]
        if len({len(r) for r in cells}) != 1:
            raise self.error("matrix rows of different lengths", begin)
        return sp.ImmutableMatrix(cells)

    def piecewise(self, rows: list[list[list[Token]]]) -> sp.Basic:
        """Rows ``value & condition`` of a cases environment."""
        pieces = []
        for row in rows:
            if len(row) != 2:
                raise self.error("a cases row needs 'value & condition'")
            pieces.append((self.sub_parse(row[0]), condition(row[1], self.context)))
        try:
            return sp.Piecewise(*pieces)
        except (TypeError, ValueError) as e:
            raise NotationError(f"cases do not form a function: {e}") from e


# ----------------------------------------------------------------------------------------------
# Building values (with guards against sizes a notes file should never make SymPy compute)


def _as_expr(value: sp.Basic) -> sp.Basic:
    """Refuse sets, relations and tuples where an arithmetic value is needed."""
    if isinstance(value, (sp.Set, sp.Tuple)) or (isinstance(value, sp.logic.boolalg.Boolean)
                                                 and not isinstance(value, sp.Expr)):
        raise NotationError(f"{type(value).__name__} used in arithmetic")
    return value


def _arith(op: Callable[[], sp.Basic], what: str) -> sp.Basic:
    """Run one arithmetic step, turning SymPy's shape and type complaints into NotationError."""
    try:
        return op()
    except (TypeError, ValueError, AttributeError, sp.ShapeError, sp.NonSquareMatrixError) as e:
        raise NotationError(f"cannot {what}: {e}") from e


def _add(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    a, b = _as_expr(a), _as_expr(b)
    return _arith(lambda: a + b, "add")


def _neg(a: sp.Basic) -> sp.Basic:
    a = _as_expr(a)
    return _arith(lambda: -a, "negate")


def _mul(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    a, b = _as_expr(a), _as_expr(b)
    return _arith(lambda: a * b, "multiply")


def _hadamard(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if isinstance(a, sp.MatrixBase) and isinstance(b, sp.MatrixBase):
        if a.shape != b.shape:
            raise NotationError(f"\\odot of shapes {a.shape} and {b.shape}")
        return a.multiply_elementwise(b)
    a, b = _as_expr(a), _as_expr(b)
    if not (a.is_commutative and b.is_commutative):
        return Hadamard(a, b)  # shapes come from the record's notation table; the audit resolves it
    return _mul(a, b)


def _inverse(a: sp.Basic) -> sp.Basic:
    a = _as_expr(a)
    if a == 0:
        raise NotationError("division by zero")
    if isinstance(a, sp.MatrixBase):
        raise NotationError("division by a matrix")
    return _arith(lambda: 1 / a, "divide")


def _power(base: sp.Basic, exponent: sp.Basic, parser: Parser) -> sp.Basic:
    """``base**exponent``, refusing powers whose exact value or later evaluation would be huge."""
    base, exponent = _as_expr(base), _as_expr(exponent)
    if isinstance(exponent, sp.Number) and abs(exponent) > MAX_EXPONENT:
        raise parser.error(f"exponent {exponent} larger than {MAX_EXPONENT}")
    if isinstance(base, sp.Number) and isinstance(exponent, sp.Number) and base not in (0, 1, -1):
        digits = abs(float(exponent)) * max(abs(float(sp.log(abs(base), 10).evalf(5))), 1e-3)
        if digits > MAX_POWER_DIGITS:
            raise parser.error(f"power with about {digits:.0f} digits")
    if base == 0 and isinstance(exponent, sp.Number) and exponent.is_negative:
        raise NotationError("0 to a negative power")
    _refuse_huge(base, exponent, parser)
    value = _arith(lambda: base**exponent, "raise to a power")
    if isinstance(value, sp.Pow) and value.exp.is_Number and abs(value.exp) > MAX_EXPONENT:
        raise parser.error(f"exponent {value.exp} larger than {MAX_EXPONENT}")  # ((z^1000)^1000) collapses
    return value


def _refuse_huge(base: sp.Basic, exponent: sp.Basic, parser: Parser) -> None:
    """Refuse a numeric power whose value would have more than MAX_POWER_DIGITS digits (a tower 2^{2^{2^pi}})."""
    if not (getattr(base, "is_number", False) and getattr(exponent, "is_number", False)):
        return
    try:
        e = abs(sp.N(exponent, 15))
        size = e * max(abs(sp.N(sp.log(abs(base), 10), 15)), sp.Float("1e-3")) if base != sp.E else e / 2.3
    except (TypeError, ValueError, OverflowError, ArithmeticError) as err:
        raise parser.error("a power too large to evaluate") from err
    if not size.is_finite or size > MAX_POWER_DIGITS:
        raise parser.error("a power with more digits than the audit evaluates (too large to decide)")


def _callable(name: str) -> bool:
    """Whether a name before ``(`` is applied: ``\\sigma``, ``\\sigma'``, ``\\Phi``, labelled ``\\sigma^{(\\ell)}``."""
    return name in CALLABLE_NAMES or name.split("^{(", 1)[0] in CALLABLE_NAMES and name.endswith(")}")


def _bold_atom(atom: object) -> bool:
    """Whether a name, or every name of a parenthesised expression, is bold: then ``X^T`` transposes it."""
    if isinstance(atom, Name):
        return is_bold(atom.text)
    names = [getattr(s, "name", str(s)) for s in getattr(atom, "free_symbols", ())]
    return bool(names) and all(is_bold(n) for n in names)


def is_bold(name: str) -> bool:
    """Whether a name is written bold (a vector or matrix in the notes' convention)."""
    return bool(re.search(r"\\(mathbf|boldsymbol)\{", name))


def _symbol(name: str) -> sp.Symbol:
    """A plain symbol; bold names do not commute (``W x`` is not ``x W``)."""
    return sp.Symbol(name, commutative=False) if is_bold(name) else sp.Symbol(name)


def _canonical_style(value: str) -> str:
    """``\\bm{x}`` and ``\\boldsymbol{x}`` are written ``\\mathbf{x}`` for Latin letters; keep others."""
    m = re.fullmatch(r"\\(mathbf|boldsymbol|bm)\{\s*(\\?[A-Za-z]+)\s*\}", value)
    if m:
        inner = m.group(2)
        return f"\\mathbf{{{inner}}}" if not inner.startswith("\\") else f"\\boldsymbol{{{inner}}}"
    return re.sub(r"\s+", "", value)


ELLIPSES = (r"\ldots", r"\cdots", r"\dots")


def elided_sum(before: list[sp.Basic], last: sp.Basic, parser: Parser) -> sp.Basic:
    """``t_1 + t_2 + \\ldots + t_n`` as the sum of t_k for k from the first term's index to n, when every term
    written before the dots is the last one at its own index; anything else is refused."""
    bounds = {i for x in last.atoms(sp.Indexed) for i in x.indices if isinstance(i, sp.Symbol)}
    if len(bounds) != 1 or not before:
        raise parser.error("an elided sum whose last term has no single index")
    upper = bounds.pop()
    bases = indexed_bases(last)
    k = sp.Symbol(f"{upper.name}_{{elided}}", integer=True)
    body = last.xreplace({upper: k})
    written = [as_entries(t, bases) for t in before]
    for start in (1, 0):
        if all(sp.simplify(body.xreplace({k: start + j}) - t) == 0 for j, t in enumerate(written)):
            return sp.Sum(body, (k, start, upper))
    raise parser.error("an elided sum whose terms do not follow one pattern")


ENTRY_NAME = re.compile(r"^(?P<base>.+?)_\{?(?P<k>\d+)\}?$")


def _at_slots(call: AppliedUndef, slots: tuple[int, ...]) -> sp.Basic:
    """The derivative of a function by its argument slots (0-based), at the point its call writes."""
    return DerivativeAt(sp.Symbol(call.func.__name__), sp.Tuple(*map(sp.Integer, slots)), sp.Integer(1),
                        sp.Tuple(*call.args))


def _at_index(item: sp.Basic, end: sp.Symbol, j: int) -> sp.Basic:
    """The pattern of an elided list at index j; a bare entry x_N becomes the name x_j, as x_1 is written."""
    if isinstance(item, sp.Indexed) and item.indices == (end,):
        return _symbol(f"{item.base.label}_{j}")
    return item.xreplace({end: sp.Integer(j)})


def _written_index(item: sp.Basic) -> int | None:
    """The largest number index an item writes (``w_2 + \\epsilon_2`` -> 2, ``\\partial_{x_2} f`` -> 2)."""
    found = [int(i) for x in item.atoms(sp.Indexed) for i in x.indices if i.is_Integer]
    found += [int(m.group("k")) for s in item.free_symbols if isinstance(s, sp.Symbol)
              and (m := ENTRY_NAME.match(s.name))]
    return max(found) if found else None


def as_entries(expr: sp.Basic, bases: dict[str, sp.IndexedBase]) -> sp.Basic:
    """Each name ``x_1`` as the entry ``x[1]`` where ``x`` is one of ``bases`` (a base indexed by a letter)."""
    subs = {}
    plain = {re.sub(r"^\\(?:mathbf|boldsymbol|bm)\{(.*)\}$", r"\1", k): v for k, v in bases.items()}
    for s in expr.free_symbols:
        m = ENTRY_NAME.match(s.name) if isinstance(s, sp.Symbol) else None
        base = m and (bases.get(m.group("base")) or plain.get(m.group("base")))
        if base is not None and m:
            subs[s] = base[int(m.group("k"))]
    return expr.xreplace(subs) if subs else expr


def indexed_bases(expr: sp.Basic) -> dict[str, sp.IndexedBase]:
    """The indexed names of an expression, by name."""
    return {str(x.base.label): x.base for x in expr.atoms(sp.Indexed)}


def _unlabelled(name: str) -> str:
    """A name without its label (``l^{(i)}`` -> ``l``); ``f^{(n)}`` stays whole: it is f's n-th derivative."""
    base = name.lstrip("\\").split("^{(", 1)[0]
    return name.lstrip("\\") if base in DERIVATIVE_LABELS else base


DERIVATIVE_LABELS = frozenset({"f", "g", "h", "y", "u", "v"})


def _top_level(tokens: Sequence[Token], value: str) -> int | None:
    """The position of the first ``value`` token outside any group, or None."""
    depth = 0
    for k, tok in enumerate(tokens):
        depth += _depth_change(tok)
        if depth == 0 and tok.value == value:
            return k
    return None


def _raw(tokens: Sequence[Token]) -> str:
    """The tokens' values joined (for names built from scripts)."""
    return "".join(t.value if t.kind != "text" else f"\\text{{{t.value}}}" for t in tokens)


# ----------------------------------------------------------------------------------------------
# Entry points


def parse_expr_latex(text: str, context: Context | None = None) -> sp.Basic:
    """Parse one LaTeX member (no top-level relation) into a SymPy expression."""
    tokens = tokenize(text)
    if not tokens:
        raise NotationError("empty formula")
    bad = next((t for t in tokens if t.kind == "bad"), None)
    if bad is not None:
        raise NotationError(f"character {bad.value!r} at {bad.start} is not LaTeX math the audit reads")
    try:
        return Parser(tokens, context or Context()).parse()
    except RecursionError as e:
        raise NotationError("formula nested too deeply") from e


def condition(tokens: Sequence[Token], context: Context | None = None) -> sp.Basic:
    """A cases condition: ``z > 0``, ``i \\ne j``, ``0 < z < 1``, ``\\text{otherwise}``, ``\\text{if } x``."""
    toks = list(tokens)
    if toks and toks[0].kind == "text" and toks[0].value.strip() in {"if", "for", "when"}:
        toks = toks[1:]
    if toks and toks[0].kind == "op" and toks[0].value == ",":
        toks = toks[1:]
    if len(toks) == 1 and toks[0].kind == "text":
        word = toks[0].value.strip()
        if word in {"otherwise", "else", "if otherwise"}:
            return sp.true
        m = re.fullmatch(r"(?:if\s+)?(.+)", word)
        raise NotationError(f"condition in words: {m.group(1) if m else word!r}")
    parts, ops, current, depth = [], [], [], 0
    for tok in toks:
        depth += _depth_change(tok)
        if depth == 0 and tok.kind in {"op", "cmd"} and tok.value in COMPARISONS:
            parts.append(current)
            ops.append(tok.value)
            current = []
        else:
            current.append(tok)
    parts.append(current)
    if not ops:
        raise NotationError("a condition needs a comparison")
    values = [Parser(p, context or Context()).parse() if p else _empty() for p in parts]
    relations = [COMPARISONS[op](values[k], values[k + 1]) for k, op in enumerate(ops)]
    return sp.And(*relations) if len(relations) > 1 else relations[0]


def _empty() -> sp.Basic:
    raise NotationError("comparison with a missing side")


def parse_condition(text: str, context: Context | None = None) -> sp.Basic:
    """Parse a condition written on its own (``z>0``)."""
    return condition(tokenize(text), context)


def parse_set(text: str, context: Context | None = None) -> sp.Set:
    """An interval ``(a,b)``, ``[0,\\infty)``, a named set ``\\mathbb{R}``, ``\\{0,1\\}``, or a union."""
    tokens = tokenize(text)
    pieces: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        depth += _depth_change(tok)
        if depth == 0 and tok.value == r"\cup":
            pieces.append([])
        else:
            pieces[-1].append(tok)
    sets = [_one_set(p, context or Context()) for p in pieces]
    return sp.Union(*sets) if len(sets) > 1 else sets[0]


def _one_set(tokens: list[Token], context: Context) -> sp.Set:
    """One interval or named set."""
    if not tokens:
        raise NotationError("empty set expression")
    first, last = tokens[0], tokens[-1]
    if len(tokens) == 1 and first.kind == "set":
        if first.value.strip() in SETS:
            return SETS[first.value.strip()]
        raise NotationError(f"unknown set \\mathbb{{{first.value}}}")
    if first.value in {"(", "["} and last.value in {")", "]"} and first.kind == last.kind == "op":
        inner, depth, comma = tokens[1:-1], 0, None
        for k, tok in enumerate(inner):
            depth += _depth_change(tok)
            if depth == 0 and tok.value == ",":
                if comma is not None:
                    raise NotationError("an interval has two ends")
                comma = k
        if comma is None:
            raise NotationError("an interval needs 'a, b'")
        lo = Parser(inner[:comma], context).parse() if inner[:comma] else _empty()
        hi = Parser(inner[comma + 1:], context).parse() if inner[comma + 1:] else _empty()
        try:
            return sp.Interval(lo, hi, left_open=first.value == "(", right_open=last.value == ")")
        except (TypeError, ValueError) as e:
            raise NotationError(f"not an interval: {e}") from e
    value = Parser(tokens, context).parse()
    if isinstance(value, sp.Set):
        return value
    raise NotationError("not a set")


def parse_prose_cases(segments: Sequence[tuple[str, str]], context: Context | None = None) -> sp.Basic:
    """``$1$ if $z>0$ else $\\alpha$`` as a Piecewise; ``$-\\eta\\cdot$grad`` as a product with ``\\text{grad}``."""
    parts = [(kind, text.strip()) for kind, text in segments if text.strip()]
    words = [t.lower().strip(" ,;") for k, t in parts if k == "text"]
    math = [t for k, t in parts if k == "math"]
    kinds = [k for k, _ in parts]
    ctx = context or Context()
    if kinds == ["math", "text", "math", "text", "math"] and words[0] == "if" and words[1] in {"else", "otherwise"}:
        return sp.Piecewise((parse_expr_latex(math[0], ctx), parse_condition(math[1], ctx)),
                            (parse_expr_latex(math[2], ctx), sp.true))
    if kinds == ["math", "text", "math", "text", "math", "text"] and words[0] == "if" and words[2] == "otherwise":
        return sp.Piecewise((parse_expr_latex(math[0], ctx), parse_condition(math[1], ctx)),
                            (parse_expr_latex(math[2], ctx), sp.true))
    if kinds == ["math"]:
        return parse_expr_latex(math[0], ctx)
    word = re.match(r"[A-Za-z]+", parts[-1][1]) if kinds == ["math", "text"] else None
    if word is not None and re.search(r"\\(?:cdot|times)\s*$", math[0]):
        return parse_expr_latex(f"{math[0]} \\text{{{word.group()}}}", ctx)  # a product ending in a word
    raise NotationError("prose in the cell is not of the form '$a$ if $c$ else $b$'")
