"""Code listings of a notes file: read their setup from the syntax tree, re-run the XOR training with
chainrule's own generated kernels, and (only when asked) run a listing isolated by bubblewrap.

By default nothing a listing contains is executed: ``read_xor_setup`` reads seed, learning rate,
epochs and init scale from the syntax tree, and ``xor_training`` trains with the generated kernels
for at most ``EPOCH_CAP`` epochs. ``run_listing`` (``chainrule audit --run-listings``) first applies
``screen`` -- imports of numpy alone, no dunder names or private attributes, no file, process or
reflection builtins -- which is a filter, not a security boundary: what it lets through runs in the
bubblewrap sandbox of ``verify.sandbox``. What a run printed is only ever parsed for numbers; its
error output is reduced to the exception's name and line (``raised``), never quoted.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, replace

import numpy as np

from verify.sandbox import Limits, run_isolated

ALLOWED_MODULES = frozenset({"numpy"})
FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "__import__", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "input", "breakpoint", "memoryview", "exit", "quit", "help", "dir", "type", "object", "super",
})
APPROX_TOL = 0.05  # "≈ 0" / "≈ 1": within 0.05 of the stated value, i.e. it reads as that value to one decimal
#: Most epochs the audit trains for when it re-runs a listing's training with the generated kernels.
EPOCH_CAP = 20_000
#: Largest integer a listing's constant expression (``10**12``) may fold to, and the deepest tree read.
MAX_CONSTANT = 10**18
MAX_DEPTH = 50


@dataclass(frozen=True)
class RunResult:
    """How an isolated run of a listing ended, or why the screen refused to run it."""

    ran: bool
    stdout: str
    stderr: str
    returncode: int | None
    timed_out: bool
    refused: tuple[str, ...] = ()
    truncated: bool = False


def parse(code: str) -> ast.Module | None:
    """The listing's syntax tree, or None when it is not valid Python or too deep for the parser."""
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def screen(code: str) -> list[str]:
    """Reasons to refuse running ``code`` (empty when its syntax tree is within the screened subset).

    A first filter only: the sandbox, not this list, is what keeps a listing in.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return [f"not valid Python: {exc.msg} (line {exc.lineno})"]
    except (ValueError, RecursionError, MemoryError):
        return ["not readable Python (nested too deeply)"]
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


def run_listing(code: str, limits: Limits | None = None) -> RunResult:
    """Run a screened listing in the bubblewrap sandbox; refuse (without running) if screening fails.

    Raises ``verify.sandbox.SandboxUnavailable`` when bubblewrap cannot run: there is no weaker mode.
    """
    refused = screen(code)
    if refused:
        return RunResult(False, "", "", None, False, tuple(refused))
    run = run_isolated(code, limits)
    return RunResult(True, run.stdout, run.stderr, run.returncode, run.timed_out, (), run.truncated)


_RAISED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]{0,60})(?::|$)")
_AT_LINE = re.compile(r'^  File "[^"]*listing\.py", line (\d{1,7})')


def raised(stderr: str) -> str:
    """Our own words for how a run failed: "raised ValueError on line 4" (names and numbers only)."""
    lines = stderr.strip().splitlines()
    where = [int(m.group(1)) for ln in lines if (m := _AT_LINE.match(ln))]
    name = next((m.group(1) for ln in reversed(lines) if (m := _RAISED.match(ln))), None)
    if name is None:
        return "ended with an error"
    return f"raised {name}" + (f" on line {where[-1]}" if where else "")


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


def constant(node: ast.AST, depth: int = 0) -> int | float | None:
    """The value of a number literal or of a small constant expression of them (``10**12``); None otherwise."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(node, ast.Constant):
        v = node.value
        return v if isinstance(v, int | float) and not isinstance(v, bool) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = constant(node.operand, depth + 1)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Pow):
        a, b = constant(node.left, depth + 1), constant(node.right, depth + 1)
        if a is None or b is None or abs(a) > MAX_CONSTANT or abs(b) > MAX_CONSTANT:
            return None
        if isinstance(node.op, ast.Pow):
            if not (isinstance(b, int) and 0 <= b <= 64 and abs(a) <= 10**6):
                return None
            v = a**b
        else:
            v = a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b
        return v if abs(v) <= MAX_CONSTANT else None
    return None


@dataclass(frozen=True)
class XorSetup:
    """The XOR listing's hyper-parameters, read from its syntax tree (never by running it)."""

    seed: int
    eta: float
    epochs: int
    init_std: float


def read_xor_setup(code: str) -> XorSetup | None:
    """Seed, learning rate, epochs and init scale of an XOR listing, from its syntax tree; None if absent.

    Each must be a number (or a small constant expression such as ``10**4``) of a sensible type:
    a whole seed and epoch count of 0 or more, a finite learning rate and a finite init scale.
    """
    tree = parse(code)
    if tree is None:
        return None
    found: dict[str, int | float] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            args = [constant(a) for a in node.args]
            if node.func.attr == "default_rng" and args and args[0] is not None:
                found["seed"] = args[0]
            elif node.func.attr == "normal" and len(args) >= 2 and args[1] is not None:
                found["init_std"] = args[1]
        elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "eta" for t in node.targets):
            value = constant(node.value)
            if value is not None:
                found["eta"] = value
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Call):
            if isinstance(node.iter.func, ast.Name) and node.iter.func.id == "range" and len(node.iter.args) == 1:
                value = constant(node.iter.args[0])
                if value is not None:
                    found["epochs"] = value
    if set(found) != {"seed", "eta", "epochs", "init_std"}:
        return None
    seed, epochs, eta, std = found["seed"], found["epochs"], found["eta"], found["init_std"]
    if not (isinstance(seed, int) and 0 <= seed < 2**63 and isinstance(epochs, int) and epochs >= 0
            and math.isfinite(eta) and math.isfinite(std) and std >= 0):
        return None
    return XorSetup(seed, float(eta), epochs, float(std))


def read_targets(code: str) -> list[float] | None:
    """The targets a listing trains toward, from its syntax tree: the one array written as a column of numbers
    (``Y = np.array([[0],[1],[1],[0]])``); None when there is none or more than one."""
    tree = parse(code)
    if tree is None:
        return None
    columns = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and node.value.args
                and isinstance(node.value.args[0], ast.List)):
            continue
        rows = node.value.args[0].elts
        if rows and all(isinstance(r, ast.List) and len(r.elts) == 1 and constant(r.elts[0]) is not None for r in rows):
            columns.append([float(constant(r.elts[0])) for r in rows])  # type: ignore[arg-type, union-attr]
    return columns[0] if len(columns) == 1 else None


def capped(setup: XorSetup, cap: int = EPOCH_CAP) -> XorSetup:
    """``setup`` with at most ``cap`` epochs (the audit never trains longer, whatever a listing says)."""
    return setup if setup.epochs <= cap else replace(setup, epochs=cap)


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
