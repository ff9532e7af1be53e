"""The report's section titles, taken from the notes' own headings when a notes file is given.

A record's ``section`` (``1.5``) names the numbered heading of the notes that opens it
(``## 1.5 Backpropagation ...``); the title is the heading's text after its number. Headings are the
notes' text, so they are escaped (``reports.latex.escape``) and never reach the document as LaTeX.
Without notes, or for a section the notes do not head, the record's own title is typeset instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from reports.latex import Tex, escape
from reports.prose import prose_tex
from verify.notes import SECTION, parse_notes

SEPARATORS = " \t.:)-\u2013\u2014"  # what may stand between a heading's number and its title


def notes_headings(notes: Path | None) -> dict[str, str]:
    """Each numbered section of ``notes`` and its heading's text after the number (the first heading wins)."""
    if notes is None:
        return {}
    try:
        text = Path(notes).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for h in parse_notes(text, str(notes)).headings:
        if h.section and h.section not in out:
            title = SECTION.sub("", h.text, count=1).lstrip(SEPARATORS).strip()
            if title:
                out[h.section] = title
    return out


def section_title(number: str, headings: Mapping[str, str], fallback: str) -> Tex:
    """The notes' heading of section ``number``, escaped; else the record's title ``fallback``, typeset."""
    heading = headings.get(number)
    return escape(heading) if heading is not None else prose_tex(fallback)
