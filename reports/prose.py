"""Short ASCII texts of the records (step rules, assumptions, titles) typeset as LaTeX prose with inline maths.

A record says ``chain rule on (1 + e^{-z})^{-1}`` or ``1 <= j <= m_l``; the report prints
"chain rule on $(1+e^{-z})^{-1}$" and "$1 \\le j \\le m_\\ell$". The text is split into words; a word is
maths when it looks like maths (``MATH_WORD``) or is a known name (``MATH_NAMES``), operator words join
the maths on both sides of them, and inside maths the spellings of ``SPELLINGS`` apply, in order (rules
as data). The prose is escaped (``reports.latex.escape``), so nothing in it acts as TeX.
"""

from __future__ import annotations

import re

from reports.latex import Tex, escape

# A word that is maths by its characters: operators, scripts, brackets, digits.
MATH_WORD = re.compile(r"[=<>^_/|\[\]{}'+*~]|\d|\(.*\)|\w\(|\)\w|^[a-z]\.[a-z]$")
# Words that are maths by name.
MATH_NAMES: frozenset[str] = frozenset(
    "alpha beta gamma delta epsilon eps eta theta lambda mu sigma phi Phi pi rho tau yhat sqrt log exp tanh erf "
    "Var Cov ReLU softmax argmin sign oo E P L F S".split())
# Words that are maths when they stand between two maths words (operators, relations).
JOINERS: frozenset[str] = frozenset({"-", "+", "=", "<", ">", "<=", ">=", "!=", "->", "iff", "in", "x", "*", "/",
                                     "~", "|", "and", "or"})
# Single letters that stay prose.
PROSE_LETTERS: frozenset[str] = frozenset({"a", "A", "I"})
# Two-word phrases whose second word looks like maths but is prose.
PROSE_PHRASES: tuple[str, ...] = ("Kronecker deltas", "Kronecker delta")

# Spellings inside maths, applied in order: (regular expression, replacement).
SPELLINGS: tuple[tuple[str, str], ...] = (
    (r"\bsqrt\(([^()]*)\)", r"\\sqrt{\1}"),
    (r"\bsqrt\s+(\w+)", r"\\sqrt{\1}"),
    (r"\b([a-zA-Z])_hat\b", r"\\hat{\1}"),
    (r"\byhat\b", r"\\hat{y}"),
    (r"\bsum_(\w|\{[^{}]*\})", r"\\sum_\1"),
    (r"<=", r"\\le "),
    (r">=", r"\\ge "),
    (r"!=", r"\\ne "),
    (r"->", r"\\to "),
    (r"-oo\b", r"-\\infty"),
    (r"\+oo\b", r"+\\infty"),
    (r"\boo\b", r"\\infty"),
    (r"\biff\b", r"\\iff"),
    (r"\bin\b", r"\\in"),
    (r"\band\b", r"\\text{ and }"),
    (r"\bor\b", r"\\text{ or }"),
    (r"\bd(alpha|beta|gamma|theta|eta|lambda|sigma)\b", r"d\\\1"),
    (r"(?<![\\A-Za-z])(alpha|beta|gamma|delta|epsilon|eta|theta|lambda|mu|sigma|phi|Phi|pi|rho|tau)(?![a-zA-Z])",
     r"\\\1"),
    (r"(?<![\\\w])eps(?![a-zA-Z])", r"\\epsilon"),
    (r"\bargmin_(\w)", r"\\argmin_\1"),
    (r"(?<![\\\w])(log|exp|tanh|max|min)\b", r"\\\1"),
    (r"(?<![\\\w])(Var|Cov|erf|ReLU|softmax|sign|Bernoulli|GELU)(?![a-zA-Z])", r"\\operatorname{\1}"),
    (r"\bE\[", r"\\mathbb{E}["),
    (r"\bN\(", r"\\mathcal{N}("),
    (r"\^T\b", r"^{\\top}"),
    (r"(?<=[\w}])T\b(?=\s|$)", r"^{\\top}"),
    (r"\^\(([^()]*)\)", r"^{(\1)}"),
    (r"(?<![\w^])(\d|[mnhd]|m_\S+) x (\d|[mnhd]|m_\S+)(?!\w)", r"\1 \\times \2"),
    (r"\(l([+-]1)?\)", r"(\\ell\1)"),
    (r"_l\b", r"_\\ell"),
    (r"\{l([+-]1)\}", r"{\\ell\1}"),
    (r"(?<![\\\w])l(?![\w(])", r"\\ell"),
    (r"_(in|out)\b", r"_{\\mathrm{\1}}"),
    (r"_([a-z]{2})\b", r"_{\1}"),
    (r"\bnp\.(\w+)", r"\\texttt{np.\1}"),
    (r"\*\*(\w+)", r"^{\1}"),
    (r"(?<=[A-Za-z])(?<!np)\.(?=[A-Za-z])", r" \\cdot "),
    (r"(\w)\*(?=\))", r"\1^*"),
    (r"\*", r" \\cdot "),
    (r"~", r"\\sim "),
    (r"(?<![\^_\w\\])\{([^{}]*)\}", r"\\{\1\\}"),
)


