"""What a subject is once its spelling is set aside: canonical names, index letters numbered, keys compared.

``\\mathbf{W}`` is ``W``, ``\\ell`` is ``l``, ``s_a / z_b`` is ``s_i / z_j``: two members state the same subject when
their keys are the same expression (structurally, else by expansion). ``verify.matching`` and
``verify.matching_rows`` compare subjects, rows' functions and column headers by these keys.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import sympy as sp

from verify.notation import NotationError, parse_expr_latex

#: Index letters a subject may be written with under another name (a free or bound index).
INDEX_NAMES = re.compile(r"[a-z]|[a-z]'")
#: A letter with a word as its subscript (``n_{in}``, ``n_{\\text{out}}``): a name, whatever the parser makes of it.
SUBSCRIPT_WORD = re.compile(r"(?<![\\A-Za-z])([A-Za-z])_\{(?:\\text\{)?([A-Za-z]{2,})\}?\}")
PARSE_ERRORS = (NotationError, TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError,
                NotImplementedError, ZeroDivisionError)


def canonical_name(name: str) -> str:
    r"""A symbol's name with its spelling set aside: no bold, ``\ell`` as ``l``, no braces or spaces."""
    name = re.sub(r"\\(?:mathbf|boldsymbol|bm)\{(\\?[A-Za-z]+)\}", r"\1", name)
    name = re.sub(r"\\ell(?![A-Za-z])", "l", name)
    name = re.sub(r"\\(?:text|mathrm|operatorname)\{([^{}]*)\}", r"\1", name)
    return re.sub(r"[\s{}\\]", "", name)


def _is_index(s: sp.Basic) -> bool:
    """Whether ``s`` is a one-letter symbol that can stand for an index (``i``, ``j``, ``k``, ``m``, ``r``)."""
    return isinstance(s, sp.Symbol) and bool(INDEX_NAMES.fullmatch(s.name))


def key_of(expr: sp.Basic) -> sp.Basic:
    """``expr`` with canonical names and its index letters numbered in order of appearance."""
    indices: dict[sp.Symbol, sp.Symbol] = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Indexed):
            for ix in node.indices:
                for s in sorted(ix.free_symbols, key=str) if not _is_index(ix) else (ix,):
                    if _is_index(s) and s not in indices:
                        indices[s] = sp.Symbol(f"_ix{len(indices)}")
        elif isinstance(node, sp.Sum):
            for limit in node.limits:
                if limit[0] not in indices:
                    indices[limit[0]] = sp.Symbol(f"_ix{len(indices)}")
    renames: dict[sp.Basic, sp.Basic] = dict(indices)
    for s in expr.atoms(sp.Symbol):
        if s not in renames:
            renames[s] = sp.Symbol(canonical_name(s.name))
    for base in expr.atoms(sp.IndexedBase):
        renames[base] = sp.IndexedBase(canonical_name(str(base.label)))
    for m in expr.atoms(sp.MatrixSymbol):
        renames[m] = sp.Symbol(canonical_name(m.name))
    try:
        return expr.xreplace(renames)
    except PARSE_ERRORS:
        return expr


@functools.lru_cache(maxsize=4096)
def parse_member(text: str) -> sp.Basic | None:
    """The LaTeX ``text`` parsed in generic mode, or None when it cannot be read."""
    try:
        return parse_expr_latex(text)
    except PARSE_ERRORS:
        return None


@functools.lru_cache(maxsize=4096)
def subject_key(text: str) -> sp.Basic | None:
    """The canonical form of a member or subject, or None when it cannot be read."""
    parsed = parse_member(text)
    return None if parsed is None else key_of(parsed)


def names_of(text: str) -> frozenset[str]:
    """The canonical names a member's LaTeX uses (symbols, indexed bases, functions)."""
    parsed = parse_member(text)
    words = {f"{m.group(1)}_{m.group(2)}" for m in SUBSCRIPT_WORD.finditer(text)}  # n_{in}: not n[i, n]
    return frozenset(words) if parsed is None else record_names(parsed) | words


def _indices(expr: sp.Basic) -> set[sp.Basic]:
    """The symbols ``expr`` uses as indices (of an Indexed, or bound by a Sum)."""
    out: set[sp.Basic] = set()
    for x in expr.atoms(sp.Indexed):
        for ix in x.indices:
            out |= ix.free_symbols
    for total in expr.atoms(sp.Sum, sp.Product):
        out |= {limit[0] for limit in total.limits}
    return out


def record_names(*exprs: object) -> frozenset[str]:
    """The canonical names expressions use, indices left out."""
    out: set[str] = set()
    for e in exprs:
        if not isinstance(e, sp.Basic):
            continue
        indices = _indices(e)
        out |= {canonical_name(s.name) for s in e.atoms(sp.Symbol) if s not in indices}
        out |= {canonical_name(str(b.label)) for b in e.atoms(sp.IndexedBase)}
        out |= {canonical_name(str(m.name)) for m in e.atoms(sp.MatrixSymbol)}
        out |= {type(f).__name__ for f in e.atoms(sp.Function)}
    return frozenset(out)


def same_key(a: sp.Basic | None, b: sp.Basic | None) -> bool:
    """Whether two canonical forms are the same expression (structurally, else by expansion)."""
    if a is None or b is None:
        return False
    if a == b:
        return True
    try:
        return bool(isinstance(a, sp.Expr) and isinstance(b, sp.Expr) and a.free_symbols == b.free_symbols
                    and sp.expand(a - b) == 0)  # the cheap test first: most pairs differ in their names
    except PARSE_ERRORS:
        return False


__all__: Iterable[str] = ("INDEX_NAMES", "PARSE_ERRORS", "SUBSCRIPT_WORD", "canonical_name", "key_of", "names_of",
                          "parse_member", "record_names", "same_key", "subject_key")
