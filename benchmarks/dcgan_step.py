"""Time one full DCGAN training step (D step + G step, Adam, BCE-with-logits).

    python3 benchmarks/dcgan_step.py                  # 32x32 width 32 and 64x64 width 64, batch 64
    python3 benchmarks/dcgan_step.py --device cuda --batch-size 128 --sizes 64

For each size it times minigan and, when PyTorch is importable, the same architecture in
PyTorch, alternating the two step by step in one process (so both see the same machine
load), and prints the median seconds per step and the median of the per-pair ratios
minigan / PyTorch. Speed is measured here, never asserted in tests.
"""
# minigan keeps NumPy's BLAS on one thread itself and splits each convolution between the
# cores (minigan/kernels/blas.py, parallel.py). PyTorch's threads are not affected.
import argparse
import statistics

import numpy as np

import minigan as mg
from minigan import nn, optim
from minigan.gan.models import DCGANDiscriminator, DCGANGenerator, dcgan_init
from timing import clock  # benchmarks/timing.py

try:
    import torch
except ImportError:
    torch = None


def minigan_step(size, width, batch, nz, device, dtype="float32"):
    G = DCGANGenerator(nz=nz, ngf=width, image_size=size).to(device)
    D = DCGANDiscriminator(ndf=width, image_size=size).to(device)
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.functional.binary_cross_entropy_with_logits
    real = mg.randn(batch, 3, size, size, device=device).clamp(-1, 1)

    def step():
        z = mg.randn(batch, nz, 1, 1, device=device)
        opt_d.zero_grad()
        fake = G(z)
        real_logits = D(real).reshape(-1)
        fake_logits = D(fake.detach()).reshape(-1)
        loss_d = bce(real_logits, 1.0) + bce(fake_logits, 0.0)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce(D(fake).reshape(-1), 1.0)
        loss_g.backward()
        opt_g.step()
        return loss_d.item() + loss_g.item()  # fetching a scalar also syncs a GPU

    return step


def torch_step(size, width, batch, nz, device):
    tn = torch.nn
    stages = {32: 3, 64: 4}[size]
    g_layers, channels = [], width * 2 ** (stages - 1)
    g_layers += [tn.ConvTranspose2d(nz, channels, 4, 1, 0, bias=False), tn.BatchNorm2d(channels), tn.ReLU(True)]
    for _ in range(stages - 1):
        g_layers += [tn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False),
                     tn.BatchNorm2d(channels // 2), tn.ReLU(True)]
        channels //= 2
    g_layers += [tn.ConvTranspose2d(channels, 3, 4, 2, 1, bias=False), tn.Tanh()]
    d_layers, channels = [tn.Conv2d(3, width, 4, 2, 1, bias=False), tn.LeakyReLU(0.2, True)], width
    for _ in range(stages - 1):
        d_layers += [tn.Conv2d(channels, channels * 2, 4, 2, 1, bias=False),
                     tn.BatchNorm2d(channels * 2), tn.LeakyReLU(0.2, True)]
        channels *= 2
    d_layers += [tn.Conv2d(channels, 1, 4, 1, 0, bias=False)]
    G, D = tn.Sequential(*g_layers).to(device), tn.Sequential(*d_layers).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = tn.functional.binary_cross_entropy_with_logits
    real = torch.randn(batch, 3, size, size, device=device).clamp(-1, 1)
    ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)

    def step():
        z = torch.randn(batch, nz, 1, 1, device=device)
        opt_d.zero_grad()
        fake = G(z)
        loss_d = bce(D(real).reshape(-1), ones) + bce(D(fake.detach()).reshape(-1), zeros)
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = bce(D(fake).reshape(-1), ones)
        loss_g.backward()
        opt_g.step()
        return loss_d.item() + loss_g.item()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--nz", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per framework")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds of rest before each timed step")
    parser.add_argument("--lead-in", type=int, default=1,
                        help="untimed steps between the rest and the timed step (0: time the first "
                             "step after the rest, which on some machines pays for waking the cores)")
    parser.add_argument("--block", type=int, default=1,
                        help="timed consecutive steps per sample (their mean is the sample)")
    parser.add_argument("--kernels", nargs="+", default=["fast"], choices=["fast", "reference"],
                        help="minigan's kernel sets to time (each alternates with PyTorch)")
    args = parser.parse_args()
    mg.kernels.memory.keep_freed_memory()  # as GANTrainer does: minigan/kernels/memory.py
    use_torch = torch is not None and not args.no_torch
    torch_device = "cuda" if args.device.startswith("cuda") else "cpu"
    print(f"device {args.device}, batch {args.batch_size}, {args.steps} timed steps, "
          f"numpy {np.__version__}" + (f", torch {torch.__version__} "
                                      f"({torch.get_num_threads()} threads)" if use_torch else ""))
    for size in args.sizes:
        width = {32: 32, 64: 64}.get(size, 64)
        ours = {name: with_kernels(name, minigan_step(size, width, args.batch_size, args.nz,
                                                      args.device))
                for name in args.kernels}
        theirs = torch_step(size, width, args.batch_size, args.nz, torch_device) if use_torch else None
        for _ in range(args.warmup):
            for step in ours.values():
                step()
            if theirs:
                theirs()
        times = {name: [] for name in ours}
        times_theirs, ratios = [], {name: [] for name in ours}
        for _ in range(args.steps):
            for name, step in ours.items():
                times[name].append(clock(step, args.pause, args.lead_in, args.block))
            if theirs:
                times_theirs.append(clock(theirs, args.pause, args.lead_in, args.block))
                for name in ours:
                    ratios[name].append(times[name][-1] / times_theirs[-1])
        line = f"{size}x{size} width {width}: " + ", ".join(
            f"minigan ({name} kernels) {statistics.median(times[name]):.3f} s/step" for name in ours)
        if theirs:
            line += f", pytorch {statistics.median(times_theirs):.3f} s/step, ratio minigan/pytorch " + \
                ", ".join(f"{statistics.median(ratios[name]):.2f} ({name})" for name in ours) + \
                f" (median of {len(times_theirs)} pairs)"
        print(line, flush=True)


def with_kernels(name, step):
    """``step`` run with minigan's kernel set ``name``."""
    def run():
        with mg.kernels.use(name):
            step()
    return run

if __name__ == "__main__":
    main()
