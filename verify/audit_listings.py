"""Check the output a Python listing of the notes states (``# ≈ [...]`` on a print line), or, where it states
none, the targets its code trains toward (``Y = np.array([[0],[1],[1],[0]])``).

By default nothing runs: the XOR training is re-run with the generated kernels on the setup read from the
listing's syntax tree. With ``--run-listings`` a screened listing runs in the bubblewrap sandbox
(``verify.listings``) and its printed numbers are compared.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from verify.audit_types import Finding, _finding
from verify.listings import (
    EPOCH_CAP,
    RunResult,
    XorSetup,
    capped,
    close_to,
    printed_vector,
    raised,
    read_targets,
    read_xor_setup,
    run_listing,
    screen,
    stated_vector,
    xor_training,
)
from verify.notes import Notes

#: Seeds the XOR listing's training is repeated with, to say how typical its stated output is.
LISTING_SEEDS = tuple(range(20))
#: Most numbers of a run's printed line a finding shows (a run may print anything; we show what we compare).
SHOWN_NUMBERS = 16


@functools.lru_cache(maxsize=8)
def _run_listing(code: str) -> RunResult:
    """Run a screened listing in the bubblewrap sandbox once per process (audits of edited copies share the run)."""
    return run_listing(code)


@functools.lru_cache(maxsize=8)
def _trained(setup: XorSetup) -> tuple[tuple[float, ...], tuple[tuple[float, ...], ...]]:
    """The generated kernels' predictions for the listing's own seed, and for each of ``LISTING_SEEDS``."""
    own = xor_training(setup, [setup.seed])[0]
    seeds = xor_training(setup, list(LISTING_SEEDS))
    return tuple(own.tolist()), tuple(tuple(p) for p in seeds.tolist())


def _seeds_reaching(setup: XorSetup, stated: tuple[float, ...]) -> tuple[int, int]:
    """How many of ``LISTING_SEEDS`` reach the stated output when the XOR training reruns with the generated kernels."""
    _, predictions = _trained(setup)
    return sum(close_to(list(p), list(stated)) for p in predictions), len(LISTING_SEEDS)


def _numbers(values: Iterable[float]) -> str:
    """Numbers we parsed or computed, as ``[0.03, 0.97]`` (at most ``SHOWN_NUMBERS`` of them)."""
    values = list(values)
    more = f", ... {len(values) - SHOWN_NUMBERS} more" if len(values) > SHOWN_NUMBERS else ""
    return f"[{', '.join(f'{v:.3g}' for v in values[:SHOWN_NUMBERS])}{more}]"


def _setup_words(setup: XorSetup, epochs: int) -> str:
    """The listing's setup as our finding states it, saying when the epochs were capped."""
    cap = (f"{EPOCH_CAP} epochs (capped: the listing says {setup.epochs:.3g})" if setup.epochs > EPOCH_CAP
           else f"{epochs} epochs")
    return f"seed {setup.seed}, learning rate {setup.eta:g}, init scale {setup.init_std:g}, {cap}"


def _read_listing(base: Mapping[str, str], line: int, setup: XorSetup | None, stated: list[float],
                  says: str = "the listing states") -> Finding:
    """Judge a listing's stated output without running it: the generated kernels trained on its own setup."""
    shown = _numbers(stated)
    if setup is None:
        return _finding(base, line, "not run", "not run (listings are read, never run; pass --run-listings to run "
                        "them isolated): its setup (seed, learning rate, epochs, init) cannot be read from its code, "
                        "so its stated output is not checked", shown, None)
    used = capped(setup)
    own, _ = _trained(used)
    reached, total = _seeds_reaching(used, tuple(stated))
    got = _numbers(own)
    verdict = "correct" if close_to(list(own), stated) else "error"
    how = (f"not run (listings are read, never run): the generated kernels, trained on the listing's setup read "
           f"from its code ({_setup_words(setup, used.epochs)}), predict {got}")
    tally = f"; {reached} of {total} seeds ({LISTING_SEEDS[0]}-{LISTING_SEEDS[-1]}) reach it"
    message = (f"{how}, as {says} (≈ {shown}){tally}" if verdict == "correct"
               else f"{how}, but {says} ≈ {shown}{tally}")
    return _finding(base, line, verdict, message, shown, got)


def _ran_listing(base: Mapping[str, str], line: int, code: str, label: str | None, stated: list[float]) -> Finding:
    """Judge a listing's stated output by running it in the sandbox; only numbers we parse are shown."""
    shown = _numbers(stated)
    result = _run_listing(code)
    if result.timed_out or result.returncode != 0:
        why = "timed out in the sandbox" if result.timed_out else f"{raised(result.stderr)} in the sandbox"
        return _finding(base, line, "error", f"the listing {why}", shown, None)
    values = printed_vector(result.stdout, label) if label else None
    if values is None:
        cut = " (its output passed 1 MiB and was cut there)" if result.truncated else ""
        return _finding(base, line, "error", f"the listing ran in the sandbox but printed no such line{cut}", shown,
                        None)
    got = _numbers(values)
    verdict = "correct" if close_to(values, stated) else "error"
    message = (f"ran isolated (bubblewrap) and printed {got}, as the listing states (≈ {shown})"
               if verdict == "correct" else f"the listing states ≈ {shown} but running it isolated prints {got}")
    return _finding(base, line, verdict, message, shown, got)


def listing_findings(notes: Notes, *, run: bool = False) -> list[Finding]:
    """A finding per Python listing: check the output stated in it ('# ≈ [...]' on a print line).

    By default nothing is run: the XOR training is re-run with the generated kernels on the listing's
    own setup, read from its syntax tree. With ``run`` (``--run-listings``), a listing the screen lets
    through runs in the bubblewrap sandbox and its printed numbers are compared. A listing the screen
    refuses (another library, anything outside the screened subset) is never run.
    """
    out = []
    for code in notes.code:
        if code.info.split()[:1] != ["python"]:
            continue
        base = {"claim": f"listing@{code.line}", "section": code.section, "kind": "code"}
        printed = [(k, ln) for k, ln in enumerate(code.text.splitlines()) if "print(" in ln and stated_vector(ln)]
        refused = screen(code.text)
        if refused:
            out.append(_finding(base, code.line, "not run", f"not run: {'; '.join(sorted(set(refused)))} (only "
                                "NumPy listings are checked)", None, None))
            continue
        targets = read_targets(code.text) if not printed else None
        prints = [(k, ln) for k, ln in enumerate(code.text.splitlines()) if "print(" in ln]
        if not printed and (targets is None or not prints or read_xor_setup(code.text) is None):
            out.append(_finding(base, code.line, "not run", "not run: no print line states an output "
                                "('# ≈ [...]') and the code names no XOR setup and targets to check it by", None,
                                None))
            continue
        k, text = printed[0] if printed else prints[-1]
        line = code.line + 1 + k
        stated = (stated_vector(text) if printed else targets) or []  # the targets the code trains toward
        if run:
            label = re.search(r"print\(\s*[\"']([^\"']+)[\"']", text)
            out.append(_ran_listing(base, line, code.text, label.group(1) if label else None, stated))
        else:
            says = "the listing states" if printed else "the targets its code trains toward"
            out.append(_read_listing(base, line, read_xor_setup(code.text), stated, says))
    return out
