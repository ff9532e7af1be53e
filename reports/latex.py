"""LaTeX helpers for the report: escape untrusted text, print SymPy records, guard code listings,
and abbreviate expressions too wide for the page (``display``, measured by ``tex_width``).

Two kinds of string reach a template. ``Tex`` marks LaTeX we produced ourselves (SymPy's printer
applied to our records, our own macros); everything else is plain text and is escaped on the way
in, by ``finalize`` (the templates' default) or by ``escape``. Text that came from a notes file is
never a ``Tex``: escaping neutralises every character TeX treats specially, so a string such as
``\\input{/etc/passwd}`` or ``\\write18{rm -rf /}`` is typeset as those characters and does nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sympy as sp
from sympy.printing.latex import LatexPrinter


class Tex(str):
    """A string of trusted LaTeX (ours, never the notes'): templates insert it as it is."""

    __slots__ = ()


# Characters with a meaning to TeX (or to LaTeX right after ``\\``) and their inert spelling.
# ``^`` matters twice over: ``^^5c`` is TeX's own spelling of a backslash.
_SPECIAL: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    '"': r"\textquotedbl{}",
    "[": "{[}",
    "]": "{]}",
    "*": "{*}",
    "-": "-{}",
    "`": r"\textasciigrave{}",
    "'": r"\textquotesingle{}",
}

# Non-ASCII characters that notes commonly hold, spelled with commands every TeX has.
_UNICODE: dict[str, str] = {
    "\u2212": "-{}", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``",
    "\u201d": "''", "\u2026": r"\dots{}", "\u00d7": r"\texttimes{}", "\u00b7": r"\textperiodcentered{}",
    "\u2264": r"$\le$", "\u2265": r"$\ge$", "\u2260": r"$\ne$", "\u2248": r"$\approx$", "\u2192": r"$\to$",
    "\u221e": r"$\infty$", "\u2202": r"$\partial$", "\u2211": r"$\sum$", "\u00b1": r"$\pm$", "\u2207": r"$\nabla$",
    "\u00a0": r"\nobreakspace{}",
}
# Greek letters in Unicode order (U+03B1..U+03C9 and U+0391..U+03A9; U+03C2/U+03A2 are skipped).
_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
          "sigma tau upsilon phi chi psi omega").split()
_UPPER_COMMANDS = frozenset("Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega".split())
_UPPER_LATIN = dict(zip("Alpha Beta Epsilon Zeta Eta Iota Kappa Mu Nu Omicron Rho Tau Chi".split(),
                        "ABEZHIKMNOPTX", strict=True))
for _offset, _name in enumerate(_GREEK):
    _skip = 1 if _offset > 16 else 0
    _cap = _name.capitalize()
    _UNICODE[chr(0x03B1 + _offset + _skip)] = "o" if _name == "omicron" else rf"$\{_name}$"
    _UNICODE[chr(0x0391 + _offset + _skip)] = rf"$\{_cap}$" if _cap in _UPPER_COMMANDS else _UPPER_LATIN[_cap]
_UNICODE["\u03c2"] = r"$\varsigma$"

# Where a long unbroken run of escaped text may break across lines.
_BREAK_AFTER = frozenset("/\\(,=+;:_")
#: Longest text typeset from one value (longer is cut, saying how much); TeX reads a source line into a
#: buffer of limited size, so escaped output is also split into source lines of at most about SOURCE_LINE
#: characters with ``%``-newlines, which TeX drops: the typeset text is unchanged.
MAX_TEXT = 4000
SOURCE_LINE = 1000


def escape(text: str, *, breakable: bool = False) -> Tex:
    """Typeset ``text`` literally: every TeX special, control and unknown character made inert.

    With ``breakable``, a line break is allowed after ``/ \\ ( , = + ; : _`` so long formulas
    and identifiers wrap inside a table cell or a line.
    """
    text = unicodedata.normalize("NFC", str(text))
    cut = len(text) - MAX_TEXT
    if cut > 0:
        text = f"{text[:MAX_TEXT]} [... {cut} more characters cut]"
    out: list[str] = []
    width = 0
    for ch in text:
        if ch in _SPECIAL:
            piece = _SPECIAL[ch]
        elif ch in "\n\r\t\f\v":
            piece = " "
        elif " " <= ch <= "~":
            piece = ch
        elif ch in _UNICODE:
            piece = _UNICODE[ch]
        elif "\u00c0" <= ch <= "\u00ff" and ch.isalpha():
            piece = ch  # Latin-1 letters: pdflatex's utf8 input and T1 fonts typeset them
        elif unicodedata.category(ch).startswith("C"):
            piece = ""  # control and unassigned characters: dropped
        else:
            piece = rf"\unknownchar{{{ord(ch):04X}}}"
        if breakable and ch in _BREAK_AFTER:
            piece += r"\allowbreak{}"
        if width >= SOURCE_LINE and not piece.startswith(" "):  # TeX drops a new line's leading spaces
            out.append("%\n")  # a new source line, no space typeset
            width = 0
        out.append(piece)
        width += len(piece)
    return Tex("".join(out))


