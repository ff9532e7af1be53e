"""Per-dtype tolerances, finite-difference steps and special input values, as data.

Every numerical comparison in ``verify/`` and ``tests/`` takes its tolerance from ``TOLERANCES``;
special inputs (zero, very large magnitudes, the ReLU kink) live in ``SPECIAL_SCALARS`` and
``SPECIAL_VECTORS``; documented quirks of the generated kernels at such points are their records'
``quirks`` (``derive.core.Quirk``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from derive.core import Kernel

Check = Literal["value", "gradient", "finite_difference", "exact"]
DTypeName = Literal["float32", "float64"]


@dataclass(frozen=True)
class Tolerance:
    """Two arrays agree where ``|actual - reference| <= atol * scale + rtol * |reference|``.

    ``scale`` is 1 except for the kernels that declare an ``error_scale`` (a rule of ``ERROR_SCALE_RULES``),
    whose results can be far smaller than the terms they are computed from.
    """

    rtol: float
    atol: float

    def allowed(self, reference: np.ndarray, scale: np.ndarray | float = 1.0) -> np.ndarray:
        """The largest allowed absolute error at each entry of ``reference``."""
        return self.atol * scale + self.rtol * np.abs(reference)


# Unit roundoff: float32 6.0e-8, float64 1.1e-16. A kernel is a composition of about ten
# operations, each within a few ulp in NumPy and in XLA, and cancellations such as
# log(1 + e^z) - y z turn relative error of O(1) terms into absolute error, hence atol ~ 10 ulp(1).
# "value": NumPy kernel vs JAX kernel, both in the dtype. "exact": a kernel vs SymPy at 30 digits.
# "gradient": the derivative kernel in the dtype vs float64 JAX autodiff of the forward kernel (a
# different chain of operations: twice the budget). "finite_difference": vs float64 central
# differences with step h (below); their truncation error h^2/6 |f'''| and rounding error
# eps |f| / h stay below 1e-7 on the kernels' domains, which sets the float64 bound; in float32 the
# gradient budget plus that.
TOLERANCES: Mapping[DTypeName, Mapping[Check, Tolerance]] = {
    "float64": {
        "value": Tolerance(rtol=1e-12, atol=1e-14),
        "exact": Tolerance(rtol=1e-12, atol=1e-14),
        "gradient": Tolerance(rtol=2e-12, atol=2e-14),
        "finite_difference": Tolerance(rtol=1e-6, atol=1e-7),
    },
    "float32": {
        "value": Tolerance(rtol=1e-5, atol=1e-6),
        "exact": Tolerance(rtol=1e-5, atol=1e-6),
        "gradient": Tolerance(rtol=2e-5, atol=2e-6),
        "finite_difference": Tolerance(rtol=3e-5, atol=3e-6),
    },
}

# Central differences: x +- h with h = FD_STEP * (1 + |x|), evaluated in float64 whatever the kernel's dtype.
FD_STEP = 1e-6

DTYPES: tuple[DTypeName, ...] = ("float32", "float64")


def tolerance(dtype: object, check: Check) -> Tolerance:
    """The tolerance for ``check`` on arrays of ``dtype`` (float32 or float64)."""
    name = np.dtype(dtype).name
    if name not in TOLERANCES:
        raise ValueError(f"no tolerances for dtype {name!r}; known: {', '.join(TOLERANCES)}")
    return TOLERANCES[name][check]  # type: ignore[index]


# Special values for each argument name of a kernel; every kernel argument must have an entry
# (tests/test_kernels.py fails otherwise). Elementwise kernels, and the arguments that are one number
# per row (trailing shape (1), e.g. epsilon), take the scalars; vectors take the vectors, and a matrix
# argument is built from its name's vectors (each repeated on every row, and one with all of them).
# A name means one thing in each table, but the same name may serve several kernels (the momentum
# rate beta and batch norm's shift beta are both scalars), so every value must suit all of them: a
# second moment v and a variance-like s stay >= 0, epsilon > 0. Where a kernel has too many
# combinations, the first value of each argument is the base point the others are varied around.
SPECIAL_SCALARS: Mapping[str, tuple[float, ...]] = {
    "z": (0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0, 1e3, -1e3),
    "alpha": (0.01, 0.5),
    "\\hat{y}": (1e-6, 0.5, 1 - 1e-6),
    "y": (0.0, 0.5, 1.0),
    # optimizers: the state, the gradient, the hyperparameters (0 gradients, tiny and huge ones, t = 1)
    "theta": (0.0, -1.5, 1e3),
    "g": (0.0, -0.0, 1e-6, -2.0, 1e3),
    "m": (0.0, -2.0, 1e3),
    "v": (0.0, 1e-8, 4.0),
    "s": (0.0, 1e-8, 4.0),
    "eta": (1e-3, 0.5),
    "beta": (0.9, 0.0, 0.999),
    "beta_1": (0.9, 0.5),
    "beta_2": (0.999, 0.5),
    "t": (1.0, 2.0, 1e4),
    "epsilon": (1e-8, 1e-3),
    "gamma": (1.0, 0.0, -2.0),
    "\\nabla_{a} L": (0.0, -1.5, 1e3),
    "\\sigma'": (0.25, 0.0, 1.0),
    "lambda": (0.01, 1.0),
    # initialisation: the smallest and a large fan
    "n_{in}": (1.0, 3.0, 4096.0),
    "n_{out}": (1.0, 10.0, 4096.0),
    # dropout: kept and dropped entries, no dropout and heavy dropout
    "x": (0.0, -2.0, 1e3),
    "mask": (0.0, 1.0),
    "p": (0.0, 0.5, 0.9),
}

SPECIAL_VECTORS: Mapping[str, tuple[tuple[float, ...], ...]] = {
    "z": ((0.0, 0.0, 0.0), (1e3, -1e3, 0.0), (1e3, 1e3, -1e3), (-1e3, -1e3, -1e3), (40.0, -40.0, 0.0)),
    "y": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.25, 0.25, 0.5)),
    "\\hat{y}": ((1e-6, 0.5, 1 - 1e-6), (1e3, -1e3, 0.0)),
    # penalties: the L1 kink at 0 in every and in one coordinate, and large weights
    "theta": ((0.0, 0.0, 0.0), (1e3, -1e3, 0.5), (-1.5, 2.0, 0.0)),
    # a dense layer (matrices are built from these rows): zero and huge weights and activations, one-hot
    # and zero errors, the slopes of a saturated (0) and of a linear (1) unit
    "W": ((0.0, 0.0, 0.0), (1.0, -2.0, 0.5), (1e3, -1e3, 1.0)),
    "b": ((0.0, 0.0, 0.0), (1.0, -1.0, 0.5)),
    "a": ((0.0, 0.0, 0.0), (1.0, 0.5, -2.0), (1e3, 1e3, -1e3)),
    "\\delta": ((1.0, 0.0, 0.0), (0.0, 0.0, 0.0), (-0.5, 2.0, 1.0)),
    "\\sigma'": ((0.25, 0.25, 0.25), (0.0, 1.0, 0.5)),
    # normalisation: a constant row (variance 0: only epsilon is left), a huge spread, a near-constant
    # row at a large offset (centring as x - (m + mean(x - m)) errs by 9% there in float32; the kernels
    # compute (x - m) - mean(x - m)), upstream gradients that are one-hot,
    # constant (the backward pass is then exactly 0) or mixed, and scales/shifts of either sign
    "x": ((0.0, 0.0, 0.0), (1e3, -1e3, 0.5), (1e3, 1e3 + 3e-4, 1e3 - 2e-4), (-1.5, 2.0, 0.25)),
    "g": ((1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (-2.0, 0.25, 3.0)),
    "gamma": ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (-2.0, 0.5, 3.0)),
    "beta": ((0.0, 0.0, 0.0), (1.0, -1.0, 0.5)),
}


# Kernels whose result can be a small difference of much larger terms. A normalisation backward pass is
# (1/sigma) times a combination of n + 2 terms of size |gamma g| (and is exactly 0 for a constant g),
# with sigma = sqrt(var + eps) as small as sqrt(eps): rounding errs by the unit roundoff times
# (n + 2) |gamma g| / sigma, which no fixed atol bounds. The forward pass and the linear loss sum terms
# of size |gamma| |x_hat| + |beta| (|x_hat| <= sqrt(n), as sum x_hat^2 <= n) and |g| times that. Such a
# kernel names in its record's ``error_scale`` a rule of ``ERROR_SCALE_RULES``, which gives the size of its
# terms per batch item, from its inputs by argument name (float64 arrays, one-per-row arguments of shape
# (..., 1)); every absolute tolerance for the kernel is multiplied by it (and never by less than 1). The
# kernels' epsilon stays >= 1e-3 in property tests so that central differences (truncation error
# ~ h^2 |gamma g| / sigma^3) stay accurate.


def _amax(a: np.ndarray) -> np.ndarray:
    """max |a| over the last axis: one number per batch item (a one-per-row argument is its own value)."""
    return np.max(np.abs(a), axis=-1)


def _std(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """sqrt(var(x) + epsilon) per batch item, the divisor of a normalisation."""
    eps = np.asarray(inputs["epsilon"])
    return np.sqrt(np.var(inputs["x"], axis=-1) + (eps[..., 0] if eps.ndim else eps))


def _norm_output(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """|gamma| |x_hat| + |beta| with |x_hat| <= sqrt(n)."""
    return _amax(inputs["gamma"]) * np.sqrt(inputs["x"].shape[-1]) + _amax(inputs["beta"])


def _norm_loss(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """n |g| (|gamma| sqrt(n) + |beta|): the terms of sum_k g_k y_k."""
    return inputs["x"].shape[-1] * _amax(inputs["g"]) * _norm_output(inputs)


def _norm_backward(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """(n + 2) |gamma g| / sigma: the terms of a normalisation's input gradient."""
    return (inputs["x"].shape[-1] + 2) * _amax(inputs["gamma"] * inputs["g"]) / _std(inputs)


