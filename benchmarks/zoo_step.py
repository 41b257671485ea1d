"""Time a training step of each cats_gan.py architecture against the same model in PyTorch.

    python3 benchmarks/zoo_step.py                         # all eight, 32x32, batch 64
    python3 benchmarks/zoo_step.py --archs dcgan sagan --repeats 5

For each ``--arch`` of examples/cats_gan.py, minigan's trainer is the one that script builds
(its default widths, loss, Adam settings, EMA, at 32x32), and the PyTorch side is its twin
(benchmarks/torch_twins.py: the same layers under the same names, minigan's weights copied
in) trained by `torch_step`, the trainer's step written in PyTorch. Two checks come first,
each the largest difference relative to the largest value: D(G(z)) on the same z (float32),
and one training step in float64 from the same weights, batch and random draws (its losses
and the gradients it leaves in D and G; `check_step`). An architecture whose twin fails
them is not timed. Then one full step (D update, G update, EMA) is timed alternately
minigan / PyTorch in one process, as dcgan_step.py does (timing.py's `clock`), and the table
gives the median seconds per step and the median of the per-pair ratios. What a timed step
leaves out is in the notes column (ProGAN's growing; StyleGAN's lazy R1, which runs on one
step in 16, is the row "stylegan-r1": that step). Speed is measured here, never asserted in
tests.
"""
import argparse
import os
import statistics
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import minigan as mg  # noqa: E402  (this checkout's minigan, and its examples/)
from examples.cats_gan import ARCHS, COMMON_DEFAULTS  # noqa: E402
from timing import clock  # noqa: E402  (benchmarks/timing.py)
import torch_twins  # noqa: E402

# Rows that time a variant of an architecture's step: row name -> architecture.
VARIANTS = {"stylegan-r1": "stylegan"}
# What a timed step leaves out or is, per row (the table's notes).
NOTES = {"progan": "final 32x32 stage, alpha 1 (growing not timed)",
         "stylegan": "without lazy R1 (see stylegan-r1); path length off (its default)",
         "stylegan-r1": "the step that runs lazy R1 (1 step in 16, weight 16 x r1_gamma)"}

# The largest differences (relative to the largest value) that rounding explains: D(G(z))
# in float32, one step in float64.
FORWARD_TOLERANCE, STEP_TOLERANCE = 1e-4, 1e-10

LOSSES = {  # minigan.gan.objectives in PyTorch: (d_loss(real, fake), g_loss(fake, real))
    "ns": (lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(),
           lambda f, r: F.softplus(-f).mean()),
    "hinge": (lambda r, f: F.relu(1.0 - r).mean() + F.relu(1.0 + f).mean(),
              lambda f, r: -f.mean()),
    "wgan-gp": (lambda r, f: f.mean() - r.mean(), lambda f, r: -f.mean()),
    "rasgan": (lambda r, f: F.softplus(-(r - f.mean())).mean() + F.softplus(f - r.mean()).mean(),
               lambda f, r: F.softplus(-(f - r.mean())).mean() + F.softplus(r - f.mean()).mean()),
}
LOSSES["logistic"] = LOSSES["ns"]


class Draws:
    """The twin's random numbers in ``dtype``: PyTorch's, or (``trainer`` given) the ones
    the minigan trainer draws, from copies of its generator and of minigan's default one
    (StyleGAN's noise inputs), so that a step can be compared number for number."""

    def __init__(self, dtype="float32", trainer=None):
        self.dtype, self.rng = dtype, None
        torch_twins.draw_noise = lambda *shape: torch.randn(*shape, dtype=self.torch_dtype)
        if trainer is not None:
            self.rng = mg.random.Generator("cpu")
            self.rng.set_state(trainer.rng.get_state())
            noise_rng = mg.random.Generator("cpu")
            noise_rng.set_state(mg.random.default_generator("cpu").get_state())
            torch_twins.draw_noise = lambda *shape: torch.from_numpy(
                mg.randn(*shape, dtype=dtype, generator=noise_rng).numpy())

    @property
    def torch_dtype(self):
        return getattr(torch, self.dtype)

    def randn(self, *shape):
        if self.rng is None:
            return torch.randn(*shape, dtype=self.torch_dtype)
        return torch.from_numpy(mg.randn(*shape, dtype=self.dtype, generator=self.rng).numpy())

    def rand(self, *shape, default_dtype=False):
        """``default_dtype``: minigan's default dtype, as StyleGAN's crossover layers are drawn."""
        dtype = None if default_dtype else self.dtype
        if self.rng is None:
            return torch.rand(*shape, dtype=getattr(torch, dtype or "float32"))
        return torch.from_numpy(mg.rand(*shape, dtype=dtype, generator=self.rng).numpy())


