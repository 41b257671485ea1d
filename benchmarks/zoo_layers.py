"""Time the GAN zoo's layers (forward + backward) against PyTorch CPU at DCGAN sizes.

    python3 benchmarks/zoo_layers.py [--batch 64] [--repeats 7]

Grouped and depthwise convolutions, padding modes (beside a plain 3x3 convolution of the
same size, "zeros"), instance/layer/group norm, pooling,
upsampling and pixel shuffle: each layer is built in both libraries from the same
PyTorch-order arguments, given the same input and upstream gradient (float32), and timed
alternately in one process (each sample the mean of consecutive calls lasting about 20 ms,
as in a training loop); the table shows the medians and the median ratio
minigan / PyTorch (target: 1.5 or less). A layer minigan does not have is listed as missing.
"""
import argparse
import statistics

import numpy as np
import torch

import minigan as mg
from timing import clock  # benchmarks/timing.py

# (name, module class name, constructor arguments, input shape without the batch)
LAYERS = [
    ("conv 3x3 groups=4", "Conv2d", (128, 128, 3, 1, 1, 1, 4), (128, 16, 16)),
    ("conv 3x3 depthwise", "Conv2d", (128, 128, 3, 1, 1, 1, 128), (128, 16, 16)),
    ("conv 3x3 zeros", "Conv2d", (64, 64, 3, 1, 1), (64, 32, 32)),
    ("conv 3x3 reflect", "Conv2d", (64, 64, 3, 1, 1, 1, 1, True, "reflect"), (64, 32, 32)),
    ("convT 4x4 s2 groups=4", "ConvTranspose2d", (128, 64, 4, 2, 1, 0, 4), (128, 16, 16)),
    ("instance norm affine", "InstanceNorm2d", (64, 1e-5, 0.1, True), (64, 32, 32)),
    ("layer norm (C,H,W)", "LayerNorm", ((64, 16, 16),), (64, 16, 16)),
    ("group norm 8 groups", "GroupNorm", (8, 64), (64, 32, 32)),
    ("avg pool 2x2", "AvgPool2d", (2,), (64, 32, 32)),
    ("max pool 2x2", "MaxPool2d", (2,), (64, 32, 32)),
    ("upsample nearest x2", "Upsample", (None, 2, "nearest"), (64, 16, 16)),
    ("upsample bilinear x2", "Upsample", (None, 2, "bilinear", False), (64, 16, 16)),
    ("pixel shuffle x2", "PixelShuffle", (2,), (256, 16, 16)),
]


def step_of(lib, module, x, g):
    def step():
        x.grad = None
        module(x).backward(g)
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="", help="time only the layers whose name contains this")
    args = parser.parse_args()
    mg.kernels.memory.keep_freed_memory()
    rng = np.random.default_rng(0)
    print(f"batch {args.batch}, float32, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"{'layer':26s} {'minigan ms':>10s} {'torch ms':>9s} {'ratio':>6s}")
    for name, cls, ctor, shape in LAYERS:
        if args.only not in name:
            continue
        if not hasattr(mg.nn, cls):
            print(f"{name:26s} {'missing':>10s}")
            continue
        theirs = getattr(torch.nn, cls)(*ctor)
        ours = getattr(mg.nn, cls)(*ctor)
        state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
        if state:
            ours.load_state_dict(state)
        x = rng.standard_normal((args.batch,) + shape, dtype=np.float32)
        with torch.no_grad():
            out_shape = tuple(theirs(torch.from_numpy(x)).shape)
        g = rng.standard_normal(out_shape, dtype=np.float32)
        tx, tg = torch.tensor(x, requires_grad=True), torch.from_numpy(g)
        mx, mgrad = mg.tensor(x, requires_grad=True), mg.tensor(g)
        ours_step, theirs_step = step_of(mg, ours, mx, mgrad), step_of(torch, theirs, tx, tg)
        # Each sample is the mean of enough consecutive calls to last about 20 ms: one call
        # of a 2 ms layer after a pause measures the threads waking up more than the layer.
        calls = {k: max(1, round(0.02 / clock(f, 0.05, 2))) for k, f in
                 (("mg", ours_step), ("torch", theirs_step))}
        times, ratios = {"mg": [], "torch": []}, []
        for _ in range(args.repeats):
            times["mg"].append(clock(ours_step, 0.05, 2, calls["mg"]))
            times["torch"].append(clock(theirs_step, 0.05, 2, calls["torch"]))
            ratios.append(times["mg"][-1] / times["torch"][-1])
        a, b = (statistics.median(times[k]) * 1e3 for k in ("mg", "torch"))
        print(f"{name:26s} {a:10.2f} {b:9.2f} {statistics.median(ratios):6.2f}", flush=True)


if __name__ == "__main__":
    main()