def finalize(value: object) -> str:
    """The templates' default for ``\\VAR{...}``: ``Tex`` passes through, anything else is escaped."""
    if isinstance(value, Tex):
        return value
    return escape("" if value is None else str(value))


def math(expr: object) -> Tex:
    """SymPy's LaTeX for one of our records (trusted: it is built from the registry, not the notes)."""
    return Tex(sp.latex(expr))


def texttt(text: str) -> Tex:
    """Escaped text in a typewriter font that may break after punctuation (identifiers, methods)."""
    return Tex(r"\texttt{" + escape(text, breakable=True) + "}")


_END_LISTING = re.compile(r"\\end\s*\{\s*lstlisting\s*\}")


def listing_body(code: str) -> Tex:
    """Generated source made safe for a ``lstlisting`` body: ASCII, no tabs, cannot close the listing."""
    if _END_LISTING.search(code):
        raise ValueError("generated code contains \\end{lstlisting}; it cannot be shown as a listing")
    ascii_only = "".join(ch if ch == "\n" or " " <= ch <= "~" else "?" for ch in code.expandtabs(4))
    return Tex(ascii_only.rstrip("\n"))


def label(key: str) -> Tex:
    """A ``\\label``/``\\ref`` key made only of letters, digits, ``:`` and ``-``."""
    return Tex(re.sub(r"[^A-Za-z0-9:-]", "-", key))


# --- width of printed maths, and abbreviation of expressions too wide for the page ---------------

# Widths are in "character units": a letter or digit is 1, a binary operator with its spacing 1.8,
# sub- and superscripts 0.7 of their content, a fraction the wider of its parts. Rough, but it
# orders expressions by printed width well enough to decide which ones to abbreviate.
_TOKEN = re.compile(r"\\[a-zA-Z]+|\\.|[{}^_&]|\s+|.", re.DOTALL)
_SCRIPT = 0.7
_ZERO_WIDTH = frozenset({r"\left", r"\right", r"\displaystyle", r"\limits", r"\nolimits", r"\!", r"\big", r"\Big",
                         r"\bigg", r"\Bigg", r"\substack"})
_CONTENT = frozenset({r"\text", r"\mathrm", r"\operatorname", r"\mathit", r"\mathbf", r"\mathbb", r"\boldsymbol",
                      r"\mathcal", r"\mathsf", r"\mathtt", r"\hat", r"\bar", r"\tilde", r"\overline", r"\dot",
                      r"\ddot", r"\vec", r"\underline", r"\textrm", r"\textit", r"\textbf", r"\texttt"})
_SPACE = {r"\,": 0.2, r"\:": 0.25, r"\;": 0.3, r"\ ": 0.3, r"\quad": 2.0, r"\qquad": 4.0}
_OPERATORS = frozenset("+-=<>")
_NAMED = frozenset({r"\max", r"\min", r"\sin", r"\cos", r"\tan", r"\tanh", r"\sinh", r"\cosh", r"\log", r"\ln",
                    r"\exp", r"\det", r"\lim", r"\sup", r"\inf", r"\arg", r"\sgn", r"\arctan", r"\limsup",
                    r"\liminf", r"\Pr", r"\dim", r"\ker", r"\deg", r"\gcd"})
_WIDE_COMMANDS = {r"\sum": 1.6, r"\prod": 1.6, r"\int": 1.0, r"\cdots": 2.0, r"\ldots": 2.0, r"\dots": 2.0,
                  r"\leq": 1.8, r"\geq": 1.8, r"\neq": 1.8, r"\approx": 1.8, r"\cdot": 0.8, r"\times": 1.8}


