"""Listings: the screen refuses unsafe code, the sandbox runs safe code with limits, XOR re-runs."""

from __future__ import annotations

import pytest

from verify.listings import close_to, printed_vector, read_xor_setup, run_listing, screen, stated_vector

XOR_SHAPED = """
import numpy as np
rng = np.random.default_rng(3)
W1 = rng.normal(0, 1, (2,2))
eta = 0.25
for epoch in range(7):
    pass
print("Predictions:", np.array([0.01, 0.99]).round(3))
"""


@pytest.mark.parametrize("code, reason", [
    ("import os\nos.system('true')", "imports os"),
    ("__import__('os').system('true')", "uses __import__"),
    ("open('/etc/passwd').read()", "uses open"),
    ("import numpy as np\nnp.__class__", "uses attribute __class__"),
    ("from subprocess import run", "imports from subprocess"),
    ("eval('1+1')", "uses eval"),
])
def test_screen_refuses_code_that_reaches_outside(code, reason):
    assert reason in screen(code)


def test_screen_accepts_plain_numpy():
    assert screen("import numpy as np\nprint(np.ones(2).sum())") == []


def test_refused_code_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    result = run_listing(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('x')")
    assert not result.ran and result.refused
    assert not marker.exists()


def test_safe_code_runs_and_its_output_is_captured():
    result = run_listing(XOR_SHAPED)
    assert result.ran and result.returncode == 0
    assert printed_vector(result.stdout, "Predictions:") == [0.01, 0.99]


def test_a_listing_that_never_ends_is_stopped():
    result = run_listing("while True:\n    pass", timeout=1.0)
    assert result.timed_out


def test_setup_is_read_from_the_syntax_tree():
    setup = read_xor_setup(XOR_SHAPED)
    assert setup is not None
    assert (setup.seed, setup.eta, setup.epochs, setup.init_std) == (3, 0.25, 7, 1.0)


def test_stated_vector_and_closeness():
    stated = stated_vector('print("Predictions:", A2.ravel().round(3))   # ≈ [0, 1, 1, 0]')
    assert stated == [0, 1, 1, 0]
    assert close_to([0.03, 0.972, 0.966, 0.027], stated)
    assert not close_to([0.337, 0.962, 0.331, 0.334], stated)
