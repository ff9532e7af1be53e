"""Code listings of a notes file: screen them, run the safe ones in a sandboxed subprocess, and
re-run the XOR training across seeds with chainrule's own generated kernels.

A listing is only ever run after ``screen`` accepts its syntax tree: imports of numpy alone, no
dunder names or private attributes, no file, process or reflection builtins. It then runs as a
file in a fresh isolated interpreter (``python -I``, no shell), in an empty temporary folder, with
a minimal environment, CPU and memory limits, and a wall-clock timeout.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ALLOWED_MODULES = frozenset({"numpy"})
FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "input", "breakpoint", "memoryview", "exit", "quit", "help", "dir", "type", "object", "super",
})
TIMEOUT_S = 60.0
MEMORY_BYTES = 2 * 1024**3
APPROX_TOL = 0.05  # "≈ 0" / "≈ 1": within 0.05 of the stated value, i.e. it reads as that value to one decimal


@dataclass(frozen=True)
class RunResult:
    """What a listing printed, how it ended, and whether the screen let it run at all."""

    ran: bool
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool
    refused: tuple[str, ...] = ()


def screen(code: str) -> list[str]:
    """Reasons to refuse running ``code`` (empty when its syntax tree is within the safe subset)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"not valid Python: {exc.msg} (line {exc.lineno})"]
    reasons = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            reasons += [f"imports {a.name}" for a in node.names if a.name.split(".")[0] not in ALLOWED_MODULES]
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] not in ALLOWED_MODULES:
                reasons.append(f"imports from {node.module}")
        elif isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or node.id.startswith("__")):
            reasons.append(f"uses {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            reasons.append(f"uses attribute {node.attr}")
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.AsyncFunctionDef, ast.Await)):
            reasons.append(f"uses {type(node).__name__}")
    return sorted(set(reasons))


# The child sets its own limits (CPU seconds, address space, no core files), then becomes the listing's
# interpreter: no ``preexec_fn``, whose Python code would run in a fork of this multithreaded process.
LAUNCHER = (
    "import os, resource, sys\n"
    "cpu, memory, script = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]\n"
    "resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))\n"
    "resource.setrlimit(resource.RLIMIT_AS, (memory, memory))\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    "os.execv(sys.executable, [sys.executable, '-I', script])\n"
)


def _command(script: Path) -> list[str]:
    """The command that runs ``script`` in a fresh isolated interpreter under the resource limits."""
    return [sys.executable, "-I", "-c", LAUNCHER, str(int(TIMEOUT_S) + 1), str(MEMORY_BYTES), str(script)]


def run_listing(code: str, timeout: float = TIMEOUT_S) -> RunResult:
    """Run a screened listing in an isolated interpreter; refuse (without running) if screening fails."""
    refused = screen(code)
    if refused:
        return RunResult(False, "", "", None, False, tuple(refused))
    with tempfile.TemporaryDirectory(prefix="chainrule-listing-") as tmp:
        script = Path(tmp) / "listing.py"
        script.write_text(code, encoding="utf-8")
        env = {"PATH": os.defpath, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        try:
            proc = subprocess.run(_command(script), cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            return RunResult(True, out, "", None, True)
    return RunResult(True, proc.stdout, proc.stderr, proc.returncode, False)


NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def printed_vector(stdout: str, label: str) -> list[float] | None:
    """The numbers printed after ``label`` (e.g. 'Predictions:'), or None if no such line."""
    for line in stdout.splitlines():
        if line.startswith(label):
            return [float(x) for x in NUMBER.findall(line[len(label):])]
    return None


def stated_vector(line: str) -> list[float] | None:
    """The vector a listing's comment states after '≈' (e.g. '# ≈ [0, 1, 1, 0]'), or None."""
    m = re.search(r"≈\s*\[([^\]]*)\]", line)
    return [float(x) for x in NUMBER.findall(m.group(1))] if m else None


def close_to(values: list[float], stated: list[float], tol: float = APPROX_TOL) -> bool:
    """Whether ``values`` read as ``stated`` entry by entry, within ``tol``."""
    return len(values) == len(stated) and all(abs(v - s) <= tol for v, s in zip(values, stated, strict=True))


@dataclass(frozen=True)
class XorSetup:
    """The XOR listing's hyper-parameters, read from its syntax tree (never by running it)."""

    seed: int
    eta: float
    epochs: int
    init_std: float


def read_xor_setup(code: str) -> XorSetup | None:
    """Seed, learning rate, epochs and init scale of an XOR listing, from its syntax tree; None if absent."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    found: dict[str, float] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if node.func.attr == "default_rng" and args:
                found["seed"] = args[0]
            elif node.func.attr == "normal" and len(args) >= 2:
                found["init_std"] = args[1]
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            if any(isinstance(t, ast.Name) and t.id == "eta" for t in node.targets):
                found["eta"] = node.value.value
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Call):
            if isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range" and node.iter.args:
                arg = node.iter.args[0]
                if isinstance(arg, ast.Constant):
                    found["epochs"] = arg.value
    if set(found) != {"seed", "eta", "epochs", "init_std"}:
        return None
    return XorSetup(int(found["seed"]), float(found["eta"]), int(found["epochs"]), float(found["init_std"]))


def xor_training(setup: XorSetup, seeds: list[int]) -> np.ndarray:
    """Train the listing's 2-2-1 sigmoid MLP (MSE, full batch) for all seeds at once with the generated
    NumPy kernels; returns the final predictions, shape (len(seeds), 4)."""
    return xor_training_run(setup, seeds)[0]


def xor_training_run(setup: XorSetup, seeds: list[int], *, losses: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``xor_training``'s final predictions and, with ``losses``, the MSE before each epoch (len(seeds), epochs)."""
    from chainrule.kernels import numpy_kernels as K  # noqa: N812 - reads like the listing

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    Y = np.array([[0], [1], [1], [0]], dtype=float)
    draws = [np.random.default_rng(s) for s in seeds]
    W1 = np.stack([g.normal(0, setup.init_std, (2, 2)) for g in draws])  # drawn first, as in the listing
    W2 = np.stack([g.normal(0, setup.init_std, (2, 1)) for g in draws])
    b1, b2 = np.zeros((len(seeds), 1, 2)), np.zeros((len(seeds), 1, 1))
    A2 = np.zeros((len(seeds), 4, 1))
    history = np.empty((len(seeds), setup.epochs if losses else 0))
    for epoch in range(setup.epochs):
        Z1 = X @ W1 + b1
        A1 = K.sigmoid(Z1)
        Z2 = A1 @ W2 + b2
        A2 = K.sigmoid(Z2)
        if losses:
            history[:, epoch] = K.mse(A2[..., 0], Y[:, 0])
        dZ2 = K.mse_grad(A2[..., 0], Y[:, 0])[..., None] * K.sigmoid_grad(Z2)
        dZ1 = (dZ2 @ W2.transpose(0, 2, 1)) * K.sigmoid_grad(Z1)
        W2 -= setup.eta * (A1.transpose(0, 2, 1) @ dZ2)
        b2 -= setup.eta * dZ2.sum(1, keepdims=True)
        W1 -= setup.eta * (X.T @ dZ1)
        b1 -= setup.eta * dZ1.sum(1, keepdims=True)
    return A2[:, :, 0], history