def _tokens(tex: str) -> list[str]:
    """TeX tokens of ``tex``, with whitespace dropped (maths mode ignores it)."""
    return [t for t in _TOKEN.findall(tex) if not t.isspace()]


class _Width:
    """A tiny recursive reader of SymPy's LaTeX that estimates its printed width."""

    def __init__(self, tex: str) -> None:
        self.toks = _tokens(tex)
        self.i = 0

    def peek(self) -> str | None:
        """The next token, or None at the end."""
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        """The next token, consumed."""
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def group(self) -> float:
        """A braced group or a single atom."""
        tok = self.peek()
        if tok is None:
            return 0.0
        if tok == "{":
            self.take()
            width = self.rows(stop="}")
            if self.peek() == "}":
                self.take()
            return width
        return self.atom()

    def rows(self, stop: str | None) -> float:
        """A sequence up to ``stop``; rows (``\\\\``) and cells (``&``) laid out as a table."""
        table: list[list[float]] = [[0.0]]
        while (tok := self.peek()) is not None:
            if tok == stop or (stop == "}" and tok == "}"):
                break
            if tok == r"\end":
                break
            if tok == r"\\":
                self.take()
                table.append([0.0])
            elif tok == "&":
                self.take()
                table[-1].append(0.0)
            else:
                table[-1][-1] += self.atom()
        columns = max(len(r) for r in table)
        widths = [max((r[c] if c < len(r) else 0.0) for r in table) for c in range(columns)]
        return sum(widths) + 1.5 * (columns - 1)

    def atom(self) -> float:
        """One token and what it takes as arguments."""
        tok = self.take()
        if tok == "{":
            self.i -= 1
            return self.group()
        if tok in "^_":
            return _SCRIPT * self.group()
        if tok in (r"\frac", r"\dfrac", r"\tfrac", r"\binom"):
            return max(self.group(), self.group()) + 0.6
        if tok == r"\sqrt":
            if self.peek() == "[":
                while self.peek() not in (None, "]"):
                    self.take()
                if self.peek() == "]":
                    self.take()
            return self.group() + 1.0
        if tok == r"\begin":
            self.group()  # the environment's name
            width = self.rows(stop=None) + 1.0
            if self.peek() == r"\end":
                self.take()
                self.group()
            return width
        if tok in (r"\left", r"\right"):
            nxt = self.peek()
            if nxt is not None and nxt not in "{}":
                self.take()
            return 0.6
        if tok in _ZERO_WIDTH:
            return 0.0
        if tok in _CONTENT:
            return self.group()
        if tok in (r"\underbrace", r"\overbrace"):
            return self.group()
        if tok in _SPACE:
            return _SPACE[tok]
        if tok in _WIDE_COMMANDS:
            return _WIDE_COMMANDS[tok]
        if tok in _NAMED:
            return 0.9 * (len(tok) - 1) + 0.3
        if tok.startswith("\\"):
            return 1.0
        if tok in _OPERATORS:
            return 1.8
        if tok in ",.;:()[]|'":
            return 0.5
        return 1.0


def tex_width(tex: str) -> float:
    """The estimated printed width of SymPy's LaTeX ``tex``, in character units (a letter is 1)."""
    reader = _Width(tex)
    total = 0.0
    while reader.peek() is not None:
        total += reader.rows(stop=None)
        if reader.peek() is not None:
            reader.take()  # a stray \end or }
    return total


EXPONENT_WIDTH = 30.0  # widest exponent of e shown whole (tex_width of the exponent, before script size)


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, except that a wide exponent of e is abbreviated (it is set in script size)."""

    def __init__(self) -> None:
        super().__init__()
        self.shortened = False

    def _print_ExpBase(self, expr: sp.Basic, exp: str | None = None) -> str:
        arg = self._print(expr.args[0])
        if tex_width(arg) > EXPONENT_WIDTH:
            # a plain ellipsis: the count under a brace would be unreadable in script size
            arg, self.shortened = _COUNTED.sub(r"\\cdots", _abbreviate(expr.args[0], EXPONENT_WIDTH)), True
        return self._do_exponent("e^{" + arg + "}", exp)


_COUNTED = re.compile(r"\\underbrace\{\\cdots\}_\{\\text\{[^{}]*\}\}")
_PRINTED: dict[sp.Basic, tuple[str, bool]] = {}


def _print(expr: object) -> tuple[str, bool]:
    """``_Printer``'s LaTeX for ``expr`` and whether an exponent was abbreviated (memoised for SymPy objects)."""
    key = expr if isinstance(expr, sp.Basic) else None
    if key is not None and key in _PRINTED:
        return _PRINTED[key]
    printer = _Printer()
    out = (printer.doprint(expr), printer.shortened)
    if key is not None and len(_PRINTED) < 100_000:
        _PRINTED[key] = out
    return out