def minigan_trainer(row, batch, dtype="float32"):
    """examples/cats_gan.py's trainer for the architecture of ``row`` at its defaults, 32x32
    (its models in ``dtype``)."""
    arch = VARIANTS.get(row, row)
    config = {**COMMON_DEFAULTS, **ARCHS[arch].DEFAULTS, "arch": arch, "device": "cpu",
              "batch_size": batch, "image_size": 32, "out": None}
    trainer = ARCHS[arch].build_trainer(config)
    if arch == "progan":  # its final stage, faded in, where the schedule leaves it
        while trainer.G.stage < len(trainer.G.widths) - 1:
            trainer.grow()
        trainer._set_alpha(1.0)
        trainer.step = 10 ** 9
    if row == "stylegan":  # R1 runs on one step in 16: timed apart, as "stylegan-r1"
        trainer.r1_gamma = 0.0
    if row == "stylegan-r1":  # that step, every step
        trainer.r1_gamma, trainer.r1_interval = trainer.r1_gamma * trainer.r1_interval, 1
    if dtype != "float32":  # cats_gan.py trains in float32; the check runs in float64 too
        for net in (trainer.G, trainer.D) + ((trainer.ema.module,) if trainer.ema else ()):
            net.to(dtype=dtype)
        trainer.dtype = next(trainer.G.parameters()).dtype
    return trainer, config


def _adam(optimizer):
    group = optimizer.param_groups[0]
    return dict(lr=group["lr"], betas=group["betas"], eps=group["eps"],
                weight_decay=group["weight_decay"])


