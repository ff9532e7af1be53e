"""Turn the math of any notes file into statements: relation chains, each with its file:line.

A math fragment (``verify.notes.Math``) is cut into pieces before its relation chains are read:

- the rows of an ``aligned``/``align*``/``split``/``eqnarray``/``gathered`` environment, where a row that
  starts with a relation (``&= ...``) continues the last member of the row above, and a trailing
  ``&& \\text{..}`` column (a comment or a condition) is dropped;
- top-level words in ``\\text{..}`` (``\\text{ and so }``, ``\\text{for }``) end one statement and start another.

Each piece is split by ``verify.latex_tokens.clauses`` into clauses and their members, so
``a = b = c \\approx d`` yields the links a=b, b=c, c≈d. The prose just before a fragment is kept as its
*cue*, so that "Let $s_i = ...$" or "where $f(x) = ...$" can be read as a definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from verify.latex_tokens import Clause, NotationError, clauses, tokenize
from verify.notes import Math, Notes

ALIGNED = re.compile(r"\\begin\{(aligned|align\*?|split|eqnarray\*?|gathered|gather\*?|multline\*?)\}"
                     r"(?:\{[^{}]*\})?(?P<body>.*?)\\end\{\1\}", re.DOTALL)
LEADING_RELATION = re.compile(r"\s*(=|<|>|\\approx|\\le|\\leq|\\ge|\\geq|\\neq|\\ne|\\equiv|\\propto)(?![A-Za-z])")
CUE_WINDOW = 80
CONNECTIVE = re.compile(r"(?i)^\s*(and|or|for|for all|for any|if|where|so|and so|hence|and hence|thus|with|since|then|"
                        r"i\.e\.|e\.g\.|as|when|whenever|otherwise|because|but|while|we have|which|that is|"
                        r"and thus|therefore|implies)\b")
IMPLIES = frozenset({r"\implies", r"\Rightarrow", r"\Longrightarrow", r"\iff", r"\Leftrightarrow", r"\therefore"})
CONSEQUENCE = re.compile(r"(?i)\b(hence|thus|so|therefore|implies)\b|\\implies|\\Rightarrow|\\therefore")
DEF_ARROWS = re.compile(r"\\(?:stackrel|overset)\{\\(?:text|textrm|mathrm)\{def\}\}\{=\}")
DEFINING_CUE = re.compile(r"(?i)\b(let|define[sd]?|defin(?:e|ing)|denot(?:e|es|ing)|where|suppose|consider|given|"
                          r"assume|setting|set|take|write|call|with|for|is\s+defined\s+as|we\s+have\s+that\s+for)"
                          r"\b[^.$]*$")


@dataclass(frozen=True)
class Piece:
    """A part of a fragment that holds its own relation chains: its offset in the fragment and its text."""

    offset: int
    text: str
    prefix: int = 0  # characters prepended from the row above (a continuation row)
    consequence: bool = False  # introduced by "hence", "thus", \implies: follows from the statement before


@dataclass(frozen=True)
class Statement:
    """One clause of a fragment: where it is, its chain of members, and the prose cue before the fragment."""

    math: Math
    offset: int
    clause: Clause
    cue: str
    prefix: int = 0
    piece_text: str = ""
    after: str = ""
    consequence: bool = False
    quantifier: str = ""  # "some": said in words of some values only (``verify.phrases``)
    words: str = ""  # said in words: what the phrase of ``verify.phrases`` that read it means

    def line_at(self, pos: int) -> int:
        """The 1-based line of position ``pos`` of the piece's text."""
        return self.math.position(self.offset + max(pos - self.prefix, 0))[0]

    @property
    def line(self) -> int:
        """The 1-based line where the clause starts."""
        return self.line_at(self.clause.start)

    @property
    def text(self) -> str:
        """The clause's LaTeX (a continuation row includes the member it continues)."""
        return self.piece_text[self.clause.start:self.clause.end]


