"""Listings: the screen refuses unsafe code, the sandbox runs safe code with limits, XOR re-runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from verify import listings
from verify.listings import close_to, printed_vector, read_xor_setup, run_listing, screen, stated_vector
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


def test_safe_code_runs_and_its_output_is_captured():
    result = run_listing(XOR_SHAPED)
    assert result.ran and result.returncode == 0
    assert printed_vector(result.stdout, "Predictions:") == [0.01, 0.99]


def test_a_listing_that_never_ends_is_stopped():
    result = run_listing("while True:\n    pass", timeout=1.0)
    assert result.timed_out


def test_the_listing_interpreter_runs_under_the_cpu_and_memory_limits(tmp_path):
    # The launcher itself, on a script of ours (screening would refuse `import resource` in a listing).
    script = tmp_path / "limits.py"
    script.write_text("import resource, sys\n"
                      "print(resource.getrlimit(resource.RLIMIT_CPU)[0], resource.getrlimit(resource.RLIMIT_AS)[0],"
                      " resource.getrlimit(resource.RLIMIT_CORE)[0], sys.flags.isolated)\n")
    out = subprocess.run(listings._command(script), capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(int(listings.TIMEOUT_S) + 1), str(listings.MEMORY_BYTES), "0", "1"]


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
    """The listing itself, run in its sandbox."""
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