def torch_step(arch, trainer, loss, G, D, real, draws):
    """One step of the twins G, D, as ``trainer.train_step`` makes it (n_critic = 1): the
    D update on real and G(z).detach() (with the penalties the trainer adds), then the G
    update through a frozen D, then the EMA. The order of D's calls is the trainer's, so
    spectral norm's power iterations run in the same sequence."""
    if trainer.n_critic != 1 or (trainer.r1_gamma and trainer.r1_interval != 1):
        raise NotImplementedError("torch_step: n_critic 1 (every arch's default), R1 on every "
                                  "step or none")
    opt_g = torch.optim.Adam(G.parameters(), **_adam(trainer.g_optimizer))
    opt_d = torch.optim.Adam(D.parameters(), **_adam(trainer.d_optimizer))
    d_loss, g_loss = LOSSES[loss]
    n, nz = real.shape[0], trainer.nz
    ema = None
    if trainer.ema is not None:
        ema = ([p.detach().clone() for p in G.parameters()], [b.clone() for b in G.buffers()])
    detach = (lambda x: [t.detach() for t in x]) if arch == "msg" else (lambda x: x.detach())

    def generate(z):
        if arch != "stylegan" or not trainer.mixing_prob:
            return G(z)
        w, w2 = G.mapping(z), G.mapping(draws.randn(n, nz))
        mixes, layer = draws.rand(n, default_dtype=True), draws.rand(n, default_dtype=True)
        crossover = torch.where(mixes < trainer.mixing_prob,
                                1 + torch.floor(layer * (G.num_ws - 1)).long(), G.num_ws)
        m = (torch.arange(G.num_ws)[None, :] >= crossover[:, None]).to(w.dtype)[:, :, None]
        return torch_twins.stylegan_synthesis(G, w[:, None] * (1.0 - m) + w2[:, None] * m)

    def step():
        x = real
        if arch == "msg":  # the real pyramid, as MSGGANTrainer._as_batch makes it
            x = [real]
            for _ in range(len(trainer.G.widths) - 1):
                x.insert(0, F.avg_pool2d(x[0], 2))
        fake = generate(draws.randn(n, nz))
        opt_d.zero_grad()
        real_out, fake_out = D(x), D(detach(fake))
        loss_d = d_loss(real_out, fake_out)
        if getattr(trainer, "drift", 0.0):
            loss_d = loss_d + trainer.drift * (real_out * real_out).mean()
        if trainer.gp_weight:
            eps = draws.rand(n).reshape(n, 1, 1, 1)
            mixed = (eps * x + (1.0 - eps) * fake.detach()).requires_grad_(True)
            g, = torch.autograd.grad(D(mixed).sum(), mixed, create_graph=True)
            norm = torch.sqrt((g * g).sum((1, 2, 3)) + 1e-12)
            loss_d = loss_d + trainer.gp_weight * ((norm - 1.0) ** 2).mean()
        if trainer.r1_gamma:
            leaf = x.detach().requires_grad_(True)
            g, = torch.autograd.grad(D(leaf).sum(), leaf, create_graph=True)
            loss_d = loss_d + trainer.r1_gamma / 2.0 * (g * g).sum((1, 2, 3)).mean()
        value_d = loss_d.item()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        D.requires_grad_(False)
        loss_g = g_loss(D(fake), D(x) if trainer.objective.g_needs_real else None)
        if getattr(trainer, "ortho_beta", 0.0):
            loss_g = loss_g + torch_twins.orthogonal_regularization(G, trainer.ortho_beta)
        value_g = loss_g.item()
        loss_g.backward()
        D.requires_grad_(True)
        opt_g.step()
        if ema is not None:
            d = trainer.ema.decay
            with torch.no_grad():
                for average, p in zip(ema[0], G.parameters()):
                    average.mul_(d).add_(p, alpha=1.0 - d)
                for average, b in zip(ema[1], G.buffers()):
                    average.copy_(b)
        return value_d, value_g

    return step


def relative_error(ours, theirs):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-12))


def same_outputs(trainer, G, D, z):
    """The relative difference of D(G(z)) (training mode, as in a step) between minigan's
    trainer and the twins G, D."""
    with mg.no_grad():
        ours = trainer.D(trainer.G(mg.tensor(z))).numpy()
    with torch.no_grad():
        theirs = D(G(torch.from_numpy(z))).numpy()
    return relative_error(ours, theirs)


def same_gradients(net, twin):
    """The relative difference of the gradients a step leaves in ``net`` (minigan) and its
    twin: D's from the D loss, G's from the G loss (D is frozen in the G step)."""
    ours, theirs = dict(net.named_parameters()), dict(twin.named_parameters())
    pairs = [(ours[name].grad, p.grad) for name, p in theirs.items()
             if ours[name].grad is not None or p.grad is not None]  # ProGAN's faded-out layers
    if any(a is None or b is None for a, b in pairs):
        return float("inf")  # a parameter that only one of them trains
    return relative_error(np.concatenate([a.numpy().ravel() for a, _ in pairs]),
                          np.concatenate([b.numpy().ravel() for _, b in pairs]))


def check_step(row, batch):
    """The largest relative difference between one training step of minigan's trainer and of
    the twins, from the same weights, batch and random draws: its two losses and the
    gradients it leaves in D (from the D loss) and G (from the G loss). In float64, where
    rounding cannot hide a difference (in float32, batch norm over a few images turns
    rounding into differences of 1e-4 to 1e-3 of the largest gradient), and with learning
    rate 0, so that D's update leaves D as it was and both G steps differentiate the same D
    (Adam's first step is lr * sign(gradient), and a few gradients are zero up to rounding,
    such as that of D's last bias under the relativistic loss)."""
    trainer, config = minigan_trainer(row, batch, "float64")
    G, D = (torch_twins.twin(net, torch.float64) for net in (trainer.G, trainer.D))
    for group in trainer.g_optimizer.param_groups + trainer.d_optimizer.param_groups:
        group["lr"] = 0.0
    real = np.random.default_rng(1).uniform(-1, 1, (batch, 3, 32, 32))
    step = torch_step(config["arch"], trainer, config["loss"], G, D, torch.from_numpy(real),
                      Draws("float64", trainer))
    log = trainer.train_step(lambda: mg.tensor(real))
    return max(relative_error([log["loss_D"], log["loss_G"]], step()),
               same_gradients(trainer.D, D), same_gradients(trainer.G, G))