def aligned_rows(latex: str) -> list[Piece]:
    """The rows of an aligned environment as pieces (continuation rows get the member above); else the whole."""
    m = ALIGNED.search(latex)
    if m is None:
        return [Piece(0, latex)]
    out: list[Piece] = []
    body_start = m.start("body")
    previous_last = ""
    pos = 0
    body = m.group("body")
    open_row: tuple[int, str] | None = None
    before_sep, joinable = "", False
    for raw, sep in _rows(body):
        start = body_start + pos
        pos += len(raw) + len(sep)
        row = raw.split("&&")[0]
        text = _outer_amps(row)
        gap, before_sep = " " * len(before_sep), sep
        if open_row is not None and not LEADING_RELATION.match(text):
            text = LEADING_SPACE.sub(lambda q: " " * len(q.group()), text)  # a \\quad that indents separates nothing
            start, text = open_row[0], open_row[1] + gap + text  # one member broken over two rows
        elif open_row is None and joinable and out and LEADING_OPERATOR.match(text):
            text = LEADING_SPACE.sub(lambda q: " " * len(q.group()), text)  # "& \\quad + ..." goes on the row above
            above = out.pop()
            out.append(Piece(above.offset, above.text + gap + text, above.prefix))
            previous_last = _last_member(out[-1].text, previous_last)
            joinable = "&&" not in raw
            continue
        open_row = None
        joinable = "&&" not in raw
        if not text.strip():
            continue
        if _unfinished(text) and "&&" not in raw:
            open_row = (start, text)
            continue
        prefix = 0
        if LEADING_RELATION.match(text) and previous_last:
            text, prefix = previous_last + " " + text, len(previous_last) + 1
        out.append(Piece(start, text, prefix))
        previous_last = _last_member(text, previous_last)
    if open_row is not None:
        out.append(Piece(*open_row))
    before, after = latex[:m.start()], latex[m.end():]
    if re.search(r"[=<>]|\\approx", before):
        out.insert(0, Piece(0, before))
    if after.strip(" .,;"):
        out.append(Piece(m.end(), after))
    return out


LEADING_SPACE = re.compile(r"^(?:\s|\\left\.|\\q?quad|\\[,;!])+")
BEGIN, END = re.compile(r"\\begin\{"), re.compile(r"\\end\{")
ROW_SEP = re.compile(r"\\\\(?:\[[^\]]*\])?")
OPEN = re.compile(r"\\left\s*(?:\\[{]|[(\[|])|(?<!\\right)(?<!\\right\s)[(\[]")
CLOSE = re.compile(r"\\right\s*(?:\\[}]|[)\]|.])|(?<!\\left)[)\]]")
TRAILING_OPERATOR = re.compile(r"(?:[+\-]|\\times|\\cdot)\s*(?:\\right\.)?\s*(?:\\quad|\\qquad|\\[,;!]|\s)*$")


LEADING_OPERATOR = re.compile(r"^(?:\s|\\q?quad|\\[,;!])*(?:[+\-]|\\times|\\cdot)")


def _last_member(text: str, fallback: str) -> str:
    """The last member of a row's last clause (what a row starting with ``&= ...`` continues)."""
    try:
        parts = clauses(text)
    except NotationError:
        parts = ()
    return parts[-1].members[-1].text if parts and parts[-1].members else fallback


def _outer_amps(row: str) -> str:
    """A row with its alignment marks ``&`` blanked, keeping those of a nested ``bmatrix`` (its columns)."""
    out, depth, k = [], 0, 0
    while k < len(row):
        if row.startswith("\\begin{", k):
            depth += 1
        elif row.startswith("\\end{", k):
            depth -= 1
        out.append(" " if row[k] == "&" and depth == 0 and (k == 0 or row[k - 1] != "\\") else row[k])
        k += 1
    return "".join(out)


def _rows(body: str) -> list[tuple[str, str]]:
    """The rows of an environment's body, each with the row separator that ends it (a ``\\\\`` inside a nested
    ``bmatrix`` separates that matrix's rows, not the body's)."""
    out, pos, read, depth = [], 0, 0, 0
    for m in ROW_SEP.finditer(body):
        between = body[read:m.start()]
        depth += len(BEGIN.findall(between)) - len(END.findall(between))  # environments still open here
        read = m.end()
        if depth:
            continue
        out.append((body[pos:m.start()], m.group()))
        pos = m.end()
    out.append((body[pos:], ""))
    return out