def _norm_gamma(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """|g| |x_hat| <= sqrt(n) |g|, entry by entry (layer norm's dL/dgamma)."""
    return np.sqrt(inputs["x"].shape[-1]) * _amax(inputs["g"])


def _norm_sum(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """n |g| sqrt(n): a sum over the row of g or g x_hat (batch norm's dL/dgamma, dL/dbeta)."""
    return inputs["x"].shape[-1] ** 1.5 * _amax(inputs["g"])


# A dense layer's products sum n (or m, or B) terms |a| |W| (or |delta| |W|, |delta| |a|): a dot
# product errs by about its length times the unit roundoff times the largest term.


def _amax2(a: np.ndarray) -> np.ndarray:
    """max |a| over the last two axes (a matrix argument: one number per batch item)."""
    return np.max(np.abs(a), axis=(-2, -1))


def _dense_z(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """n |a| |W| + |b|: the terms of z = a W^T + b."""
    return inputs["W"].shape[-1] * _amax2(inputs["a"]) * _amax2(inputs["W"]) + _amax(inputs["b"])


def _dense_loss(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """B m |delta| (n |a| |W| + |b|): the terms of sum delta z."""
    return inputs["\\delta"].shape[-2] * inputs["W"].shape[-2] * _amax2(inputs["\\delta"]) * _dense_z(inputs)


def _dense_weights(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """B |delta| |a|: the terms of delta^T a."""
    return inputs["a"].shape[-2] * _amax2(inputs["\\delta"]) * _amax2(inputs["a"])


def _dense_bias(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """B |delta|: the terms of the batch sum of delta."""
    return inputs["\\delta"].shape[-2] * _amax2(inputs["\\delta"])


def _dense_input(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """m |delta| |W| (times |sigma'| for BP2): the terms of delta W."""
    slope = _amax2(inputs["\\sigma'"]) if "\\sigma'" in inputs else 1.0
    return inputs["W"].shape[-2] * _amax2(inputs["\\delta"]) * _amax2(inputs["W"]) * slope


#: The rules a kernel's ``error_scale`` may name: the size of its terms per batch item, from its inputs.
ERROR_SCALE_RULES: Mapping[str, Callable[[Mapping[str, np.ndarray]], np.ndarray]] = {
    "dense_z": _dense_z,
    "dense_loss": _dense_loss,
    "dense_weights": _dense_weights,
    "dense_bias": _dense_bias,
    "dense_input": _dense_input,
    "norm_output": _norm_output,
    "norm_loss": _norm_loss,
    "norm_backward": _norm_backward,
    "norm_gamma": _norm_gamma,
    "norm_sum": _norm_sum,
}


def error_scale(kernel: Kernel, inputs: Mapping[str, object], out_rank: int = 0) -> np.ndarray | float:
    """The factor on atol for ``kernel`` at ``inputs`` (per batch item, with ``out_rank`` trailing axes of 1)."""
    if not kernel.error_scale:
        return 1.0
    if kernel.error_scale not in ERROR_SCALE_RULES:
        raise KeyError(f"kernel {kernel.name!r} declares error_scale={kernel.error_scale!r}, which is no rule of "
                       f"verify/tolerances.py ERROR_SCALE_RULES ({', '.join(ERROR_SCALE_RULES)}); name one of "
                       "them in its Kernel record, or add the rule there")
    rule = ERROR_SCALE_RULES[kernel.error_scale]
    scale = np.maximum(1.0, rule({k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}))
    return scale.reshape(scale.shape + (1,) * out_rank)