def _latex(expr: object) -> str:
    """``_Printer``'s LaTeX for ``expr``."""
    return _print(expr)[0]


_RELATIONS = {"==": "=", "!=": r"\neq", "<=": r"\leq", ">=": r"\geq", "<": "<", ">": ">"}
_MIN_BUDGET = 6.0
MAX_ROWS = 4
MAX_COLS = 4


def _more(count: int, one: str, many: str) -> str:
    """An underbraced ellipsis saying how many terms (``one``/``many``) it stands for."""
    return r"\underbrace{\cdots}_{\text{" + f"{count} more {one if count == 1 else many}" + "}}"


def _paren(tex: str) -> str:
    """``tex`` in stretching parentheses."""
    return r"\left(" + tex + r"\right)"


def _abbrev_add(expr: sp.Add, budget: float, depth: int) -> str:
    """The leading terms of a sum that fit ``budget``, then an ellipsis counting the rest."""
    terms = list(expr.as_ordered_terms())
    reserve = 8.0
    out, used = "", 0.0
    for k, term in enumerate(terms):
        negative = term.could_extract_minus_sign()
        body = -term if negative else term
        piece = _paren(_latex(body)) if body.is_Add else _latex(body)
        width = tex_width(piece) + 1.8
        if out and used + width > budget - reserve:
            return out + " + " + _more(len(terms) - k, "term", "terms")
        if width > budget - reserve:
            piece = _abbreviate(body, max(_MIN_BUDGET, budget - reserve - used), depth + 1)
            width = tex_width(piece) + 1.8
        out += ((" - " if negative else " + ") if out else ("- " if negative else "")) + piece
        used += width
    return out


def _abbrev_items(items: Sequence[sp.Basic], budget: float, depth: int, opening: str, closing: str) -> str:
    """The leading items of a tuple or set that fit ``budget``, then an ellipsis counting the rest."""
    reserve = 10.0
    pieces: list[str] = []
    used = 2.0
    for k, item in enumerate(items):
        piece = _latex(item)
        width = tex_width(piece) + 1.0
        if pieces and used + width > budget - reserve:
            pieces.append(_more(len(items) - k, "entry", "entries"))
            break
        if width > budget - reserve:
            piece = _abbreviate(item, max(_MIN_BUDGET, budget - reserve - used), depth + 1)
            width = tex_width(piece) + 1.0
        pieces.append(piece)
        used += width
    return opening + ", ".join(pieces) + closing


def _abbrev_mul(expr: sp.Expr, budget: float, depth: int) -> str:
    """A product or quotient with its widest factors abbreviated."""
    num, den = sp.fraction(expr)
    if den != 1:
        sign = ""
        if num.could_extract_minus_sign():
            sign, num = "- ", -num
        return sign + r"\frac{" + _abbreviate(num, budget, depth + 1) + "}{" + _abbreviate(den, budget, depth + 1) + "}"
    coeff, rest = expr.as_coeff_Mul()
    lead = "- " if coeff == -1 else ("" if coeff == 1 else _latex(coeff) + " ")
    factors = list(rest.as_ordered_factors()) if rest.is_Mul else [rest]
    if len(factors) == 1 and not factors[0].is_Mul and coeff != 1:
        inner = _abbreviate(factors[0], budget - tex_width(lead), depth + 1)
        return lead + (_paren(inner) if factors[0].is_Add else inner)
    widths = [tex_width(_latex(f)) for f in factors]
    share = max(_MIN_BUDGET, (budget - tex_width(lead)) / max(1, len(factors)))
    pieces: list[str] = []
    used = tex_width(lead)
    for f, w in zip(factors, widths, strict=True):
        piece = _abbreviate(f, max(share, budget - sum(widths) + w), depth + 1) if w > share else _latex(f)
        piece = _paren(piece) if f.is_Add else piece
        width = tex_width(piece)
        if pieces and used + width > budget - 2.0:
            pieces.append(r"\cdots")  # the remaining factors
            break
        pieces.append(piece)
        used += width
    return lead + " ".join(pieces)


_PLACEHOLDER = "ZQXJ"


