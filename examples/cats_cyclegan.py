"""CycleGAN on cat faces: procedural cats <-> cat photos, with no pairs between them
(docs/14_image_to_image.md).

    python examples/cats_cyclegan.py --data ../shared/data/cats64               # CPU
    python examples/cats_cyclegan.py --data ../shared/data/cats64 --device cuda # 64x64
    python examples/cats_cyclegan.py --data ../shared/data/cats64 --resume

Domain A is the built-in procedural cats (`minigan.data.procedural_cats`), domain B the
folder given by --data (any photos of cat faces), both through the cat DCGAN's loader
(`examples/cats_dcgan.py`). The last 8 images of each domain are held out; the progress grid
shows them in two bands: a, G_AB(a), G_BA(G_AB(a)) (drawing -> photo -> drawing), then
b, G_BA(b), G_AB(G_BA(b)) (photo -> drawing -> photo). As in the paper, the learning rate
stays at --lr for the first half of --steps, then falls linearly to 0 (--decay-start).

Outputs, checkpoints, --resume, Ctrl-C and NaN handling: `minigan.gan.loop.run_training`
(docs/09_training_cats.md).
"""
import argparse
import os
import sys

import minigan
from minigan import optim
from minigan.data import ImageBatches, UnpairedBatches
from minigan.gan import CycleGANTrainer, PatchGANDiscriminator, ResnetGenerator, dcgan_init
from minigan.gan.loop import EXIT_CODES, resolve_run_config, run_training
from minigan.gan.models import patch_layers_for
from minigan.utils.cli import checked, fraction, non_negative_int, positive_float, positive_int

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from examples.cats_dcgan import load_images, _count  # noqa: E402  (the cats' data handling)
from examples.cats_pix2pix import DECAY_START_HELP, decay_start_type, lr_decay  # noqa: E402

# CPU: 32x32, narrow generators with 4 residual blocks, batch 4 (the paper uses 1): 0.37 s of
# CPU time per step (20 steps timed on one core, CycleGANTrainer alone), 1,800 steps in about
# 11 minutes. GPU: 64x64, the paper's widths and its 6 blocks (for 128x128 images).
CPU_DEFAULTS = dict(image_size=32, ngf=16, ndf=32, n_blocks=4, batch_size=4, num_images=2000,
                    steps=1800)
GPU_DEFAULTS = dict(image_size=64, ngf=64, ndf=64, n_blocks=6, batch_size=4, num_images=2000,
                    steps=20000)
COMMON_DEFAULTS = dict(lr=2e-4, beta1=0.5, decay_start=0.5, cycle_weight=10.0,
                       identity_weight=0.5, pool_size=50, patch_layers=None, flip=True, seed=0,
                       data=None, out="runs/cyclegan")
SHOWN = 8  # images of each domain held out for the progress grid
PROG = os.path.basename(__file__)

size_type = checked(int, lambda n: n >= 8 and n % 4 == 0, "a multiple of 4 from 8 up")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train CycleGAN between procedural cats and cat "
                                            "photos (docs/14_image_to_image.md).")
    # Every default is None here, so `resolve_run_config` can tell what was typed.
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--data", help="a folder of cat photos: domain B (required)")
    p.add_argument("--image-size", type=size_type, help="32 on cpu, 64 on cuda")
    p.add_argument("--num-images", type=positive_int,
                   help="procedural cats to draw for domain A (2000)")
    p.add_argument("--steps", type=positive_int, help="training steps in total (1800 on cpu)")
    p.add_argument("--batch-size", type=positive_int, help="4")
    p.add_argument("--lr", type=positive_float, help="Adam learning rate (2e-4, as the paper)")
    p.add_argument("--beta1", type=fraction, help="Adam beta1 (0.5)")
    p.add_argument("--decay-start", type=decay_start_type, help=DECAY_START_HELP)
    p.add_argument("--ngf", type=positive_int, help="generator width")
    p.add_argument("--ndf", type=positive_int, help="discriminator width")
    p.add_argument("--n-blocks", type=positive_int, help="residual blocks per generator")
    p.add_argument("--cycle-weight", type=positive_float, help="lambda of the cycle loss (10)")
    p.add_argument("--identity-weight", type=checked(float, lambda x: x >= 0, "0 or more"),
                   help="identity loss weight, relative to lambda (0.5; 0: off)")
    p.add_argument("--pool-size", type=non_negative_int,
                   help="generated images in each history buffer (50; 0: off)")
    p.add_argument("--patch-layers", type=positive_int,
                   help="PatchGAN depth: 1, 2, 3 = 16, 34, 70 pixel patches")
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None,
                   help="no random left-right flips")
    p.add_argument("--seed", type=non_negative_int, help="seeds everything (0)")
    p.add_argument("--out", help="output folder (default: runs/cyclegan)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--sample-every", type=positive_int, help="steps between grids (~20 per run)")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="steps between checkpoints (~10 per run)")
    return p.parse_args(argv)


