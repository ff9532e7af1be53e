"""The document's own definitions, scoped by section: what a name means at a given line.

A frame opens at each heading and closes at the next heading of the same or a higher level, so a
definition made in a section holds in its subsections and nowhere after it. A later definition
shadows an earlier one. Definitions are recorded, never checked; ``expand`` substitutes them.

Three kinds of definition: a name (``u = f(x)``, ``\\eta = 0.1``), a function of its parameters
(``f(x) = 3x^2 - 4x``), and an entry of an indexed name (``s_i = e^{z_i} / \\sum_j e^{z_j}``). A name
that was mentioned but never given a value (``\\mathbf{x} \\in \\mathbb{R}^d``) is *declared*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sympy as sp
from sympy.core.function import AppliedUndef

MAX_ROUNDS = 12


@dataclass
class Frame:
    """The definitions made under one heading."""

    level: int
    names: dict[str, sp.Basic] = field(default_factory=dict)
    functions: dict[str, sp.Lambda] = field(default_factory=dict)
    entries: dict[str, tuple[tuple[sp.Symbol, ...], sp.Basic]] = field(default_factory=dict)
    declared: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    applied: set[str] = field(default_factory=set)
    conventions: set[str] = field(default_factory=set)
    shapes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    masses: dict[str, dict[sp.Basic, sp.Basic]] = field(default_factory=dict)


@dataclass
class Scope:
    """A stack of frames, innermost last; the document's definitions visible at the current line."""

    frames: list[Frame] = field(default_factory=lambda: [Frame(0)])
    paragraph: int = 0  # a number given to a name in prose ("Setting x = 1") holds to the end of its paragraph
    givens: dict[str, int] = field(default_factory=dict)

    def adopt(self, convention: str) -> None:
        """The prose declares a convention (such as "einstein": repeated indices are summed) for this section."""
        self.frames[-1].conventions.add(convention)

    def follows(self, convention: str) -> bool:
        """Whether a convention declared in this section or around it holds here."""
        return any(convention in frame.conventions for frame in self.frames)

    def enter(self, level: int) -> None:
        """A heading of ``level``: close every frame at that level or deeper, open a new one."""
        while len(self.frames) > 1 and self.frames[-1].level >= level:
            self.frames.pop()
        self.frames.append(Frame(level))

    def _find(self, table: str, name: str) -> object | None:
        """The innermost definition of ``name`` in one of the frame tables."""
        for frame in reversed(self.frames):
            found = getattr(frame, table).get(name)
            if found is not None:
                return found
        return None

    def value(self, name: str) -> sp.Basic | None:
        """What a name stands for, or None (a number given in an earlier paragraph no longer holds)."""
        if name in self.givens and self.givens[name] != self.paragraph:
            return None
        return self._find("names", name)  # type: ignore[return-value]

    def function(self, name: str) -> sp.Lambda | None:
        """The document's definition of a function, or None."""
        return self._find("functions", name)  # type: ignore[return-value]

    def entry(self, base: str) -> tuple[tuple[sp.Symbol, ...], sp.Basic] | None:
        """The definition of the entries of an indexed name, or None."""
        return self._find("entries", base)  # type: ignore[return-value]

    def known(self, name: str) -> bool:
        """Whether ``name`` was defined or declared in scope."""
        return any(name in f.names or name in f.functions or name in f.entries or name in f.declared
                   for f in self.frames)

    def has_value(self, name: str) -> bool:
        """Whether ``name`` was given a value (a name, a function or entries) in scope."""
        if name in self.givens and self.givens[name] != self.paragraph:
            return False
        return any(name in f.names or name in f.functions or name in f.entries for f in self.frames)

    def seen(self, name: str) -> bool:
        """Whether ``name`` was mentioned earlier in scope."""
        return any(name in f.seen for f in self.frames)

    def mention(self, names: Iterable[str], applied: Iterable[str] = ()) -> None:
        """Record names mentioned by a statement, and those it applies as functions."""
        self.frames[-1].seen.update(names)
        self.frames[-1].applied.update(applied)

    def applied_names(self) -> frozenset[str]:
        """Names used as functions (``f(x)``) in scope."""
        return frozenset(n for f in self.frames for n in f.applied)

    def function_names(self) -> frozenset[str]:
        """Names the document defines as functions (the parser reads ``u(x)`` as a call for these)."""
        return frozenset(n for f in self.frames for n in f.functions)

    def define(self, head: sp.Basic, value: sp.Basic) -> str:
        """Record ``head = value``; return the name defined (shadowing any earlier definition)."""
        top = self.frames[-1]
        if isinstance(head, sp.Symbol):
            if head in getattr(value, "free_symbols", set()):
                top.declared.add(head.name)  # an update x = x - eta f'(x): recorded, never substituted
                return head.name
            top.names[head.name] = value
            if getattr(value, "is_number", False):
                self.givens[head.name] = self.paragraph
            else:
                self.givens.pop(head.name, None)
            return head.name
        if isinstance(head, AppliedUndef):
            name = head.func.__name__
            top.functions[name] = sp.Lambda(tuple(head.args), value)
            return name
        if isinstance(head, sp.Indexed):
            name = str(head.base.label)
            if any(str(i.base.label) == name for i in value.atoms(sp.Indexed)):
                top.declared.add(name)  # a recurrence (a_t = b_t + c_t a_{t-1}): recorded, never substituted
                return name
            top.entries[name] = (tuple(head.indices), value)  # type: ignore[arg-type]
            return name
        raise TypeError(f"cannot define {head}")

    def declare(self, name: str) -> None:
        """Record that ``name`` was introduced without a value."""
        self.frames[-1].declared.add(name)

    def give_shape(self, name: str, shape: tuple[str, ...]) -> None:
        """Record the space a name lives in, ``\\mathbf{W} \\in \\mathbb{R}^{q \\times h}``: its shape ("q", "h")."""
        self.frames[-1].shapes[name] = shape

    def give_mass(self, name: str, value: sp.Basic, probability: sp.Basic) -> None:
        """Record ``P(name = value) = probability``: one point of a discrete distribution the notes give."""
        self.frames[-1].masses.setdefault(name, {})[value] = probability

    def distribution(self, name: str) -> dict[sp.Basic, sp.Basic] | None:
        """The point masses given for a name, innermost first."""
        return self._find("masses", name)  # type: ignore[return-value]

    def shape(self, name: str) -> tuple[str, ...] | None:
        """The declared shape of a name, innermost first."""
        return self._find("shapes", name)  # type: ignore[return-value]


