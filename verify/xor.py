"""Section 1.10 re-run with chainrule's generated kernels: the NumPy XOR listing, same seed, data and shapes.

``listing_code`` finds the NumPy XOR listing in parsed notes (never by running it); ``run_xor_listing``
runs it (only when asked: bubblewrap, ``verify.sandbox``) with one line of our own appended that prints
the final predictions at full precision. ``train_xor`` is the listing's training written with the generated
NumPy kernels (``sigmoid``, ``sigmoid_grad``, ``mse``, ``mse_grad``) and plain ``@`` for the products,
so the two runs can be compared entry by entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.listings import RunResult, XorSetup, printed_vector, raised, read_xor_setup, run_listing
from verify.notes import Code, Notes

SECTION = "1.10"
LISTING_SETUP = XorSetup(seed=0, eta=0.5, epochs=10_000, init_std=1.0)
FULL_LABEL = "chainrule full precision:"
FULL_PRINT = f'\nprint("{FULL_LABEL}", A2.ravel().tolist())\n'   # appended to the listing; A2 is its output
XOR_X = ((0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0))
XOR_Y = (0.0, 1.0, 1.0, 0.0)


class ListingRunError(RuntimeError):
    """The listing did not run to the end, or printed no predictions."""


def listing_code(notes: Notes) -> Code | None:
    """The NumPy XOR listing of section 1.10: a Python block whose syntax tree reads as the XOR training."""
    for code in notes.code:
        if notes.in_section(code.line, SECTION) and code.info.startswith("python") and read_xor_setup(code.text):
            return code
    return None


@dataclass(frozen=True)
class ListingRun:
    """What the sandboxed listing printed: its own rounded predictions and ours at full precision."""

    printed: tuple[float, ...]
    full: tuple[float, ...]
    result: RunResult


def run_xor_listing(code: str, label: str = "Predictions:") -> ListingRun:
    """Run the listing in the bubblewrap sandbox with a full-precision print of A2 appended; raise if it fails."""
    result = run_listing(code + FULL_PRINT)
    if not result.ran:
        raise ListingRunError(f"the screen refused the listing: {', '.join(result.refused)}")
    if result.timed_out or result.returncode != 0:
        why = "timed out" if result.timed_out else raised(result.stderr)
        raise ListingRunError(f"the listing failed (exit {result.returncode}): it {why}")
    printed, full = printed_vector(result.stdout, label), printed_vector(result.stdout, FULL_LABEL)
    if printed is None or full is None:
        raise ListingRunError(f"the listing printed no {label!r} line")
    return ListingRun(tuple(printed), tuple(full), result)


@dataclass(frozen=True)
class XorResult:
    """The end of a training run: predictions from the last forward pass and the loss there."""

    predictions: np.ndarray
    loss: float


def train_xor(setup: XorSetup = LISTING_SETUP) -> XorResult:
    """The listing's training (2-2-1 sigmoid MLP, MSE, full batch, plain gradient descent) with the
    generated NumPy kernels; the same draws, shapes and update order as the listing."""
    from chainrule.kernels import numpy_kernels as K  # noqa: N812 - reads like the listing

    X, Y = np.array(XOR_X), np.array(XOR_Y)[:, None]                     # (4,2), (4,1)
    rng = np.random.default_rng(setup.seed)
    W1 = rng.normal(0, setup.init_std, (2, 2)); b1 = np.zeros((1, 2))    # noqa: E702 - as in the listing
    W2 = rng.normal(0, setup.init_std, (2, 1)); b2 = np.zeros((1, 1))    # noqa: E702
    A2 = np.zeros((4, 1))
    for _ in range(setup.epochs):
        Z1 = X @ W1 + b1
        A1 = K.sigmoid(Z1)
        Z2 = A1 @ W2 + b2
        A2 = K.sigmoid(Z2)
        # the loss is the mean over all N x 1 entries: the kernel sees them as one vector
        dA2 = K.mse_grad(A2.ravel(), Y.ravel()).reshape(A2.shape)
        dZ2 = dA2 * K.sigmoid_grad(Z2)                                   # delta2
        dW2, db2 = A1.T @ dZ2, dZ2.sum(0, keepdims=True)                 # BP3, BP4
        dZ1 = (dZ2 @ W2.T) * K.sigmoid_grad(Z1)                          # delta1 (BP2)
        dW1, db1 = X.T @ dZ1, dZ1.sum(0, keepdims=True)
        W2 -= setup.eta * dW2
        b2 -= setup.eta * db2
        W1 -= setup.eta * dW1
        b1 -= setup.eta * db1
    return XorResult(A2.ravel(), float(K.mse(A2.ravel(), Y.ravel())))


# ---- the PyTorch listing (2-2-1 sigmoid net, MSE, Adam lr 0.05, 5000 steps) with the generated Adam kernels ----

@dataclass(frozen=True)
class AdamSetup:
    """The PyTorch listing's optimiser: torch.optim.Adam(lr=0.05) with its default betas and epsilon."""

    lr: float = 0.05
    steps: int = 5000
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8


