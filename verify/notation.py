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

The parser is split by concern, each module importing only those listed before it:
``verify.latex_tokens`` (tokens, clauses and relation chains, decimal numerals),
``verify.notation_table`` (the table above as data, and the caller's ``Context``), ``verify.notation_nodes``
(opaque nodes such as ``Partial`` and ``Top``), ``verify.notation_values`` (arithmetic with size guards,
names and entries), ``verify.notation_cursor`` (the token cursor), the rules for names
(``verify.notation_names``) and applied functions (``verify.notation_calls``), the generic-mode rules
``verify.notation_calculus``, ``verify.notation_lists`` and ``verify.notation_probability``,
``verify.notation_parser`` (the grammar) and ``verify.notation_sets`` (sets, conditions, prose cases).
This module gathers the entry points the rest of ``verify`` reads by.
"""

from __future__ import annotations

from verify.latex_tokens import Clause, Decimal, Member, NotationError, Token, clauses, decimal, tokenize
from verify.notation_nodes import Hadamard, Partial, Top
from verify.notation_parser import Parser, parse_expr_latex
from verify.notation_sets import parse_condition, parse_prose_cases, parse_set
from verify.notation_table import Context

__all__ = [
    "Clause",
    "Context",
    "Decimal",
    "Hadamard",
    "Member",
    "NotationError",
    "Parser",
    "Partial",
    "Token",
    "Top",
    "clauses",
    "decimal",
    "parse_condition",
    "parse_expr_latex",
    "parse_prose_cases",
    "parse_set",
    "tokenize",
]
