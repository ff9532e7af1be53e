"""Per-dtype tolerances, finite-difference steps and special input values, as data.

Every numerical comparison in ``verify/`` and ``tests/`` takes its tolerance from ``TOLERANCES``;
special inputs (zero, very large magnitudes, the ReLU kink) live in ``SPECIAL_SCALARS`` and
``SPECIAL_VECTORS``, and documented quirks of the generated kernels at such points in ``QUIRKS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

Check = Literal["value", "gradient", "finite_difference", "exact"]
DTypeName = Literal["float32", "float64"]


@dataclass(frozen=True)
class Tolerance:
    """Two arrays agree where ``|actual - reference| <= atol + rtol * |reference|``."""

    rtol: float
    atol: float

    def allowed(self, reference: np.ndarray) -> np.ndarray:
        """The largest allowed absolute error at each entry of ``reference``."""
        return self.atol + self.rtol * np.abs(reference)


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
# (tests/test_kernels.py fails otherwise). Elementwise kernels take the scalars, vector kernels the vectors.
SPECIAL_SCALARS: Mapping[str, tuple[float, ...]] = {
    "z": (0.0, -0.0, 1e-30, -1e-30, 40.0, -40.0, 1e3, -1e3),
    "alpha": (0.01, 0.5),
    "\\hat{y}": (1e-6, 0.5, 1 - 1e-6),
    "y": (0.0, 0.5, 1.0),
}

SPECIAL_VECTORS: Mapping[str, tuple[tuple[float, ...], ...]] = {
    "z": ((0.0, 0.0, 0.0), (1e3, -1e3, 0.0), (1e3, 1e3, -1e3), (-1e3, -1e3, -1e3), (40.0, -40.0, 0.0)),
    "y": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.25, 0.25, 0.5)),
    "\\hat{y}": ((1e-6, 0.5, 1 - 1e-6), (1e3, -1e3, 0.0)),
}


@dataclass(frozen=True)
class Quirk:
    """Documented behaviour of the generated kernels at one input, where it is a choice or a limit of the form used.

    ``numpy_value`` and ``jax_value`` are what the two generated kernels return at ``inputs`` in
    ``dtype``; ``autodiff_value``, for a derivative kernel, is what ``jax.grad`` of the generated
    JAX forward kernel returns there.
    """

    kernel: str
    inputs: Mapping[str, float]
    numpy_value: float
    jax_value: float
    autodiff_value: float | None
    note: str
    dtype: DTypeName = "float64"


_FTZ = ("XLA on CPU flushes subnormal numbers to zero, so the JAX kernel sees z = 0 and takes the z <= 0 branch, "
        "while NumPy sees z > 0; property tests therefore draw no subnormals (arrays_in(allow_subnormal=False)).")

QUIRKS: tuple[Quirk, ...] = (
    Quirk("relu_grad", {"z": 0.0}, numpy_value=0.0, jax_value=0.0, autodiff_value=0.5,
          note="kink: the subdifferential is [0, 1]; the generated derivative chooses 0, while jax.grad of "
               "maximum(0, z) splits the tie and returns 0.5. Both are valid subgradients."),
    Quirk("leaky_relu_grad", {"z": 0.0, "alpha": 0.01}, numpy_value=0.01, jax_value=0.01, autodiff_value=0.01,
          note="kink: the subdifferential is [alpha, 1]; both the generated derivative and jax.grad of the "
               "generated where(z > 0, z, alpha z) take the left derivative alpha."),
    Quirk("sigmoid", {"z": -40.0}, numpy_value=0.0, jax_value=0.0, autodiff_value=None,
          note="the overflow-free form (1 + tanh(z/2))/2 has absolute, not relative, accuracy in the left tail: "
               "tanh(-20) rounds to -1 in float64, so the kernel returns 0 where sigma(-40) = 4.25e-18."),
    Quirk("sigmoid_grad", {"z": -40.0}, numpy_value=0.0, jax_value=0.0, autodiff_value=0.0,
          note="same left-tail limit as sigmoid: sigma'(-40) = 4.25e-18 is returned as 0, by the kernel and by "
               "jax.grad of the generated sigmoid alike."),
    Quirk("relu_grad", {"z": 1e-40}, numpy_value=1.0, jax_value=0.0, autodiff_value=0.5, dtype="float32", note=_FTZ),
    Quirk("relu_grad", {"z": 5e-324}, numpy_value=1.0, jax_value=0.0, autodiff_value=0.5, note=_FTZ),
)