# Words that are prose although they hold maths characters: identifiers, "1-based", possessives.
PROSE_WORD = re.compile(r"^[a-z][a-z0-9]+(_[a-z0-9]+)+$|^\d+-[a-z]+$|^[A-Za-z0-9]{2,}'s?$|^[a-z]+-[a-z]+$|^BP\d"
                        r"|^\d+(-\d+)+$")


def _is_math(word: str) -> bool:
    """Whether one word of a record's text is maths."""
    core = word.strip(",;:.")
    bare = core.strip("()")
    if "\0" in word or not bare or any(ch in word for ch in "\\$%#&"):
        return False  # a backslash or a TeX special is never passed into maths: the word is escaped
    if PROSE_WORD.search(bare) and bare.split("_")[0].rstrip("'") not in MATH_NAMES and not bare.startswith("sum_"):
        return False
    if re.fullmatch(r"[-+]?oo", bare):
        return True
    if bare in PROSE_LETTERS:
        return False
    if len(bare) == 1 and bare.isalpha():
        return True
    if bare in MATH_NAMES or bare.split("(")[0] in MATH_NAMES:
        return True
    return bool(MATH_WORD.search(core)) and not (core.startswith("(") and bare.isalpha())


def math_text(text: str) -> str:
    """ASCII maths written the way the records write it, as LaTeX maths (no dollars)."""
    out = text
    for pattern, repl in SPELLINGS:
        out = re.sub(pattern, repl, out)
    return out


def _balance(prose: str, maths: str) -> tuple[str, str]:
    """Move an opening parenthesis from the end of the prose into maths that closes one more than it opens."""
    if maths.count(")") > maths.count("(") and prose.endswith("("):
        return prose[:-1], "(" + maths
    return prose, maths


def prose_tex(text: str) -> Tex:
    """A record's short text as LaTeX: prose escaped, maths in ``$...$`` with ``SPELLINGS`` applied."""
    if not text:
        return Tex("")
    protected = text
    for phrase in PROSE_PHRASES:
        protected = protected.replace(phrase, phrase.replace(" ", "\0"))
    words = protected.split(" ")
    kinds = [_is_math(w) for w in words]
    for k, w in enumerate(words):  # operator words join the maths on both sides
        if w in JOINERS and 0 < k < len(words) - 1 and kinds[k - 1] and kinds[k + 1]:
            kinds[k] = True
    pieces: list[str] = []
    k = 0
    while k < len(words):
        if not kinds[k]:
            pieces.append(escape(words[k].replace("\0", " ")))
            k += 1
            continue
        j = k
        while j < len(words) and kinds[j]:
            j += 1
        run = " ".join(words[k:j])
        lead = run[: len(run) - len(run.lstrip("("))] if run.count("(") > run.count(")") else ""
        run = run[len(lead):]
        trail = ""
        while run and run[-1] in ",;:." and not run.endswith(".."):
            trail, run = run[-1] + trail, run[:-1]
        if run.endswith(")") and run.count(")") > run.count("("):
            trail, run = ")" + trail, run[:-1]
        prev = "".join(pieces[-1:])
        if lead:
            pieces.append(escape(lead))
        if run:
            prose, maths = _balance("".join(pieces[-1:]) if pieces else "", run)
            if pieces and prose != "".join(pieces[-1:]):
                pieces[-1] = prose
            pieces.append("$" + math_text(maths) + "$")
        pieces.append(escape(trail))
        del prev
        k = j
    return Tex(_join(pieces))


def _join(pieces: list[str]) -> str:
    """The pieces with single spaces between words (none before punctuation or after an opening bracket)."""
    out = ""
    for p in pieces:
        if not p:
            continue
        if out and not out.endswith(("(", "{[}")) and not p.startswith((",", ";", ":", ".", ")", "{]}")):
            out += " "
        out += p
    return out