TORCH_SETUP = AdamSetup()
LAYERS = ((2, 2), (2, 1))   # (fan_in, fan_out) of nn.Linear(2,2) and nn.Linear(2,1)

Params = tuple[np.ndarray, ...]   # (W1, b1, W2, b2), W of shape (seeds, fan_out, fan_in) as in nn.Linear


def linear_init(seeds: list[int]) -> Params:
    """nn.Linear's default initialisation per seed: weight (out, in) then bias (out,), each uniform in
    (-1/sqrt(fan_in), 1/sqrt(fan_in)), layer by layer; float32, stacked over seeds."""
    per_seed = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        drawn: list[np.ndarray] = []
        for fan_in, fan_out in LAYERS:
            bound = 1 / np.sqrt(fan_in)
            drawn += [rng.uniform(-bound, bound, (fan_out, fan_in)), rng.uniform(-bound, bound, (fan_out,))]
        per_seed.append(drawn)
    return tuple(np.stack([p[i] for p in per_seed]).astype(np.float32) for i in range(2 * len(LAYERS)))


def forward(params: Params, X: np.ndarray) -> tuple[np.ndarray, ...]:
    """The net's forward pass with the generated sigmoid: Z1, A1, Z2, A2, each (seeds, N, width)."""
    from chainrule.kernels import numpy_kernels as K  # noqa: N812

    W1, b1, W2, b2 = params
    Z1 = X @ W1.transpose(0, 2, 1) + b1[:, None, :]      # x W^T + b, as nn.Linear computes it
    A1 = K.sigmoid(Z1)
    Z2 = A1 @ W2.transpose(0, 2, 1) + b2[:, None, :]
    return Z1, A1, Z2, K.sigmoid(Z2)


def backprop(params: Params, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, Params]:
    """Predictions A2 and the gradients of mean((A2 - Y)^2) for each parameter, by BP1-BP4 with the
    generated sigmoid_grad and mse_grad kernels and plain @."""
    from chainrule.kernels import numpy_kernels as K  # noqa: N812

    W1, _, W2, _ = params
    Z1, A1, Z2, A2 = forward(params, X)
    # the loss is the mean over all N x 1 entries of each seed: one vector of N per seed for the kernel
    dZ2 = K.mse_grad(A2[..., 0], Y[:, 0])[..., None] * K.sigmoid_grad(Z2)      # BP1
    dZ1 = (dZ2 @ W2) * K.sigmoid_grad(Z1)                                       # BP2
    grads = (dZ1.transpose(0, 2, 1) @ X, dZ1.sum(1),                            # BP3, BP4 (W as (out, in))
             dZ2.transpose(0, 2, 1) @ A1, dZ2.sum(1))
    return A2, grads


@dataclass(frozen=True)
class AdamRun:
    """The end of an Adam training run: the parameters and the trained net's predictions (seeds, 4)."""

    params: Params
    predictions: np.ndarray


def train_xor_adam(seeds: list[int], setup: AdamSetup = TORCH_SETUP) -> AdamRun:
    """Train the PyTorch listing's net for every seed at once with the generated Adam kernels
    (adam_step, adam_m, adam_v) on the gradients of ``backprop``; float32, as the listing's tensors are."""
    from chainrule.kernels import numpy_kernels as K  # noqa: N812

    X, Y = np.array(XOR_X, dtype=np.float32), np.array(XOR_Y, dtype=np.float32)[:, None]
    params = linear_init(seeds)
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    for t in range(1, setup.steps + 1):                  # torch counts steps from 1
        _, grads = backprop(params, X, Y)
        new_params, new_moments = [], []
        for p, g, (m, v) in zip(params, grads, moments, strict=True):
            new_params.append(K.adam_step(p, m, v, g, t, setup.lr, setup.beta_1, setup.beta_2, setup.epsilon))
            new_moments.append((K.adam_m(m, g, setup.beta_1), K.adam_v(v, g, setup.beta_2)))
        params, moments = tuple(new_params), new_moments
    return AdamRun(params, forward(params, X)[3][..., 0])


def learned_xor(predictions: np.ndarray) -> np.ndarray:
    """Per seed: whether every prediction is on the right side of 0.5 for the XOR labels."""
    return np.all((predictions > 0.5) == (np.array(XOR_Y) > 0.5), axis=-1)
