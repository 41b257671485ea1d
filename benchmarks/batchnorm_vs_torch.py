"""Batch norm forward + backward (training mode, float32, CPU): minigan against PyTorch.

    python3 benchmarks/batchnorm_vs_torch.py [--repeats 20] [--torch-threads 1]

Runs the two alternately in one process (so both see the same machine load) on the DCGAN
discriminator's batch norm sizes, and prints the median times and their ratio.
PyTorch is only used here, as a yardstick; minigan does not depend on it.
"""
import argparse

import numpy as np
import torch

import minigan
from minigan.ops.norm import batch_norm
from timing import clock  # benchmarks/timing.py

SHAPES = [(64, 64, 32, 32), (64, 128, 16, 16), (64, 256, 8, 8), (64, 512, 4, 4)]


def minigan_step(shape, rng):
    c = shape[1]
    x = minigan.Tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
    w = minigan.Tensor(np.ones(c, np.float32), requires_grad=True)
    b = minigan.Tensor(np.zeros(c, np.float32), requires_grad=True)
    rm, rv = minigan.zeros(c), minigan.ones(c)
    gy = minigan.Tensor(rng.standard_normal(shape, dtype=np.float32))

    def step():
        x.grad = w.grad = b.grad = None
        batch_norm(x, rm, rv, w, b, training=True).backward(gy)
    return step


def torch_step(shape, rng):
    c = shape[1]
    x = torch.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
    w = torch.ones(c, requires_grad=True)
    b = torch.zeros(c, requires_grad=True)
    rm, rv = torch.zeros(c), torch.ones(c)
    gy = torch.tensor(rng.standard_normal(shape, dtype=np.float32))

    def step():
        x.grad = w.grad = b.grad = None
        torch.nn.functional.batch_norm(x, rm, rv, w, b, training=True).backward(gy)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="PyTorch threads (NumPy runs these ops on one core)")
    args = parser.parse_args()
    torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__} ({args.torch_threads} thread(s)), numpy {np.__version__}")
    print(f"{'shape':>20} {'minigan ms':>11} {'torch ms':>9} {'ratio':>6}")
    for shape in SHAPES:
        ours, theirs = minigan_step(shape, rng), torch_step(shape, rng)
        ours(), theirs()  # warm up
        times = np.array([(clock(ours), clock(theirs)) for _ in range(args.repeats)])
        mine, ref = np.median(times, axis=0) * 1e3
        ratio = np.median(times[:, 0] / times[:, 1])
        print(f"{str(shape):>20} {mine:11.2f} {ref:9.2f} {ratio:6.2f}")


if __name__ == "__main__":
    main()
