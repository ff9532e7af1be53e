"""The parser's rules for names: what a name with a subscript stands for (a constant, a symbol, an indexed
entry, a Kronecker delta), superscripts (layer labels, stars, transposes, powers), decorations, norms and
``\\nabla``, and the indices of an entry of a matrix expression.

They are methods of ``verify.notation_parser.Parser`` and call its grammar
(``sub_parse``).
"""

from __future__ import annotations

import re
from dataclasses import replace

import sympy as sp

from verify.latex_tokens import Token, _raw
from verify.notation_cursor import Cursor
from verify.notation_nodes import Norm, Top
from verify.notation_table import CONSTANTS, DEFAULT_SIZE, GREEK, INDEX, NORM_INDEX
from verify.notation_values import Name, _bold_atom, _canonical_style, _power, _refuse_huge, _symbol


class NameRules(Cursor):
    """``w_i``, ``\\delta_{ij}``, ``\\beta_1``, ``W^{(l)}``, ``x^\\top``, ``\\hat{y}``, ``\\|v\\|``, ``\\nabla L``."""

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