def _unfinished(text: str) -> bool:
    """Whether a row breaks a member in two: it ends with an operator, or opens more brackets than it closes."""
    return bool(TRAILING_OPERATOR.search(text)) or len(OPEN.findall(text)) > len(CLOSE.findall(text))


def cut_at_words(piece: Piece) -> list[Piece]:
    """Split a piece at top-level ``\\text{..}`` words: the statement before and after are separate."""
    try:
        tokens = tokenize(piece.text)
    except NotationError:
        return [piece]
    cuts, depth = [], 0
    for tok in tokens:
        if tok.kind == "begin" or tok.value in {"(", "[", "{", r"\{"}:
            depth += 1
        elif tok.kind == "end" or tok.value in {")", "]", "}", r"\}"}:
            depth -= 1
        elif depth == 0 and ((tok.kind == "text" and CONNECTIVE.search(tok.value)) or tok.value in IMPLIES):
            cuts.append((tok.start, tok.end))
    if not cuts:
        return [piece]
    out, start, follows = [], 0, piece.consequence
    for a, b in cuts:
        out.append(_sub_piece(piece, start, a, follows))
        start, follows = b, bool(CONSEQUENCE.search(piece.text[a:b]))
    out.append(_sub_piece(piece, start, len(piece.text), follows))
    return [p for p in out if p.text.strip()]


def _sub_piece(piece: Piece, start: int, end: int, consequence: bool) -> Piece:
    """The part ``start:end`` of a piece, keeping its position in the fragment."""
    return Piece(piece.offset + max(start - piece.prefix, 0), piece.text[start:end], max(piece.prefix - start, 0),
                 consequence)


def pieces(latex: str) -> list[Piece]:
    """Every piece of a fragment, in order (``\\stackrel{\\text{def}}{=}`` read as ``:=``, same length)."""
    latex = DEF_ARROWS.sub(lambda m: ":=" + " " * (len(m.group()) - 2), latex)
    return [q for p in aligned_rows(latex) for q in cut_at_words(p)]


def cue_before(notes: Notes, math: Math) -> str:
    """The prose just before a fragment on its line (and the line above when the fragment starts a line)."""
    line = notes.lines[math.line - 1] if 0 < math.line <= len(notes.lines) else ""
    before = line[:max(math.col - (1 if math.kind == "inline" else 2), 0)]
    if math.kind == "display" or not before.strip(" $"):
        k = math.line - 2
        while k > 0 and k >= math.line - 3 and notes.lines[k].strip() in {"$$", r"\[", ""}:
            k -= 1  # a display whose $$ stands on its own line: the prose is the line above that
        above = notes.lines[k] if k >= 0 else ""
        before = above + " " + before
    before = re.sub(r"\$[^$]*\$", " ", before)
    return before[-CUE_WINDOW:]


def cue_after(notes: Notes, math: Math) -> str:
    """The prose just after a fragment on its last line (a condition such as "(since labels sum to 1)")."""
    last = math.position(len(math.latex))
    line = notes.lines[last[0] - 1] if 0 < last[0] <= len(notes.lines) else ""
    return re.sub(r"\$[^$]*\$", " ", line[last[1]:].lstrip("$"))[:CUE_WINDOW]


def defining(cue: str) -> bool:
    """Whether the prose cue introduces a definition ("Let", "where", "is defined as", ...)."""
    return DEFINING_CUE.search(cue) is not None


def statements(notes: Notes) -> Iterator[Statement]:
    """Every clause of every math fragment (tables included), in the order of the file."""
    for m in sorted(notes.math, key=lambda x: (x.line, x.col)):
        cue, after = cue_before(notes, m), cue_after(notes, m)
        for piece in pieces(m.latex):
            try:
                found = clauses(piece.text)
            except NotationError:
                continue
            for clause in found:
                if all(not member.text.strip() for member in clause.members):
                    continue  # "$\\approx$" in prose names the symbol; it states nothing
                yield Statement(m, piece.offset, clause, cue, piece.prefix, piece.text, after, piece.consequence)
