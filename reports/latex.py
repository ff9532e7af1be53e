"""LaTeX helpers for the report: escape untrusted text, print SymPy records, guard code listings.

Two kinds of string reach a template. ``Tex`` marks LaTeX we produced ourselves (SymPy's printer
applied to our records, our own macros); everything else is plain text and is escaped on the way
in, by ``finalize`` (the templates' default) or by ``escape``. Text that came from a notes file is
never a ``Tex``: escaping neutralises every character TeX treats specially, so a string such as
``\\input{/etc/passwd}`` or ``\\write18{rm -rf /}`` is typeset as those characters and does nothing.
"""

from __future__ import annotations

import re
import unicodedata

import sympy as sp


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


def escape(text: str, *, breakable: bool = False) -> Tex:
    """Typeset ``text`` literally: every TeX special, control and unknown character made inert.

    With ``breakable``, a line break is allowed after ``/ \\ ( , = + ; : _`` so long formulas
    and identifiers wrap inside a table cell or a line.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", str(text)):
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
        out.append(piece)
        if breakable and ch in _BREAK_AFTER:
            out.append(r"\allowbreak{}")
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
