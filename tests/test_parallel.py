"""Work shared between threads (minigan/ops/parallel.py) gives the same results.

The convolutions' own checks are in test_conv.py; here: batch norm and LeakyReLU, whose
passes also go through the batch slice by slice, and the thread-count setting.
"""
import numpy as np
import pytest

import minigan as mg
from minigan.ops import parallel


def run_with_threads(monkeypatch, threads, fn):
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)  # share even tiny work
    monkeypatch.setenv("MINIGAN_NUM_THREADS", str(threads))
    return fn()


def batch_norm_and_leaky_relu():
    """Forward and both kinds of backward of BN -> LeakyReLU on a channels-last batch."""
    rng = np.random.default_rng(0)
    x_data = rng.normal(size=(5, 7, 4, 3)).astype(np.float32).transpose(0, 3, 1, 2)
    x = mg.tensor(x_data, requires_grad=True)
    gamma = mg.tensor(rng.normal(size=3).astype(np.float32), requires_grad=True)
    beta = mg.tensor(rng.normal(size=3).astype(np.float32), requires_grad=True)
    running_mean, running_var = mg.zeros(3), mg.ones(3)
    y = mg.leaky_relu(mg.batch_norm(x, running_mean, running_var, gamma, beta, training=True), 0.2)
    upstream = mg.tensor(rng.normal(size=y.shape).astype(np.float32))
    y.backward(upstream)
    results = [y, x.grad, gamma.grad, beta.grad, running_mean, running_var]
    return [r.numpy() for r in results]


@pytest.mark.parametrize("threads", [2, 3, 5])
def test_batch_norm_and_leaky_relu_same_bits_for_any_thread_count(monkeypatch, threads):
    one = run_with_threads(monkeypatch, 1, batch_norm_and_leaky_relu)
    many = run_with_threads(monkeypatch, threads, batch_norm_and_leaky_relu)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)


def test_an_exception_in_a_thread_reaches_the_caller(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ELEMENTS", 0)
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "2")
    seen = []

    def work(start, stop):
        seen.append((start, stop))
        if start > 0:
            raise RuntimeError("slice failed")
    with pytest.raises(RuntimeError, match="slice failed"):
        parallel.over_batch(work, 4, 100, np.zeros(4))
    assert sorted(seen) == [(0, 2), (2, 4)]


def test_error_bad_thread_count(monkeypatch):
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="MINIGAN_NUM_THREADS"):
        parallel.num_threads()
