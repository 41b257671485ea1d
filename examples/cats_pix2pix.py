"""Pix2Pix on cat faces: draw a cat's outlines, get a colour cat (docs/14_image_to_image.md).

    python examples/cats_pix2pix.py                               # procedural cats, CPU
    python examples/cats_pix2pix.py --data ../shared/data/cats64  # real cat photos
    python examples/cats_pix2pix.py --task grayscale              # grey photo -> colour
    python examples/cats_pix2pix.py --device cuda                 # 64x64, paper-sized nets
    python examples/cats_pix2pix.py --resume                      # continue runs/pix2pix

Pairs are made from each cat image: its edge map (`minigan.data.edge_maps`, Sobel and
non-maximum suppression) or its grey version is the input, the image itself the target. The
last 16 images are held out: the progress grid shows their inputs, G's outputs and the real
images, in bands of three rows, so the grid shows translations of drawings G never saw.
As in the paper's code, the learning rate stays at --lr for the first half of --steps, then
falls linearly to 0 (--decay-start; docs/14_image_to_image.md).

The outputs, checkpoints, --resume, Ctrl-C and NaN handling are the cat DCGAN's
(`minigan.gan.loop.run_training`; docs/09_training_cats.md); the data comes from its loader
(`examples/cats_dcgan.py`: the procedural cats, or any --data folder).
"""
import argparse
import os
import sys

import minigan
from minigan import optim
from minigan.data import PairedBatches, edge_maps, grayscale
from minigan.gan import (PatchGANDiscriminator, Pix2PixTrainer, UNetGenerator, dcgan_init,
                         linear_decay)
from minigan.gan.loop import EXIT_CODES, resolve_run_config, run_training
from minigan.gan.models import patch_layers_for
from minigan.utils.cli import checked, fraction, non_negative_int, positive_float, positive_int

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from examples.cats_dcgan import load_images, _count  # noqa: E402  (the cats' data handling)

# CPU: 32x32 and narrow nets, 3,000 steps: 0.20 s of CPU time per step of batch 16 (20 steps
# timed on one core, Pix2PixTrainer alone), about 10 minutes. GPU: 64x64 and the paper's
# widths (ngf = ndf = 64); the paper trains with batch 1, a batch of 16 keeps a GPU busy.
CPU_DEFAULTS = dict(image_size=32, ngf=32, ndf=32, batch_size=16, num_images=4000, steps=3000)
GPU_DEFAULTS = dict(image_size=64, ngf=64, ndf=64, batch_size=16, num_images=20000, steps=20000)
COMMON_DEFAULTS = dict(task="edges", lr=2e-4, beta1=0.5, decay_start=0.5, l1_weight=100.0,
                       loss="ns", patch_layers=None, flip=True, seed=0, data=None,
                       out="runs/pix2pix")
HELD_OUT = 16  # images kept out of training, shown in the progress grid
PROG = os.path.basename(__file__)

image_size_type = checked(int, lambda n: n >= 4 and n & (n - 1) == 0,
                          "a power of two from 4 up (16, 32, 64, ...)")
decay_start_type = checked(float, lambda x: 0 <= x <= 1, "in [0, 1] (1: no decay)")
DECAY_START_HELP = ("share of --steps at constant lr; then it falls linearly to 0 at the last "
                    "step (0.5, as the paper; 1: constant)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train Pix2Pix on cat faces "
                                            "(docs/14_image_to_image.md).")
    # Every default is None here, so `resolve_run_config` can tell what was typed.
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--data", help="a folder of images (default: the built-in procedural cats)")
    p.add_argument("--task", choices=["edges", "grayscale"],
                   help="the input: edge drawings (default) or grey images")
    p.add_argument("--image-size", type=image_size_type, help="32 on cpu, 64 on cuda")
    p.add_argument("--num-images", type=positive_int,
                   help="procedural cats to draw (4000 on cpu), or use only N --data images")
    p.add_argument("--steps", type=positive_int, help="training steps in total (3000 on cpu)")
    p.add_argument("--batch-size", type=positive_int, help="16")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate (2e-4, as the paper)")
    p.add_argument("--beta1", type=fraction, help="Adam beta1 (0.5)")
    p.add_argument("--decay-start", type=decay_start_type, help=DECAY_START_HELP)
    p.add_argument("--ngf", type=positive_int, help="generator width")
    p.add_argument("--ndf", type=positive_int, help="discriminator width")
    p.add_argument("--l1-weight", type=positive_float, help="lambda of the L1 term (100)")
    p.add_argument("--loss", choices=["ns", "lsgan", "hinge"], help="GAN loss (ns)")
    p.add_argument("--patch-layers", type=positive_int,
                   help="PatchGAN depth: 1, 2, 3 = 16, 34, 70 pixel patches "
                        "(default: about half the image)")
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None,
                   help="no random left-right flips")
    p.add_argument("--seed", type=non_negative_int, help="seeds everything (0)")
    p.add_argument("--out", help="output folder (default: runs/pix2pix)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--sample-every", type=positive_int, help="steps between grids (~20 per run)")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="steps between checkpoints (~10 per run)")
    return p.parse_args(argv)