def _held_out(images, what):
    if len(images) < SHOWN + 1:
        raise SystemExit(f"{PROG}: error: {len(images)} {what}: more than {SHOWN} needed "
                         f"({SHOWN} are held out for the progress grid)")
    return images[:-SHOWN], images[-SHOWN:]


def build(config, a_images, b_images):
    """Two generators, two discriminators, their optimizers, the trainer and the batches."""
    (a_train, a_shown), (b_train, b_shown) = (_held_out(a_images, "procedural cats"),
                                              _held_out(b_images, f"images in {config['data']}"))
    batch_size, device = config["batch_size"], config["device"]
    if min(len(a_train), len(b_train)) < batch_size:
        raise SystemExit(f"{PROG}: error: --batch-size {batch_size} is more than the "
                         f"{min(len(a_train), len(b_train))} training images of a domain")
    minigan.manual_seed(config["seed"])  # layer initialisation draws from minigan's generator
    layers = config["patch_layers"] or patch_layers_for(config["image_size"])
    g_ab, g_ba = (ResnetGenerator(ngf=config["ngf"], n_blocks=config["n_blocks"])
                  for _ in range(2))
    d_a, d_b = (PatchGANDiscriminator(3, ndf=config["ndf"], n_layers=layers, norm="instance")
                for _ in range(2))
    for net in (g_ab, g_ba, d_a, d_b):
        net.apply(dcgan_init)  # N(0, 0.02), as the paper
        net.to(device)
    betas = (config["beta1"], 0.999)
    # one optimizer per player: both generators are one player, both discriminators the other
    g_opt = optim.Adam(list(g_ab.parameters()) + list(g_ba.parameters()), lr=config["lr"],
                       betas=betas)
    d_opt = optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr=config["lr"],
                       betas=betas)

    def batches_of(images, size, seed, flip, shuffle=True):
        return ImageBatches(images, size, seed=seed, flip=flip, shuffle=shuffle, device=device,
                            preload=device != "cpu" and images.nbytes < 2**30)

    shown = (next(iter(batches_of(a_shown, SHOWN, 0, False, shuffle=False))),
             next(iter(batches_of(b_shown, SHOWN, 0, False, shuffle=False))))
    trainer = CycleGANTrainer(g_ab, g_ba, d_a, d_b, g_opt, d_opt, sample_batches=shown,
                              cycle_weight=config["cycle_weight"],
                              identity_weight=config["identity_weight"],
                              pool_size=config["pool_size"], seed=config["seed"],
                              lr_schedulers=lr_decay(config, g_opt, d_opt))
    # each domain shuffled by its own seed
    batches = UnpairedBatches(batches_of(a_train, batch_size, config["seed"], config["flip"]),
                              batches_of(b_train, batch_size, config["seed"] + 1,
                                         config["flip"]))
    return trainer, batches


def train(config, resume=False, callback=None):
    """Run (or continue) the training described by ``config``; returns the summary dict."""
    if not config.get("data"):
        raise SystemExit(f"{PROG}: error: --data: give a folder of cat photos for domain B, "
                         f"e.g. --data ../shared/data/cats64")
    a_images = load_images({**config, "data": None})  # the procedural cats
    b_images = load_images({**config, "num_images": None})  # every image of the folder
    trainer, batches = build(config, a_images, b_images)
    nets = trainer.networks()
    print(f"CycleGAN: {len(a_images) - SHOWN} procedural cats <-> {len(b_images) - SHOWN} "
          f"images from {config['data']} ({config['image_size']}x{config['image_size']}) on "
          f"{config['device']}: each G {_count(nets['G_AB'])}, each D {_count(nets['D_A'])} "
          f"parameters, {config['steps']} steps of batch {config['batch_size']} "
          f"-> {config['out']}")
    summary = run_training(trainer, batches, config["steps"], config["out"], config,
                           resume=resume, callback=callback, title="CycleGAN",
                           images_per_step=2 * config["batch_size"],
                           facts={"images_used": [len(a_images) - SHOWN,
                                                  len(b_images) - SHOWN]})
    print(summary["message"] or summary["status"])
    return summary


def main(argv=None, callback=None):
    args = parse_args(argv)
    # --num-images counts domain A's procedural cats; domain B is all of --data
    config = resolve_run_config(args, PROG, COMMON_DEFAULTS, CPU_DEFAULTS, GPU_DEFAULTS,
                                all_of_data=False)
    return train(config, resume=args.resume, callback=callback)


if __name__ == "__main__":
    sys.exit(EXIT_CODES[main()["status"]])