def prepare(row, batch):
    """(minigan step, torch step, parameter count, D(G(z)) difference, step difference)."""
    step_error = check_step(row, batch)
    draws = Draws()  # PyTorch's own random numbers from here on
    trainer, config = minigan_trainer(row, batch)
    arch = config["arch"]
    G, D = torch_twins.twin(trainer.G), torch_twins.twin(trainer.D)
    count = sum(p.data.size for p in trainer.G.parameters()) + \
        sum(p.data.size for p in trainer.D.parameters())
    if count != sum(p.numel() for net in (G, D) for p in net.parameters()):
        raise AssertionError(f"{arch}: the twin has a different number of parameters")
    host = np.random.default_rng(0)
    z = host.standard_normal((batch, trainer.nz)).astype(np.float32)
    forward_error = same_outputs(trainer, G, D, z)
    if forward_error > FORWARD_TOLERANCE or step_error > STEP_TOLERANCE:
        raise AssertionError(f"twin differs: D(G(z)) by {forward_error:.1e}, one step by "
                             f"{step_error:.1e}")
    real = host.uniform(-1, 1, (batch, 3, 32, 32)).astype(np.float32)
    real_ours, real_theirs = mg.tensor(real), torch.from_numpy(real)
    return (lambda: trainer.train_step(lambda: real_ours)), \
        torch_step(arch, trainer, config["loss"], G, D, real_theirs, draws), count, \
        forward_error, step_error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    rows = list(ARCHS) + list(VARIANTS)
    parser.add_argument("--archs", nargs="+", default=rows, choices=rows, metavar="ARCH",
                        help=f"rows to time (default: all of {', '.join(rows)})")
    parser.add_argument("--batch", type=int, default=COMMON_DEFAULTS["batch_size"],
                        help="batch size (default: cats_gan.py's, 64)")
    parser.add_argument("--repeats", type=int, default=10, help="timed pairs per architecture")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps of each first")
    parser.add_argument("--pause", type=float, default=0.3,
                        help="seconds of rest before each timed step")
    parser.add_argument("--lead-in", type=int, default=1,
                        help="untimed steps between the rest and the timed step (timing.py)")
    args = parser.parse_args()
    print(f"32x32, batch {args.batch}, {args.repeats} timed pairs, numpy {np.__version__}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)", flush=True)
    print("\n| arch | params G+D | D(G(z)) diff | one step diff (float64) | minigan s/step | "
          "torch s/step | ratio | notes |\n|---|---|---|---|---|---|---|---|", flush=True)
    for row in args.archs:
        try:
            ours, theirs, count, forward_error, step_error = prepare(row, args.batch)
        except (NotImplementedError, AssertionError) as error:
            kind = "no twin yet" if isinstance(error, NotImplementedError) else "CHECK FAILED"
            print(f"| {row} | | | | | | | {kind}: {error} |", flush=True)
            continue
        for _ in range(args.warmup):
            ours()
            theirs()
        times_ours, times_theirs, ratios = [], [], []
        for _ in range(args.repeats):
            times_ours.append(clock(ours, args.pause, args.lead_in))
            times_theirs.append(clock(theirs, args.pause, args.lead_in))
            ratios.append(times_ours[-1] / times_theirs[-1])
        print(f"| {row} | {count:,} | {forward_error:.1e} | {step_error:.1e} | "
              f"{statistics.median(times_ours):.3f} | {statistics.median(times_theirs):.3f} | "
              f"**{statistics.median(ratios):.2f}** | {NOTES.get(row, '')} |", flush=True)


if __name__ == "__main__":
    main()
