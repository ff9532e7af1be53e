"""Read a Markdown + LaTeX notes file into fragments that carry their line numbers and section.

markdown-it-py (with the dollarmath, table and front-matter plugins) finds the structure: display
math ``$$...$$``, inline math ``$...$``, table rows and their cells, code fences and headings.
Each fragment keeps where it sits in the raw text (1-based line, 0-based column), so a claim found
by a regex on a raw line can be tied to the exact formula, table cell or number written there.
The section of a line is the number of the nearest heading above it that starts with one ("1.2").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.front_matter import front_matter_plugin

from chainrule.errors import InputError

#: Largest notes file audited. Measured on a shared 2-core machine (repeated real notes): 512 KiB in 36 s,
#: 1 MiB in 81 s; 5 MB had not finished after 400 s. Larger files are refused (exit 2) rather than audited
#: past a minute.
MAX_BYTES = 512 * 1024
SECTION = re.compile(r"^(\d+(?:\.\d+)*)(?=[\s.:)]|$)")
DECIMAL = re.compile(r"(?<![\w.])[-−]?\d+\.\d+(?![\w.])")
MathKind = Literal["display", "inline"]
#: Control characters (C0 but tab and newline, DEL, C1): terminal escapes such as ESC ] 52 (a clipboard
#: write) or a line erase must never reach a terminal, table or Markdown output from a notes file.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
REPLACEMENT = "\ufffd"


class NotesError(InputError):
    """A notes file that cannot be audited (missing, a directory, not UTF-8, empty, too large): exit code 2."""


@dataclass(frozen=True)
class Heading:
    """A heading: its line, level, text, and the section it opens ("" when unnumbered)."""

    line: int
    level: int
    text: str
    section: str


@dataclass(frozen=True)
class Math:
    """A math fragment: display ``$$..$$`` or inline ``$..$``, with where its content starts."""

    kind: MathKind
    line: int
    col: int
    section: str
    latex: str
    cell: int | None = None

    def position(self, offset: int) -> tuple[int, int]:
        """The (1-based line, 0-based column) of character ``offset`` of ``latex``."""
        line, col = self.line, self.col
        for ch in self.latex[:offset]:
            if ch == "\n":
                line, col = line + 1, 0
            else:
                col += 1
        return line, col

    def offset(self, line: int, col: int) -> int | None:
        """The offset in ``latex`` of raw position (line, col), or None if it is outside."""
        here_line, here_col = self.line, self.col
        for k, ch in enumerate(self.latex):
            if (here_line, here_col) == (line, col):
                return k
            if ch == "\n":
                here_line, here_col = here_line + 1, 0
            else:
                here_col += 1
        return len(self.latex) if (here_line, here_col) == (line, col) else None

    @property
    def end_line(self) -> int:
        """The last line that holds part of the content."""
        return self.line + self.latex.count("\n")


@dataclass(frozen=True)
class Cell:
    """One table cell: column index, header text, raw text, span in the line, and its pieces."""

    column: int
    header: str
    text: str
    start: int
    end: int
    segments: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Row:
    """A table row (header rows too) with its cells."""

    line: int
    section: str
    header: bool
    cells: tuple[Cell, ...]

    def cell(self, header_pattern: str) -> Cell | None:
        """The first cell whose column header matches ``header_pattern`` (case-insensitive)."""
        for c in self.cells:
            if re.search(header_pattern, c.header, re.IGNORECASE):
                return c
        return None


@dataclass(frozen=True)
class Code:
    """A fenced or indented code block (never audited as mathematics)."""

    line: int
    end_line: int
    section: str
    info: str
    text: str


@dataclass(frozen=True)
class Number:
    """A decimal numeral written in prose or in a table cell, outside math and code."""

    line: int
    col: int
    section: str
    text: str


@dataclass(frozen=True)
class Notes:
    """A parsed notes file: raw lines, the section of each line, and every fragment."""

    source: str
    lines: tuple[str, ...]
    sections: tuple[str, ...]
    headings: tuple[Heading, ...]
    math: tuple[Math, ...]
    rows: tuple[Row, ...]
    code: tuple[Code, ...]
    numbers: tuple[Number, ...] = field(default=())

    def section_of(self, line: int) -> str:
        """The section number of a 1-based line ("" before the first numbered heading)."""
        return self.sections[line - 1] if 1 <= line <= len(self.sections) else ""

    def in_section(self, line: int, section: str) -> bool:
        """Whether ``line`` lies in ``section`` or one of its numbered subsections."""
        here = self.section_of(line)
        return here == section or here.startswith(section + ".")

    def section_span(self, section: str) -> tuple[int, int] | None:
        """First and last line of ``section`` (with subsections), or None if no heading opens it."""
        found = [k + 1 for k in range(len(self.lines)) if self.in_section(k + 1, section)]
        return (found[0], found[-1]) if found else None

    def math_at(self, line: int, col: int) -> tuple[Math, int] | None:
        """The math fragment covering raw position (line, col) and the offset in it."""
        for m in self.math:
            if m.line <= line <= m.end_line:
                off = m.offset(line, col)
                if off is not None and (m.kind == "display" or off < len(m.latex)):
                    return m, off
        return None

    def math_on(self, line: int) -> list[Math]:
        """Every math fragment that touches ``line``."""
        return [m for m in self.math if m.line <= line <= m.end_line]

    def row_at(self, line: int) -> Row | None:
        """The table row written on ``line``."""
        return next((r for r in self.rows if r.line == line), None)

    def code_at(self, line: int) -> Code | None:
        """The code block covering ``line``."""
        return next((c for c in self.code if c.line <= line <= c.end_line), None)


def markdown() -> MarkdownIt:
    """The Markdown parser: CommonMark plus tables, dollar math and front matter."""
    return (MarkdownIt("commonmark").enable("table")
            .use(dollarmath_plugin, allow_space=True, allow_digits=True, double_inline=True)
            .use(front_matter_plugin))


def read_notes(path: Path) -> Notes:
    """Read and parse a notes file; raise NotesError with a one-line reason if it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise NotesError(f"notes file not found: {path} (check the path)")
    if path.is_dir():
        raise NotesError(f"{path} is a directory; pass a Markdown file inside it")
    if not path.is_file():
        raise NotesError(f"{path} is not a regular file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise NotesError(f"{path} is {size} bytes, over the {MAX_BYTES}-byte limit (an audit must end within a "
                         "minute); split the notes into files of at most 512 KiB")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise NotesError(f"{path} is not UTF-8 (byte {e.start}, line {line}); re-save it as UTF-8") from e
    if not text.strip():
        raise NotesError(f"{path} is empty; nothing to audit")
    return parse_notes(text, str(path))


def without_controls(text: str) -> str:
    """``text`` with CRLF line ends as LF and every other control character replaced by U+FFFD (columns kept)."""
    return CONTROL.sub(REPLACEMENT, text.replace("\r\n", "\n"))


def parse_notes(text: str, source: str = "<text>") -> Notes:
    """Parse Markdown text into headings, math fragments, table rows, code blocks and numbers."""
    text = without_controls(text.lstrip("\ufeff"))
    lines = tuple(text.split("\n"))
    tokens = markdown().parse(text)
    headings = _headings(tokens)
    sections = _sections(len(lines), headings)
    math: list[Math] = []
    rows: list[Row] = []
    code: list[Code] = []
    header: tuple[str, ...] = ()
    row_cells: list[Token] = []
    row_line, row_is_header = 0, False
    for k, tok in enumerate(tokens):
        if tok.type in {"math_block", "math_block_label"} and tok.map:
            math.append(_display(tok, lines, sections))
        elif tok.type in {"fence", "code_block"} and tok.map:
            first, last = tok.map[0] + 1, tok.map[1]
            code.append(Code(first, last, sections[first - 1], tok.info.strip(), tok.content))
        elif tok.type == "tr_open" and tok.map:
            row_cells, row_line = [], tok.map[0] + 1
            row_is_header = k > 0 and tokens[k - 1].type == "thead_open"
        elif tok.type == "inline" and tok.map and tokens[k - 1].type in {"th_open", "td_open"}:
            row_cells.append(tok)
        elif tok.type == "tr_close":
            row = _row(row_line, row_cells, lines, sections, header, row_is_header, math)
            if row_is_header:
                header = tuple(c.text for c in row.cells)
            rows.append(row)
        elif tok.type == "inline" and tok.map:
            math.extend(_inline_math(tok, lines, sections))
    math.sort(key=lambda m: (m.line, m.col))
    notes = Notes(source, lines, sections, tuple(headings), tuple(math), tuple(rows), tuple(code))
    return Notes(source, lines, sections, tuple(headings), tuple(math), tuple(rows), tuple(code),
                 _numbers(notes, tokens))


def _headings(tokens: list[Token]) -> list[Heading]:
    """Every heading, with the section number it opens."""
    out = []
    for k, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            text = tokens[k + 1].content.strip()
            m = SECTION.match(text)
            out.append(Heading(tok.map[0] + 1, int(tok.tag[1:]), text, m.group(1) if m else ""))
    return out


def _sections(count: int, headings: list[Heading]) -> tuple[str, ...]:
    """The section of every line: the last numbered heading at or above it."""
    marks = {h.line: h.section for h in headings if h.section}
    out, current = [], ""
    for line in range(1, count + 1):
        current = marks.get(line, current)
        out.append(current)
    return tuple(out)


def _display(tok: Token, lines: tuple[str, ...], sections: tuple[str, ...]) -> Math:
    """A display block; its content starts just after the opening ``$$``."""
    first = tok.map[0]
    col = lines[first].find("$$")
    col = col + 2 if col >= 0 else 0
    line, content = first + 1, tok.content
    if content.startswith("\n"):
        content, line, col = content[1:], line + 1, 0
    return Math("display", line, col, sections[line - 1], content.rstrip("\n"))


def _locate(raw: str, needle: str, cursor: int) -> int:
    """Where ``needle`` occurs in ``raw`` at or after ``cursor`` (-1 if nowhere)."""
    return raw.find(needle, cursor)


def _inline_math(tok: Token, lines: tuple[str, ...], sections: tuple[str, ...],
                 span: tuple[int, int] | None = None, cell: int | None = None) -> list[Math]:
    """The inline math children of an inline token, each placed at its raw line and column."""
    first, last = tok.map[0], tok.map[1]
    raw = "\n".join(lines[first:last])
    starts = [0]
    for ln in lines[first:last]:
        starts.append(starts[-1] + len(ln) + 1)
    cursor, limit = (span if span else (0, len(raw)))
    out = []
    for child in tok.children or []:
        if child.type not in {"math_inline", "math_inline_double"}:
            continue
        fence = "$$" if child.type == "math_inline_double" else "$"
        at = _locate(raw[:limit], f"{fence}{child.content}{fence}", cursor)
        if at < 0:
            at = _locate(raw[:limit], child.content, cursor)
            offset = at
        else:
            offset = at + len(fence)
        if at < 0:
            continue
        cursor = offset + len(child.content)
        row = max(k for k in range(len(starts) - 1) if starts[k] <= offset)
        out.append(Math("inline", first + row + 1, offset - starts[row], sections[first + row],
                        child.content, cell))
    return out


def _cell_spans(line: str) -> list[tuple[int, int]]:
    """Column spans of the cells of a table line, split at pipes that are not escaped or in code."""
    pipes, in_code = [], False
    for k, ch in enumerate(line):
        if ch == "`":
            in_code = not in_code
        elif ch == "|" and not in_code and (k == 0 or line[k - 1] != "\\"):
            pipes.append(k)
    edges = list(pipes)
    if not pipes or pipes[0] != len(line) - len(line.lstrip()):
        edges.insert(0, -1)
    if line.rstrip() and (not pipes or pipes[-1] != len(line.rstrip()) - 1):
        edges.append(len(line))
    return [(a + 1, b) for a, b in zip(edges, edges[1:], strict=False)]


def _row(line: int, cells: list[Token], lines: tuple[str, ...], sections: tuple[str, ...],
         header: tuple[str, ...], is_header: bool, math: list[Math]) -> Row:
    """Build a table row; its math goes into ``math`` tagged with the column index."""
    raw = lines[line - 1]
    spans = _cell_spans(raw)
    built = []
    for col, tok in enumerate(cells):
        start, end = spans[col] if col < len(spans) else (0, len(raw))
        found = _inline_math(tok, lines, sections, (start, end), col)
        math.extend(found)
        segments = tuple(("math" if c.type.startswith("math_inline") else "text", c.content)
                         for c in tok.children or [] if c.type in {"text", "math_inline", "math_inline_double"})
        name = header[col] if col < len(header) else ""
        built.append(Cell(col, tok.content if is_header else name, tok.content, start, end, segments))
    if is_header:
        built = [Cell(c.column, c.text, c.text, c.start, c.end, c.segments) for c in built]
    return Row(line, sections[line - 1], is_header, tuple(built))


def _numbers(notes: Notes, tokens: list[Token]) -> tuple[Number, ...]:
    """Decimal numerals outside math, code and front matter, found on the raw lines."""
    skip: set[int] = {h.line for h in notes.headings}
    for tok in tokens:
        if tok.type in {"front_matter", "fence", "code_block", "math_block", "math_block_label"} and tok.map:
            skip.update(range(tok.map[0] + 1, tok.map[1] + 1))
    out = []
    for number, raw in enumerate(notes.lines, start=1):
        if number in skip or not raw.strip():
            continue
        masked = list(raw)
        for m in notes.math_on(number):
            if m.kind == "inline" and m.line == number:
                for k in range(max(m.col - 1, 0), min(m.col + len(m.latex) + 1, len(raw))):
                    masked[k] = " "
        masked_text = re.sub(r"`[^`]*`", lambda mm: " " * len(mm.group()), "".join(masked))
        for m in DECIMAL.finditer(masked_text):
            out.append(Number(number, m.start(), notes.section_of(number), m.group()))
    return tuple(out)


def fragments(notes: Notes) -> Iterator[Math | Number]:
    """Every math fragment and prose number, in line order."""
    items: list[Math | Number] = [*notes.math, *notes.numbers]
    yield from sorted(items, key=lambda f: (f.line, f.col))
