"""The parser's rules for applied functions and big operators: ``\\sigma(x)``, a catalog or document function
in generic mode (primes differentiate), ``\\log x`` and ``\\tanh^2(z)``, ``\\binom{n}{k}``, ``\\sum`` and ``\\prod``.

They are methods of ``verify.notation_parser.Parser`` and call its grammar
(``sub_parse``, ``term``, ``factor``, ``paren_args``).
"""

from __future__ import annotations

import re

import sympy as sp

from verify.catalog import GENERIC_FUNCTIONS, lookup
from verify.latex_tokens import Token, _depth_change
from verify.notation_cursor import Cursor
from verify.notation_table import DEFAULT_SIZE, FUNCTIONS, INDEX, MAX_SUM_TERMS, NAMED_CALLS
from verify.notation_values import Name, _power, _unlabelled


class CallRules(Cursor):
    """Functions applied to arguments, and sums and products over an index."""

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

    def binomial(self) -> sp.Basic:
        """``\\binom{n}{k}``."""
        top = self.sub_parse(self.script_group())
        bottom = self.sub_parse(self.script_group())
        return sp.binomial(top, bottom, evaluate=False)

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
