"""The worked examples, run end to end through the generated layer, backprop and optimizer kernels."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from chainrule.codegen import load_backend
from derive.core import registry
from verify import worked
from verify.examples import check_example


@pytest.fixture(scope="module")
def rows():
    return worked.check_pipelines()


def test_every_stated_number_of_the_piped_examples_is_recomputed_by_both_backends(rows):
    expected = {(e.key, q.name) for e in registry().examples if e.pipeline
                for q in e.quantities if q.stated is not None}
    assert {(r.example.removesuffix(" (kernels)"), r.quantity) for r in rows} == expected


def test_the_kernel_pipelines_reach_the_exact_values(rows):
    off = [(r.example, r.quantity, r.exact, r.numpy, r.jax) for r in rows
           if max(abs(r.numpy - r.exact), abs(r.jax - r.exact)) > worked.KERNEL_RTOL * max(1.0, abs(r.exact))]
    assert off == []


def test_the_kernel_pipelines_judge_the_notes_numbers_like_the_exact_check(rows):
    base = {(e.key, c.quantity): c.verdict for e in registry().examples if e.pipeline
            for c in check_example(e)}
    assert {(r.example.removesuffix(" (kernels)"), r.quantity): r.verdict for r in rows} == base


def test_a_wrong_optimizer_kernel_is_caught(monkeypatch):
    real = load_backend

    def broken(name):
        module = real(name)
        kernels = {k: getattr(module, k) for k in dir(module) if not k.startswith("__")}
        kernels["sgd_step"] = lambda theta, g, eta: theta + eta * g  # the sign of the step flipped
        return SimpleNamespace(**kernels)

    monkeypatch.setattr(worked, "load_backend", broken)
    bad = {r.quantity for r in worked.check_pipelines() if "off the exact value" in r.detail}
    assert {"update_0", "W2_1_updated"} <= bad


def test_an_unknown_pipeline_says_where_to_fix_it():
    example = dataclasses.replace(registry().examples[0], pipeline="no_such_pipeline")
    with pytest.raises(KeyError, match="PIPELINES"):
        worked.pipeline(example)
