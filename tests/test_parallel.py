"""Work shared between threads (minigan/kernels/parallel.py) gives the same results.

The convolutions' own checks are in test_conv.py; here: batch norm and LeakyReLU, whose
passes also go through the batch slice by slice, and the thread-count setting.
"""
import numpy as np
import pytest

import minigan as mg
from minigan.kernels import parallel


def run_with_threads(threads, fn):
    with mg.kernels.use("fast", threads=threads, min_elements=0):  # share even tiny work
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
def test_batch_norm_and_leaky_relu_same_bits_for_any_thread_count(threads):
    one = run_with_threads(1, batch_norm_and_leaky_relu)
    many = run_with_threads(threads, batch_norm_and_leaky_relu)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)


def test_an_exception_in_a_thread_reaches_the_caller():
    seen = []

    def work(start, stop):
        seen.append((start, stop))
        if start > 0:
            raise RuntimeError("slice failed")
    with pytest.raises(RuntimeError, match="slice failed"):
        run_with_threads(2, lambda: parallel.over_batch(work, 4, 100, np.zeros(4)))
    assert sorted(seen) == [(0, 2), (2, 4)]


def test_error_bad_thread_count(monkeypatch):
    monkeypatch.setenv("MINIGAN_NUM_THREADS", "two")
    with pytest.raises(ValueError, match="MINIGAN_NUM_THREADS"):
        parallel.num_threads()


def test_side_by_side_runs_two_jobs_on_two_threads():
    import threading
    where = lambda: threading.current_thread().name  # noqa: E731
    on_cpu = np.zeros(1)
    with mg.kernels.use("fast", threads=2):
        first, second = parallel.side_by_side(where, where, on_cpu)
        assert first == threading.current_thread().name and second != first
        with mg.kernels.use("fast", threads=1):  # one thread: both jobs in place
            assert parallel.side_by_side(where, where, on_cpu) == (first, first)

        def fails():
            raise RuntimeError("second job failed")
        with pytest.raises(RuntimeError, match="second job failed"):
            parallel.side_by_side(lambda: 1, fails, on_cpu)
        # and the flag is reset afterwards: work is split again
        assert parallel.side_by_side(lambda: parallel._side_by_side, lambda: 2, on_cpu) == (True, 2)
    assert parallel._side_by_side is False


def test_a_backward_that_builds_a_graph_never_reaches_the_kernels_threads():
    """create_graph=True calls the differentiable backward (minigan ops), never
    ``backward_arrays``: no fast kernel runs a backward then, so no thread is handed a
    graph to record."""
    calls = []
    x = mg.tensor(np.ones((2, 3, 4, 4)), requires_grad=True)
    w = mg.tensor(np.ones((2, 3, 3, 3)), requires_grad=True)
    y = mg.conv2d(x, w)
    real = mg.kernels.fast.conv2d_backward
    try:
        mg.kernels.fast.conv2d_backward = lambda *a: calls.append(1) or real(*a)
        mg.grad(y.sum(), [x, w], create_graph=True)
        assert calls == []
        mg.grad(mg.conv2d(x, w).sum(), [x, w])
        assert calls == [1]
    finally:
        mg.kernels.fast.conv2d_backward = real


def test_convolution_gradients_side_by_side_are_the_same_bits():
    """Each gradient is computed whole on its thread, as with one thread."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 8, 10, 10)).astype(np.float32)
    w = rng.normal(size=(16, 8, 4, 4)).astype(np.float32)

    def gradients(threads):
        with mg.kernels.use("fast", threads=threads):
            tx, tw = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True)
            y = mg.conv2d(tx, tw, stride=2, padding=1)
            y.backward(mg.ones(y.shape))
            return tx.grad.numpy(), tw.grad.numpy()
    for a, b in zip(gradients(1), gradients(2)):
        np.testing.assert_array_equal(a, b)


def test_optimizer_updates_on_threads_are_the_same_bits():
    """Optimizers hand parameters to the threads (largest first); each update is independent."""
    rng = np.random.default_rng(4)
    shapes = [(7, 5), (3,), (4, 4, 2), (1,), (9,)]
    values = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [rng.normal(size=s).astype(np.float32) for s in shapes]

    def three_steps(threads):
        params = [mg.tensor(v.copy(), requires_grad=True) for v in values]
        opt = mg.optim.Adam(params, lr=0.1)
        for _ in range(3):
            for p, g in zip(params, grads):
                p.grad = mg.tensor(g)
            run_with_threads(threads, opt.step)
        return [p.numpy() for p in params]
    one, three = three_steps(1), three_steps(3)
    for a, b, start in zip(one, three, values):
        assert not np.array_equal(a, start)
        np.testing.assert_array_equal(a, b)


def test_work_handed_out_from_a_worker_thread_runs_in_place():
    """Nested sharing would wait on a pool whose only worker is the one waiting: no deadlock."""
    done = []

    def inner(start, stop):
        done.append((start, stop))

    def outer(start, stop):
        parallel.over_batch(inner, 4, 100, np.zeros(4))
    run_with_threads(2, lambda: parallel.over_batch(outer, 2, 100, np.zeros(2)))
    assert sorted(done) == [(0, 2), (0, 4), (2, 4)]  # main thread split; the worker did not


BLAS_THREADS = ("import minigan, threadpoolctl; "
                "print([lib['num_threads'] for lib in threadpoolctl.threadpool_info() "
                "if lib['user_api'] == 'blas'], minigan.kernels.blas.single_threaded())")


def blas_threads_after_import(**environment):
    """BLAS's thread counts and minigan's view of them in a fresh process."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS",
                        "MINIGAN_BLAS_THREADS")}
    out = subprocess.run([sys.executable, "-c", BLAS_THREADS], capture_output=True, text=True,
                         env={**env, **environment}, check=True)
    return out.stdout.strip()


def test_import_keeps_blas_on_one_thread_unless_the_user_chose():
    """minigan/kernels/blas.py: OpenBLAS's spinning threads would fight minigan's for the
    cores, so importing minigan limits BLAS to one thread; a user's own setting wins."""
    import threadpoolctl
    if not any(lib["user_api"] == "blas" for lib in threadpoolctl.threadpool_info()):
        pytest.skip("this NumPy reports no BLAS library to threadpoolctl")
    assert blas_threads_after_import() == "[1] True"
    assert blas_threads_after_import(OPENBLAS_NUM_THREADS="1") == "[1] True"
    kept = blas_threads_after_import(OPENBLAS_NUM_THREADS="2")
    assert kept.endswith("False") and kept != "[1] False"
    assert blas_threads_after_import(MINIGAN_BLAS_THREADS="keep").endswith("False")
