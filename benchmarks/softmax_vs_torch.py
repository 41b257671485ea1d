"""Softmax and log-softmax forward + backward over the last axis (float32, CPU): minigan
against PyTorch.

    python3 benchmarks/softmax_vs_torch.py [--repeats 30] [--torch-threads 1]

The shapes are the attention scores of examples/cats_gan.py: ViT-D's (N, heads, tokens,
tokens) = (64, 4, 65, 65) and SAGAN-sized ones (64, 1, 64, 64). minigan runs three ways:
the fast kernels; the reference set (``minigan.kernels.use``); and "textbook", the reference
forward with the differentiable backward (``backward_arrays`` switched off), which is what
minigan did before these ops had kernels. All alternate with PyTorch in one process (so all
see the same machine load); the table gives median times and the median per-pair ratios
to PyTorch. PyTorch is only a yardstick; minigan does not depend on it.
"""
import argparse
import contextlib
import importlib

import numpy as np
import torch

import minigan
import minigan.nn.functional as F
from timing import clock  # benchmarks/timing.py

_ops = importlib.import_module("minigan.ops.softmax")  # the module, not the function
Softmax, LogSoftmax = _ops.Softmax, _ops.LogSoftmax

SHAPES = [(64, 4, 65, 65), (64, 1, 64, 64)]


@contextlib.contextmanager
def textbook_backward(op):
    """The op's differentiable ``backward`` even for a plain backward pass."""
    function = {"softmax": Softmax, "log_softmax": LogSoftmax}[op]
    function.backward_arrays, saved = None, function.backward_arrays
    try:
        yield
    finally:
        function.backward_arrays = saved


def minigan_step(op, x, gy, kernels, textbook=False):
    x = minigan.Tensor(x, requires_grad=True)
    gy = minigan.Tensor(gy)

    def step():
        x.grad = None
        with minigan.kernels.use(kernels), \
                textbook_backward(op) if textbook else contextlib.nullcontext():
            getattr(F, op)(x, dim=-1).backward(gy)
    return step


def torch_step(op, x, gy):
    x, gy = torch.tensor(x, requires_grad=True), torch.tensor(gy)

    def step():
        x.grad = None
        getattr(torch.nn.functional, op)(x, dim=-1).backward(gy)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch threads (minigan uses one per core it may run on)")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__} ({args.torch_threads} thread(s)), numpy {np.__version__}, "
          f"minigan threads {minigan.kernels.parallel.num_threads()}")
    print("ms per forward + backward (median), and the median ratio to PyTorch")
    print(f"{'op':>12} {'shape':>16} {'fast':>6} {'ref':>6} {'textbook':>8} {'torch':>6} "
          f"{'fast/torch':>10} {'ref/torch':>9} {'textbook/torch':>14}")
    for op in ("softmax", "log_softmax"):
        for shape in SHAPES:
            x = 3 * rng.standard_normal(shape, dtype=np.float32)
            gy = rng.standard_normal(shape, dtype=np.float32)
            steps = [minigan_step(op, x, gy, "fast"), minigan_step(op, x, gy, "reference"),
                     minigan_step(op, x, gy, "reference", textbook=True),
                     torch_step(op, x, gy)]
            for step in steps:
                step()  # warm up
            times = np.array([[clock(step) for step in steps] for _ in range(args.repeats)])
            ms = np.median(times, axis=0) * 1e3
            ratios = np.median(times[:, :3] / times[:, 3:], axis=0)
            print(f"{op:>12} {str(shape):>16} {ms[0]:6.2f} {ms[1]:6.2f} {ms[2]:8.2f} "
                  f"{ms[3]:6.2f} {ratios[0]:10.2f} {ratios[1]:9.2f} {ratios[2]:14.2f}")


if __name__ == "__main__":
    main()
