"""Time conv2d / conv_transpose2d forward+backward on the DCGAN layer shapes, against PyTorch.

    python3 benchmarks/conv_layers.py [--size 64] [--batch 64] [--repeats 7]

Each layer runs forward + backward (input and weight gradients, float32, CPU), minigan and
PyTorch alternating in one process so both see the same machine load; the table shows the
median times and their ratio (minigan / torch). PyTorch is needed here only.

minigan's convolutions return NCHW views of channels-last memory (see minigan/kernels/im2col.py),
so inside a network the activations and their gradients are laid out channels-last; minigan
gets its inputs laid out that way here (except the images, which come NCHW). PyTorch gets
its default, NCHW-contiguous tensors. ``--contiguous`` gives minigan NCHW-contiguous inputs too.
"""
# minigan keeps NumPy's BLAS on one thread itself and splits each convolution between the
# cores (minigan/kernels/blas.py, parallel.py). PyTorch's threads are not affected.
import argparse
import statistics

import numpy as np
import torch

import minigan as mg
from timing import clock  # benchmarks/timing.py

def dcgan_layers(size, width, nz=100):
    """(kind, in_channels, out_channels, input size, kernel, stride, padding) of every
    convolution of the DCGAN pair at ``size`` (32 or 64) and ``width`` (ndf = ngf)."""
    stages = {32: 3, 64: 4}[size]
    layers, channels, side = [("conv", 3, width, size, 4, 2, 1)], width, size // 2
    for _ in range(stages - 1):  # discriminator: halve the side, double the channels
        layers.append(("conv", channels, channels * 2, side, 4, 2, 1))
        channels, side = channels * 2, side // 2
    layers.append(("conv", channels, 1, side, 4, 1, 0))
    layers.append(("convT", nz, channels, 1, 4, 1, 0))  # generator: the mirror image
    while channels > width:
        layers.append(("convT", channels, channels // 2, side, 4, 2, 1))
        channels, side = channels // 2, side * 2
    layers.append(("convT", channels, 3, side, 4, 2, 1))
    return layers


def make_step(lib, kind, x, w, g, stride, padding):
    """A closure running one forward + backward of the layer in ``lib`` (mg or torch)."""
    if lib is mg:
        op = mg.conv2d if kind == "conv" else mg.conv_transpose2d
    else:
        op = torch.nn.functional.conv2d if kind == "conv" else torch.nn.functional.conv_transpose2d

    def step():
        x.grad = w.grad = None
        y = op(x, w, None, stride, padding)
        y.backward(g)
    return step


def network_layout(array, channels_last):
    """``array`` (N, C, H, W) as it would sit in memory inside a minigan network."""
    if not channels_last:
        return np.ascontiguousarray(array)
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, choices=[32, 64], default=64,
                        help="the DCGAN's image size; the width is the size (32 or 64)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--contiguous", action="store_true",
                        help="give minigan NCHW-contiguous inputs (as PyTorch gets)")
    parser.add_argument("--pause", type=float, default=0.3, help="idle seconds before each run")
    parser.add_argument("--lead-in", type=int, default=15,
                        help="untimed runs after the rest: a layer takes a few ms, and it took "
                             "~100 ms of work before minigan's threads ran as in a training "
                             "loop on the development machine (see timing.py)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    layout = "NCHW-contiguous" if args.contiguous else "channels-last activations"
    print(f"batch {args.batch}, float32, forward+backward, median of {args.repeats}; "
          f"torch threads {torch.get_num_threads()}; minigan inputs {layout}")
    print(f"{'layer':32s} {'minigan ms':>10s} {'torch ms':>9s} {'ratio':>6s}")
    totals = [0.0, 0.0]
    for kind, cin, cout, size, k, s, p in dcgan_layers(args.size, args.size):
        x = rng.standard_normal((args.batch, cin, size, size), dtype=np.float32)
        w_shape = (cout, cin, k, k) if kind == "conv" else (cin, cout, k, k)
        w = rng.standard_normal(w_shape, dtype=np.float32) * 0.02
        out = torch.nn.functional.conv2d if kind == "conv" else torch.nn.functional.conv_transpose2d
        g = rng.standard_normal(tuple(out(torch.from_numpy(x), torch.from_numpy(w), None, s, p)
                                      .shape), dtype=np.float32)
        images = kind == "conv" and cin == 3
        x_mg = network_layout(x, not (args.contiguous or images))
        g_mg = network_layout(g, not args.contiguous)
        steps = [
            make_step(mg, kind, mg.Tensor(x_mg, requires_grad=True),
                      mg.Tensor(w, requires_grad=True), mg.Tensor(g_mg), s, p),
            make_step(torch, kind, torch.tensor(x, requires_grad=True),
                      torch.tensor(w, requires_grad=True), torch.from_numpy(g), s, p),
        ]
        for step in steps:  # warm up (allocators, thread pools)
            step()
        times = [[], []]
        for _ in range(args.repeats):
            for i, step in enumerate(steps):
                times[i].append(clock(step, args.pause, args.lead_in))
        medians = [statistics.median(t) for t in times]
        totals = [a + b for a, b in zip(totals, medians)]
        name = f"{kind} {cin}->{cout} k{k} s{s} p{p} on {size}x{size}"
        print(f"{name:32s} {medians[0] * 1e3:10.1f} {medians[1] * 1e3:9.1f} "
              f"{medians[0] / medians[1]:6.2f}")
    print(f"{'total':32s} {totals[0] * 1e3:10.1f} {totals[1] * 1e3:9.1f} "
          f"{totals[0] / totals[1]:6.2f}")


if __name__ == "__main__":
    main()
