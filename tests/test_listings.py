"""Listings: the setup is read from the syntax tree, the screen refuses, bubblewrap runs with limits, XOR re-runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from verify import sandbox
from verify.listings import (
    EPOCH_CAP,
    capped,
    close_to,
    printed_vector,
    raised,
    read_xor_setup,
    run_listing,
    screen,
    stated_vector,
)
from verify.notes import read_notes
from verify.tolerances import TOLERANCES
from verify.xor import (
    LISTING_SETUP,
    XOR_X,
    XOR_Y,
    AdamSetup,
    ListingRun,
    XorResult,
    backprop,
    learned_xor,
    linear_init,
    listing_code,
    run_xor_listing,
    train_xor,
    train_xor_adam,
)
from verify.xor import SECTION as XOR_SECTION

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


def _sandbox_missing() -> str | None:
    """Why bubblewrap cannot run here, or None."""
    try:
        sandbox.check_available()
    except sandbox.SandboxUnavailableError as e:
        return str(e)
    return None


SANDBOX_MISSING = _sandbox_missing()
needs_sandbox = pytest.mark.skipif(SANDBOX_MISSING is not None, reason=f"bubblewrap cannot run: {SANDBOX_MISSING}")


@needs_sandbox
def test_safe_code_runs_and_its_output_is_captured():
    result = run_listing(XOR_SHAPED)
    assert result.ran and result.returncode == 0
    assert printed_vector(result.stdout, "Predictions:") == [0.01, 0.99]


@needs_sandbox
def test_a_listing_that_never_ends_is_stopped():
    result = run_listing("while True:\n    pass", sandbox.Limits(timeout_s=1.0))
    assert result.timed_out and result.returncode is None


@needs_sandbox
def test_the_listing_interpreter_runs_under_the_limits_as_nobody_in_isolated_mode():
    # run_isolated directly, on a script of ours (screening would refuse `import resource` in a listing)
    run = sandbox.run_isolated("import os, resource as R, sys\n"
                               "print(*(R.getrlimit(r)[0] for r in (R.RLIMIT_CPU, R.RLIMIT_AS, R.RLIMIT_FSIZE,"
                               " R.RLIMIT_CORE)), sys.flags.isolated, os.getuid() != 0)\n")
    limits = sandbox.LIMITS
    assert run.stdout.split() == [str(limits.cpu_s), str(limits.memory_bytes), str(limits.file_bytes), "0", "1",
                                  "True"]


def test_a_failed_run_is_described_by_the_exception_name_and_line_only():
    stderr = ('Traceback (most recent call last):\n  File "/run/chainrule-listing/listing.py", line 4, in <module>\n'
              "    x()\nValueError: root:x:0:0:root:/root:/bin/bash \x1b]52;c;aGk=\x07\n")
    assert raised(stderr) == "raised ValueError on line 4"
    assert raised("\x1b[2K garbage") == "ended with an error"


def test_the_setup_reads_constant_expressions_and_the_audit_caps_the_epochs():
    setup = read_xor_setup(XOR_SHAPED.replace("range(7)", "range(10**12)"))
    assert setup is not None and setup.epochs == 10**12
    assert capped(setup).epochs == EPOCH_CAP and capped(capped(setup)) == capped(setup)


@pytest.mark.parametrize("edit", ['default_rng("x")', "default_rng(-1)", "default_rng(2**80)"])
def test_a_setup_of_the_wrong_kind_is_not_read(edit):
    assert read_xor_setup(XOR_SHAPED.replace("default_rng(3)", edit)) is None


def test_setup_is_read_from_the_syntax_tree():
    setup = read_xor_setup(XOR_SHAPED)
    assert setup is not None
    assert (setup.seed, setup.eta, setup.epochs, setup.init_std) == (3, 0.25, 7, 1.0)


def test_stated_vector_and_closeness():
    stated = stated_vector('print("Predictions:", A2.ravel().round(3))   # ≈ [0, 1, 1, 0]')
    assert stated == [0, 1, 1, 0]
    assert close_to([0.03, 0.972, 0.966, 0.027], stated)
    assert not close_to([0.337, 0.962, 0.331, 0.334], stated)


# ---- section 1.10: the notes' NumPy XOR listing against its re-run with the generated kernels ----

NOTES = Path(__file__).resolve().parents[2] / "shared" / "notes" / "01_foundations.md"


@pytest.fixture(scope="module")
def xor_listing() -> str:
    """The notes' NumPy XOR listing (skip when the notes are absent)."""
    if not NOTES.is_file():
        pytest.skip(f"notes file absent: {NOTES}")
    code = listing_code(read_notes(NOTES))
    if code is None:
        pytest.fail(f"no NumPy XOR listing in section {XOR_SECTION} of {NOTES}")
    return code.text


@pytest.fixture(scope="module")
def listing_run(xor_listing: str) -> ListingRun:
    """The listing itself, run in the bubblewrap sandbox (skip where bubblewrap cannot run)."""
    if SANDBOX_MISSING is not None:
        pytest.skip(f"bubblewrap cannot run: {SANDBOX_MISSING}")
    return run_xor_listing(xor_listing)