def split_held_out(images, what, prog=PROG):
    """(training images, the HELD_OUT last ones for the grid); refuses too few images."""
    if len(images) <= HELD_OUT:
        raise SystemExit(f"{prog}: error: {len(images)} {what}: more than {HELD_OUT} needed "
                         f"({HELD_OUT} are held out for the progress grid)")
    return images[:-HELD_OUT], images[-HELD_OUT:]


def lr_decay(config, *optimizers):
    """The papers' schedule for each optimizer (`minigan.gan.linear_decay`): the lr stays
    for the --decay-start share of --steps, then falls linearly to 0. None at 1, nor for a
    checkpoint older than the flag (its config has no decay_start: it ran at a constant lr)."""
    decay_start = config.get("decay_start", 1.0)
    if decay_start >= 1:
        return []
    factor = linear_decay(config["steps"], decay_start)
    return [optim.lr_scheduler.LambdaLR(opt, factor) for opt in optimizers]


def build(config, images):
    """Pairs, models, optimizers, the trainer and the batches, all seeded from config."""
    make_inputs = edge_maps if config["task"] == "edges" else grayscale
    train_images, shown = split_held_out(images, "images")
    if len(train_images) < config["batch_size"]:
        raise SystemExit(f"{PROG}: error: --batch-size {config['batch_size']} is more than the "
                         f"{len(train_images)} training images")
    minigan.manual_seed(config["seed"])  # layer initialisation draws from minigan's generator
    size, device = config["image_size"], config["device"]
    G = UNetGenerator(ngf=config["ngf"], image_size=size)
    D = PatchGANDiscriminator(3, ndf=config["ndf"], condition_channels=3,
                              n_layers=config["patch_layers"] or patch_layers_for(size))
    for net in (G, D):
        net.apply(dcgan_init)  # N(0, 0.02), as the paper
        net.to(device)
    betas = (config["beta1"], 0.999)
    # the held-out pairs as one batch, in order, unflipped
    sample_pairs = next(iter(PairedBatches(make_inputs(shown), shown, HELD_OUT, shuffle=False,
                                           device=device)))
    g_opt = optim.Adam(G.parameters(), lr=config["lr"], betas=betas)
    d_opt = optim.Adam(D.parameters(), lr=config["lr"], betas=betas)
    trainer = Pix2PixTrainer(G, D, g_opt, d_opt, sample_pairs=sample_pairs,
                             l1_weight=config["l1_weight"], objective=config["loss"],
                             lr_schedulers=lr_decay(config, g_opt, d_opt))
    batches = PairedBatches(make_inputs(train_images), train_images, config["batch_size"],
                            seed=config["seed"], flip=config["flip"], device=device,
                            preload=device != "cpu" and 2 * train_images.nbytes < 2**31)
    return trainer, batches


def train(config, resume=False, callback=None):
    """Run (or continue) the training described by ``config``; returns the summary dict."""
    images = load_images(config)  # first: a bad --data stops the run before it writes files
    source = f"images from {config['data']}" if config.get("data") else "procedural cats"
    trainer, batches = build(config, images)
    print(f"Pix2Pix ({config['task']} -> colour) on {len(images) - HELD_OUT} {source} "
          f"({config['image_size']}x{config['image_size']}) on {config['device']}: "
          f"G {_count(trainer.G)} and D {_count(trainer.D)} parameters, patches of "
          f"{trainer.D.receptive_field} pixels, {config['steps']} steps of batch "
          f"{config['batch_size']} -> {config['out']}")
    summary = run_training(trainer, batches, config["steps"], config["out"], config,
                           resume=resume, callback=callback, title="Pix2Pix",
                           images_per_step=config["batch_size"],
                           facts={"num_images_used": int(len(images)) - HELD_OUT})
    print(summary["message"] or summary["status"])
    return summary


def main(argv=None, callback=None):
    args = parse_args(argv)
    config = resolve_run_config(args, PROG, COMMON_DEFAULTS, CPU_DEFAULTS, GPU_DEFAULTS)
    return train(config, resume=args.resume, callback=callback)


if __name__ == "__main__":
    sys.exit(EXIT_CODES[main()["status"]])