def definable(head: sp.Basic) -> bool:
    """Whether an expression can be the left-hand side of a definition: a name, f(x, y), or s_i."""
    if isinstance(head, sp.Symbol):
        return True
    if isinstance(head, AppliedUndef):
        return bool(head.args) and all(isinstance(a, sp.Symbol) for a in head.args) and len(set(head.args)) == len(
            head.args)
    if isinstance(head, sp.Indexed):
        return all(isinstance(i, sp.Symbol) for i in head.indices)
    return False


def head_name(head: sp.Basic) -> str:
    """The name a definable head introduces."""
    if isinstance(head, sp.Symbol):
        return head.name
    if isinstance(head, AppliedUndef):
        return head.func.__name__
    if isinstance(head, sp.Indexed):
        return str(head.base.label)
    return str(head)


def expand(expr: sp.Basic, scope: Scope, keep: frozenset[str] = frozenset()) -> sp.Basic:
    """Substitute the document's definitions into ``expr`` until nothing changes (names in ``keep`` stay)."""
    for _ in range(MAX_ROUNDS):
        new = _expand_once(expr, scope, keep)
        if new == expr:
            return new
        expr = new
    return expr


def _expand_once(expr: sp.Basic, scope: Scope, keep: frozenset[str]) -> sp.Basic:
    """One round of substitution: names, function applications, indexed entries."""
    subs: dict[sp.Basic, sp.Basic] = {}
    labels = {ix.base.label for ix in expr.atoms(sp.Indexed)}
    for s in expr.free_symbols:
        if isinstance(s, sp.Symbol) and s.name not in keep and s not in labels:  # eta_i is not eta's value at i
            value = scope.value(s.name)
            lam = scope.function(s.name) if value is None else None
            if isinstance(value, sp.MatrixBase) and not s.is_commutative:
                continue  # a bold name written as its entries stays a name: a product with it is a matrix product
            if value is not None and value != s:
                subs[s] = value
            elif lam is not None:
                subs[s] = lam.expr  # u for u(a, b): the function at its own parameters
    for app in expr.atoms(AppliedUndef):
        name = app.func.__name__
        lam = scope.function(name) if name not in keep else None
        if lam is not None and len(lam.variables) == len(app.args):
            subs[app] = lam(*app.args)
    for ix in expr.atoms(sp.Indexed):
        base = str(ix.base.label)
        found = scope.entry(base) if base not in keep else None
        if found is not None and len(found[0]) == len(ix.indices):
            indices, value = found
            subs[ix] = value.xreplace(dict(zip(indices, ix.indices, strict=True)))
    return expr.xreplace(subs) if subs else expr
