"""The notes' own LaTeX, typeset in the report only when every command in it is a known maths command.

A notes file is untrusted: its text reaches a template escaped (``reports.latex.escape``). A quoted
formula is the one exception, and only through ``safe_math``: it tokenises the fragment and passes it
as LaTeX when every control word is in ``ALLOWED`` (maths commands and the matrix environments), braces
balance, and no character that could leave maths or change TeX's reading (``$ % # ^^`` and the like) is
present. Anything else is printed escaped, as before.
"""

from __future__ import annotations

import re

from reports.latex import Tex, escape

ALLOWED: frozenset[str] = frozenset((
    "frac dfrac tfrac sqrt sum prod int partial nabla cdot cdots ldots dots times odot otimes circ le leq ge geq "
    "ne neq approx sim to rightarrow Rightarrow leftarrow mapsto in notin subset infty pm mp top intercal prime "
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi rho sigma "
    "tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega ell "
    "mathbf boldsymbol mathrm mathbb mathcal mathit operatorname text textrm hat bar tilde vec dot overline "
    "left right big Big bigg Bigg quad qquad log ln exp max min tanh sinh cosh sin cos arg det lim sup inf "
    "begin end bmatrix pmatrix matrix cases mid vert lVert rVert lvert rvert langle rangle lfloor rfloor "
    "lceil rceil Var E odot emptyset mathbb cup cap forall exists neg land lor iff implies displaystyle"
).split())
ENVIRONMENTS: frozenset[str] = frozenset({"bmatrix", "pmatrix", "matrix", "cases", "aligned"})
_CONTROL = re.compile(r"\\([A-Za-z]+)|\\(.)")
_FORBIDDEN = re.compile(r"[$%#*]|\^\^|\\\\\\|[\x00-\x08\x0b-\x1f\x7f]")
_ENV = re.compile(r"\\(begin|end)\s*\{([^{}]*)\}")
SYMBOLS_OK = frozenset(",;:!{}|_ ")  # \, \; \: \! \{ \} \| \_ and "\ "


def _balanced(text: str) -> bool:
    """Whether the unescaped braces of ``text`` balance."""
    depth = 0
    k = 0
    while k < len(text):
        ch = text[k]
        if ch == "\\":
            k += 2
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
        k += 1
    return depth == 0


def safe_math(text: str) -> Tex | None:
    """The notes' maths ``text`` as LaTeX for maths mode when every command is allowed, else None."""
    text = text.strip()
    if not text or len(text) > 600 or _FORBIDDEN.search(text) or not _balanced(text):
        return None
    for m in _CONTROL.finditer(text):
        word, symbol = m.groups()
        if word is not None and word not in ALLOWED:
            return None
        if symbol is not None and symbol not in SYMBOLS_OK and symbol != "\\":
            return None
    envs = _ENV.findall(text)
    if any(env not in ENVIRONMENTS for _, env in envs) or [k for k, _ in envs].count("begin") * 2 != len(envs):
        return None
    if len(re.findall(r"\\left(?![a-zA-Z])", text)) != len(re.findall(r"\\right(?![a-zA-Z])", text)):
        return None
    if "&" in text and "\\begin" not in text:
        return None
    return Tex(text)


def quoted(text: str) -> Tex:
    """The notes' maths as inline maths when ``safe_math`` allows it, else escaped typewriter text."""
    tex = safe_math(text)
    if tex is not None:
        return Tex("$" + tex + "$")
    return Tex(r"\texttt{" + escape(text, breakable=True) + "}")


def typeset_line(line: str) -> Tex:
    """A line of the notes typeset: its ``$...$`` maths through ``safe_math``, its prose escaped.

    A line without dollars is a line of a display and is typeset whole. Whatever ``safe_math`` refuses
    is shown escaped, in typewriter.
    """
    text = line.strip()
    if "$" not in text:
        tex = safe_math(text)
        return Tex("$" + tex + "$") if tex is not None else Tex(r"\texttt{" + escape(text, breakable=True) + "}")
    parts = text.split("$")
    if len(parts) % 2 == 0:  # unbalanced dollars: not typeset
        return Tex(r"\texttt{" + escape(text, breakable=True) + "}")
    out = []
    for k, part in enumerate(parts):
        if k % 2 == 0:
            out.append(escape(part))
        else:
            tex = safe_math(part)
            out.append("$" + tex + "$" if tex is not None else r"\texttt{" + escape(part, breakable=True) + "}")
    return Tex("".join(out))