@pytest.fixture(scope="module")
def generated_run(xor_listing: str) -> XorResult:
    """The listing's training with the generated kernels, hyper-parameters read from the listing."""
    setup = read_xor_setup(xor_listing)
    assert setup is not None
    return train_xor(setup)


def test_listing_setup_is_the_one_train_xor_defaults_to(xor_listing):
    assert read_xor_setup(xor_listing) == LISTING_SETUP


def test_generated_kernels_reproduce_the_listings_predictions(listing_run, generated_run):
    # The runs differ only in rounding (sigmoid via tanh, sigmoid' from z rather than from a).
    tol = TOLERANCES["float64"]["value"]
    full = np.array(listing_run.full)
    assert generated_run.predictions.shape == full.shape == (4,)
    assert np.all(np.abs(generated_run.predictions - full) <= tol.allowed(full))


def test_generated_predictions_print_as_the_listing_prints_them(listing_run, generated_run):
    assert tuple(np.round(generated_run.predictions, 3).tolist()) == listing_run.printed


def test_generated_predictions_round_to_the_listings_labels(listing_run, generated_run):
    assert np.round(generated_run.predictions).tolist() == np.round(listing_run.printed).tolist()


def test_generated_predictions_read_as_the_listings_comment_states(xor_listing, generated_run):
    line = next(ln for ln in xor_listing.splitlines() if ln.startswith("print(") and "≈" in ln)
    stated = stated_vector(line)
    assert stated is not None
    assert close_to(generated_run.predictions.tolist(), stated)


# ---- section 1.10: the PyTorch listing (Adam, lr 0.05, 5000 steps) with the generated Adam kernels ----

ADAM_SEEDS = list(range(10))
# Measured with the generated kernels on this machine: 8 of seeds 0-9 learn XOR (32 of seeds 0-49); the
# others stall where a 2-2-1 sigmoid net under MSE often does (outputs near 0.5 or 2/3). One seed of
# slack for rounding differences across CPUs.
ADAM_MIN_LEARNED = 7


def _xor_arrays() -> tuple[np.ndarray, np.ndarray]:
    return np.array(XOR_X, dtype=np.float32), np.array(XOR_Y, dtype=np.float32)[:, None]


def test_linear_init_draws_within_nn_linears_bounds():
    W1, b1, W2, b2 = linear_init([0, 1])
    assert [p.shape for p in (W1, b1, W2, b2)] == [(2, 2, 2), (2, 2), (2, 1, 2), (2, 1)]
    for p in (W1, b1, W2, b2):   # fan_in is 2 for both layers
        assert p.dtype == np.float32 and np.all(np.abs(p) < 1 / np.sqrt(2))
    assert not np.array_equal(W1[0], W1[1])


def test_backprop_gradients_equal_jax_autodiff_of_the_loss():
    import jax
    import jax.numpy as jnp

    X, Y = _xor_arrays()
    params = linear_init([0, 1, 2])

    def loss(W1, b1, W2, b2):   # one seed, written with jax.nn.sigmoid, not the generated kernels
        a1 = jax.nn.sigmoid(X @ W1.T + b1)
        return jnp.mean((jax.nn.sigmoid(a1 @ W2.T + b2) - Y) ** 2)

    _, grads = backprop(params, X, Y)
    expected = jax.jit(jax.vmap(jax.grad(loss, argnums=(0, 1, 2, 3))))(*params)   # over the seeds
    tol = TOLERANCES["float32"]["gradient"]
    for name, got, want in zip(("W1", "b1", "W2", "b2"), grads, expected, strict=True):
        want = np.asarray(want)
        assert got.shape == want.shape, name
        assert np.all(np.abs(got - want) <= tol.allowed(want)), name


def test_adam_training_takes_the_notes_adam_steps():
    # three steps by the notes' formulas (m, v, bias corrections, update), written out by hand
    setup = AdamSetup(steps=3)
    X, Y = _xor_arrays()
    params = linear_init([0, 1])
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(1, setup.steps + 1):
        _, grads = backprop(params, X, Y)
        m = [setup.beta_1 * mi + (1 - setup.beta_1) * g for mi, g in zip(m, grads, strict=True)]
        v = [setup.beta_2 * vi + (1 - setup.beta_2) * g**2 for vi, g in zip(v, grads, strict=True)]
        params = tuple(p - setup.lr * (mi / (1 - setup.beta_1**t)) / (np.sqrt(vi / (1 - setup.beta_2**t))
                                                                      + setup.epsilon)
                       for p, mi, vi in zip(params, m, v, strict=True))
    run = train_xor_adam([0, 1], setup)
    tol = TOLERANCES["float32"]["gradient"]
    for got, want in zip(run.params, params, strict=True):
        assert np.all(np.abs(got - want) <= tol.allowed(want))


def test_adam_training_learns_xor_for_most_seeds():
    run = train_xor_adam(ADAM_SEEDS)
    learned = learned_xor(run.predictions)
    assert run.predictions.shape == (len(ADAM_SEEDS), 4)
    assert int(learned.sum()) >= ADAM_MIN_LEARNED, np.round(run.predictions, 3)
