"""The notes' worked examples recomputed end to end by the generated layer, backprop and optimizer kernels.

``verify.examples`` evaluates each ``Quantity`` expression with kernels substituted for its named
functions; here the examples are instead run the way a user would run them: the 2-2-1 step through
``dense_forward``, ``sigmoid``, ``mse_grad``, ``bp1_output_error``, ``bp2_hidden_error``,
``dense_grad_weights`` and ``sgd_step``, and the gradient-descent table through ``sgd_step``, in
float64, once per backend. Each value must equal the exact value (to ``KERNEL_RTOL``) and is then
judged against the notes' number exactly as ``verify.examples`` judges it. An example is piped when its
record names a rule of ``PIPELINES`` (``Example.pipeline``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

import jax
import numpy as np

from chainrule.codegen import load_backend
from derive.core import Example, registry
from verify.examples import BACKENDS, QuantityCheck, check_example

#: How far (relative, float64) a kernel pipeline may be from the exact value before it is an error.
KERNEL_RTOL = 1e-9


def _backprop_221(k: ModuleType, inputs: Mapping[str, np.ndarray]) -> dict[str, float]:
    """One step of the notes' 2-2-1 network (sigmoid, L = (yhat - y)^2 / 2) through the generated kernels."""
    x, y, eta = inputs["x"][None, :], inputs["y"], inputs["eta"]
    W1, b1, W2, b2 = inputs["W1"], inputs["b1"], inputs["W2"], inputs["b2"]
    z1 = k.dense_forward(W1, b1, x)                                   # (1, 2)
    a1 = k.sigmoid(z1)
    z2 = k.dense_forward(W2, b2, a1)                                  # (1, 1)
    yhat = k.sigmoid(z2)
    grad_a = k.mse_grad(yhat, y) / 2                                  # d/dyhat of (yhat - y)^2 / 2 (one output)
    slope2, slope1 = k.sigmoid_grad(z2), k.sigmoid_grad(z1)
    delta2 = k.bp1_output_error(grad_a, slope2)                       # BP1
    dW2 = k.dense_grad_weights(W2, b2, a1, delta2)                    # BP3
    delta1 = k.bp2_hidden_error(W2, delta2, slope1)                   # BP2
    dW1 = k.dense_grad_weights(W1, b1, x, delta1)                     # BP3
    W2_new = k.sgd_step(W2, dW2, eta)
    values = {"z1_1": z1[0, 0], "z1_2": z1[0, 1], "a1_1": a1[0, 0], "a1_2": a1[0, 1], "z2": z2[0, 0],
              "yhat": yhat[0, 0], "loss": k.mse(yhat, y)[0] / 2, "error": grad_a[0, 0],
              "dsigma_z2": slope2[0, 0], "delta2": delta2[0, 0], "dW2_1": dW2[0, 0], "dW2_2": dW2[0, 1],
              "one_minus_a1_1": 1 - a1[0, 0], "one_minus_a1_2": 1 - a1[0, 1],
              "dsigma_z1_1": slope1[0, 0], "dsigma_z1_2": slope1[0, 1], "delta1_1": delta1[0, 0],
              "delta1_2": delta1[0, 1], "W2_1_updated": W2_new[0, 0]}
    values.update({f"dW1_{r + 1}{c + 1}": dW1[r, c] for r in range(2) for c in range(2)})
    return {name: float(v) for name, v in values.items()}


def _gd_table(k: ModuleType, inputs: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The gradient-descent table on L = theta^2 through ``sgd_step`` (the gradient 2 theta is L')."""
    theta, eta, values = inputs["theta_0"], inputs["eta"], {}
    for step in range(4):
        grad = 2 * theta
        values |= {f"theta_{step}": theta, f"grad_{step}": grad}
        theta = k.sgd_step(theta, grad, eta)
        values[f"update_{step}"] = theta
    return {name: float(np.asarray(v)) for name, v in values.items()}


def _inputs_221(example_inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The 2-2-1 example's exact inputs as float64 arrays in the kernels' layouts (biases as vectors)."""
    arr = {name: np.array(np.asarray(v, dtype=object).tolist(), dtype=np.float64) for name, v in example_inputs.items()}
    return {"x": arr["x"].reshape(-1), "W1": arr["W1"], "b1": arr["b1"].reshape(-1), "W2": arr["W2"],
            "b2": arr["b2"].reshape(-1), "y": arr["y"].reshape(1, 1), "eta": arr["eta"].reshape(())}


def _inputs_gd(example_inputs: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The gradient-descent table's start and step size as float64 scalars."""
    return {name: np.float64(float(v)) for name, v in example_inputs.items()}


#: How to lay out an example's inputs for the kernels, and the kernel calls that compute its quantities.
Pipeline = tuple[Callable[[Mapping[str, object]], dict[str, np.ndarray]],
                 Callable[[ModuleType, Mapping[str, np.ndarray]], dict[str, float]]]

#: The rules an Example's ``pipeline`` names: (its inputs in kernel layout, the kernel pipeline). Each runs
#: NumPy arrays through the generated kernels, which is why it lives here and not in the record (derive/ sits
#: below the kernels' generation and imports no NumPy); each returns the quantities of the example it is for.
PIPELINES: Mapping[str, Pipeline] = {
    "sigmoid_2_2_1_step": (_inputs_221, _backprop_221),
    "gd_steps_on_square": (_inputs_gd, _gd_table),
}


def pipeline(example: Example) -> Pipeline:
    """The rule of ``PIPELINES`` that ``example`` names."""
    if example.pipeline not in PIPELINES:
        raise KeyError(f"example {example.key!r} names pipeline={example.pipeline!r}, which is no rule of "
                       f"verify/worked.py PIPELINES ({', '.join(PIPELINES)}); name one of them in its Example "
                       "record, or add the rule there")
    return PIPELINES[example.pipeline]


def check_pipelines() -> list[QuantityCheck]:
    """Every stated number of the piped examples, from each backend's kernels, judged like ``check_example``."""
    out = []
    for example in registry().examples:
        if not example.pipeline:
            continue
        prepare, run = pipeline(example)
        inputs = prepare(example.inputs)
        with jax.enable_x64(True):
            got = {b: run(load_backend(b), inputs) for b in BACKENDS}
        for base in check_example(example):
            values = {b: got[b][base.quantity] for b in BACKENDS}
            off = [b for b, v in values.items() if abs(v - base.exact) > KERNEL_RTOL * max(1.0, abs(base.exact))]
            verdict, detail = base.verdict, base.detail
            if off:
                verdict, detail = "error", f"the {' and '.join(off)} kernel pipeline is off the exact value"
            out.append(QuantityCheck(f"{example.key} (kernels)", base.quantity, base.stated, base.exact,
                                     values["numpy"], values["jax"], base.decimals, verdict, detail))
    return out