def _abbrev_node(expr: sp.Basic, budget: float, depth: int) -> str:
    """Any other node (power, function, sum, ...): its wide arguments abbreviated in place."""
    args = list(expr.args)
    if not args:
        return r"\cdots"
    wide = sorted(range(len(args)), key=lambda k: -tex_width(_latex(args[k])))
    holders: dict[str, str] = {}
    new_args = list(args)
    for rank, k in enumerate(wide[:2]):
        arg = args[k]
        if not isinstance(arg, sp.Expr) or tex_width(_latex(arg)) <= budget / 2:
            continue
        name = _PLACEHOLDER + "abcdefgh"[rank]
        inner = _abbreviate(arg, budget * 0.8, depth + 1)
        needs = arg.is_Add or (isinstance(expr, sp.Pow) and k == 0 and (arg.is_Mul or arg.is_Pow))
        holders[name] = _paren(inner) if needs else inner
        new_args[k] = sp.Symbol(name)
    if not holders:
        return r"\cdots"
    try:
        shell = _latex(expr.func(*new_args, evaluate=False) if isinstance(expr, sp.Pow) else expr.func(*new_args))
    except Exception:  # noqa: BLE001 - any node SymPy cannot rebuild is shown as an ellipsis
        return r"\cdots"
    if any(name not in shell for name in holders):
        return r"\cdots"
    for name, inner in holders.items():
        shell = shell.replace(name, inner)
    return shell


def _abbrev_matrix(expr: sp.MatrixBase, budget: float, depth: int) -> str:
    """At most ``MAX_ROWS`` x ``MAX_COLS`` entries, each abbreviated to its share of the width."""
    rows, cols = expr.shape
    show_r, show_c = min(rows, MAX_ROWS), min(cols, MAX_COLS)
    cell = max(_MIN_BUDGET, budget / (show_c + (cols > show_c)) - 1.5)
    lines = []
    for r in range(show_r):
        cells = [_abbreviate(expr[r, c], cell, depth + 1) for c in range(show_c)]
        if cols > show_c:
            cells.append(r"\cdots")
        lines.append(" & ".join(cells))
    if rows > show_r:
        lines.append(" & ".join([r"\vdots"] * (show_c + (cols > show_c))))
    note = "" if (rows, cols) == (show_r, show_c) else r"_{" + f"{rows} \\times {cols}" + "}"
    return r"\left[\begin{matrix}" + r" \\ ".join(lines) + r"\end{matrix}\right]" + note


def _abbreviate(expr: sp.Basic, budget: float, depth: int = 0) -> str:
    """SymPy's LaTeX for ``expr``, abbreviated until its estimated width is at most ``budget``."""
    full = _latex(expr)
    if tex_width(full) <= budget:
        return full
    if depth > 12 or budget < _MIN_BUDGET / 2:
        return r"\cdots"
    if isinstance(expr, sp.MatrixBase):
        return _abbrev_matrix(expr, budget, depth)
    if isinstance(expr, sp.Tuple):
        return _abbrev_items(expr.args, budget, depth, r"\left( ", r"\right)")
    if isinstance(expr, sp.FiniteSet):
        return _abbrev_items(sorted(expr.args, key=sp.default_sort_key), budget, depth, r"\left\{", r"\right\}")
    if isinstance(expr, sp.core.relational.Relational):
        op = _RELATIONS.get(expr.rel_op, "=")
        half = budget / 2
        return _abbreviate(expr.lhs, half, depth + 1) + f" {op} " + _abbreviate(expr.rhs, half, depth + 1)
    if isinstance(expr, sp.Add):
        return _abbrev_add(expr, budget, depth)
    if isinstance(expr, sp.Mul) or (isinstance(expr, sp.Pow) and sp.fraction(expr)[1] != 1):
        return _abbrev_mul(expr, budget, depth)
    return _abbrev_node(expr, budget, depth)


def display(expr: object, budget: float) -> tuple[Tex, bool]:
    """SymPy's LaTeX for ``expr``, abbreviated where wider than ``budget`` (see ``tex_width``) and where an
    exponent of e is wider than ``EXPONENT_WIDTH``; and whether anything was abbreviated."""
    full, shortened = _print(expr)
    if tex_width(full) <= budget or not isinstance(expr, sp.Basic | sp.MatrixBase):
        return Tex(full), shortened
    return Tex(_abbreviate(expr, budget)), True
