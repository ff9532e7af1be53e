"""The recursive-descent parser: one member of a relation chain, as tokens, into one SymPy value.

The grammar (sums, products, powers, scripts, atoms, fractions, roots, the ``cases`` conditions) lives
here; the token cursor, the notation table, the value builders and the families of rules it inherits
(names, applied functions, calculus, lists and environments, probability) live in the modules this one
imports. ``verify.notation`` documents the conventions and is what the rest of ``verify`` imports.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sympy as sp

from verify.catalog import GENERIC_FUNCTIONS
from verify.latex_tokens import COMPARISONS, NotationError, Token, _depth_change, _number, _raw, _top_level, tokenize
from verify.notation_calculus import CalculusRules
from verify.notation_calls import CallRules
from verify.notation_lists import ListRules
from verify.notation_names import NameRules
from verify.notation_nodes import Entry, InverseOf, Partial
from verify.notation_probability import ProbabilityRules
from verify.notation_table import (
    CONSTANTS,
    DECORATIONS,
    ELLIPSES,
    FRACTIONS,
    FUNCTIONS,
    GREEK,
    NAMED_CALLS,
    SETS,
    Context,
)
from verify.notation_values import (
    Name,
    _add,
    _as_expr,
    _callable,
    _canonical_style,
    _hadamard,
    _inverse,
    _mul,
    _neg,
    _power,
    elided_sum,
)


class Parser(NameRules, CallRules, CalculusRules, ListRules, ProbabilityRules):
    """Recursive-descent parser over the tokens of one member."""

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
            return self.expectation()  # E[\xi]: taken from a distribution the notes give, if they give one
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

    def fraction(self) -> sp.Basic:
        """``\\frac{a}{b}`` (braceless arguments take one token, one digit of a number)."""
        num = self.script_group()
        den = self.script_group()
        slope = self.named_slope(num, den)
        if slope is not None:
            return slope
        if self.context.generic:
            derivative = self.leibniz(num, den)
            if derivative is not None:
                return derivative
        if num and num[0].value == r"\partial" and den and den[0].value == r"\partial":
            return Partial(self.sub_parse(num[1:]), self.sub_parse(den[1:]))
        return _mul(self.sub_parse(num), _inverse(self.sub_parse(den)))

    def named_slope(self, num: list[Token], den: list[Token]) -> sp.Basic | None:
        """``\\frac{d\\sigma}{dz}(x)``: the slope of a named function at x, read as ``\\sigma'(x)``."""
        marks = {"d", r"\partial"}
        if not (len(num) == 2 and len(den) == 2 and num[0].value in marks and den[0].value == num[0].value
                and num[1].kind == "cmd" and num[1].value[1:] in NAMED_CALLS and den[1].kind == "letter"
                and self.at("(")):
            return None
        args = self.paren_args()
        if len(args) != 1:
            raise self.error(f"the slope of \\{num[1].value[1:]} at {len(args)} points")
        name = num[1].value[1:] + "'"
        return self.generic_call(name, args) if self.context.generic else sp.Function(name)(args[0])

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
