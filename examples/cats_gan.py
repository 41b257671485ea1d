"""Train any architecture of the GAN zoo on cat faces: one entry point, one spec per family.

    python examples/cats_gan.py --arch resnet                 # SNGAN's ResNet pair, 32x32
    python examples/cats_gan.py --arch sagan --steps 3000 --fid-images 2000
    ../shared/tools/fid.sh runs/cats_sagan/fid_samples        # then score the samples
    python examples/cats_gan.py --arch sagan --resume --steps 4000   # continue that run
    python examples/cats_gan.py --arch biggan --conditional fur      # one class per fur colour

Architectures (``--arch``): dcgan (the baseline of examples/cats_dcgan.py), resnet (SNGAN),
sagan (self-attention), biggan (BigGAN-lite), vit-d (a ViT discriminator against the DCGAN
generator), stylegan, progan, msg. Each is a module in examples/archs/ with its
``DEFAULTS`` (loss, learning rates, Adam betas, widths, ...) and ``build_trainer(config)``;
the flags below override the defaults. The data handling is examples/cats_dcgan.py's (the
built-in procedural cats, or ``--data`` any folder of images), and the loop is
`minigan.gan.loop.run_training`: OUT (default runs/cats_ARCH) receives config.json, sample
grids, final.png, progress.gif, losses.png, metrics.csv and checkpoint.npz; Ctrl-C saves,
``--resume`` continues bit for bit, a NaN stops with a message. ``--fid-images N`` then writes
N samples as separate PNGs to OUT/fid_samples/ for FID. See docs/12_architectures.md.

BigGAN-lite has one class unless ``--conditional ATTRIBUTE`` (biggan only; fur, eyes, pattern,
pose or fur+eyes, the classes of examples/cats_conditional.py): then G's shared class
embedding and D's projection read each procedural cat's class, OUT defaults to
runs/cats_biggan_ATTRIBUTE, config.json lists the classes in order, every grid shows one row
per class (8 samples each, row r: class r), and the FID samples' classes are drawn as often
as in the training cats.
"""
import argparse
import os
import sys

import minigan
from minigan.backend import np
from minigan.data import ImageBatches, procedural_cats
from minigan.gan import OBJECTIVES
from minigan.gan.loop import CHECKPOINT, EXIT_CODES, resolve_run_config, run_training
from minigan.gan.models.biggan import truncated_noise
from minigan.utils import to_uint8_images
from minigan.utils.cli import decay_rate, non_negative_int, positive_float, positive_int

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from examples import cats_conditional, cats_dcgan  # noqa: E402  (the cats' data, classes)
from examples.archs import biggan, dcgan, msg, progan, resnet, sagan, stylegan, vit_d  # noqa: E402

ARCHS = {"dcgan": dcgan, "resnet": resnet, "sagan": sagan, "biggan": biggan, "vit-d": vit_d,
         "stylegan": stylegan, "progan": progan, "msg": msg}
# What every architecture shares; an architecture's DEFAULTS come on top, typed flags last.
COMMON_DEFAULTS = dict(image_size=32, batch_size=64, num_images=4000, steps=1000, seed=0,
                       data=None, flip=False)
PROG = os.path.basename(__file__)  # errors read "cats_gan.py: error: ...", as argparse's do


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train a GAN architecture on cat faces "
                                            "(see docs/12_architectures.md).")
    p.add_argument("--arch", required=True, choices=sorted(ARCHS))
    # Every other default is None here, so `resolve_config` can tell what was typed.
    p.add_argument("--steps", type=positive_int, help="generator updates in total (1000)")
    p.add_argument("--batch-size", type=positive_int, help="(64)")
    p.add_argument("--image-size", type=cats_dcgan.power_of_two_size, help="(32)")
    p.add_argument("--nz", type=positive_int, help="length of z (default: the architecture's)")
    p.add_argument("--ngf", type=positive_int, help="generator width (the architecture's)")
    p.add_argument("--ndf", type=positive_int,
                   help="discriminator width; the token width for vit-d (the architecture's)")
    p.add_argument("--lr-g", type=positive_float, help="G's Adam learning rate (the arch's)")
    p.add_argument("--lr-d", type=positive_float, help="D's Adam learning rate (the arch's)")
    p.add_argument("--loss", choices=sorted(OBJECTIVES), help="GAN objective (the arch's)")
    p.add_argument("--n-critic", type=positive_int, help="D updates per G update (the arch's)")
    p.add_argument("--ema", type=decay_rate, nargs="?", const=0.999, metavar="DECAY",
                   help="sample from an exponential moving average of G (decay 0.999)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--seed", type=non_negative_int,
                   help="seeds initialisation, noise and batch order (0)")
    p.add_argument("--out", help="output folder (default: runs/cats_ARCH, or "
                                 "runs/cats_ARCH_ATTRIBUTE with --conditional)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--data", help="a folder of images (default: the built-in procedural cats)")
    p.add_argument("--num-images", type=positive_int,
                   help="procedural cats to draw (4000), or use only N --data images")
    p.add_argument("--flip", action="store_true", default=None, help="random left-right flips")
    p.add_argument("--conditional", choices=sorted(cats_conditional.CONDITIONS),
                   help="biggan: condition G and D on this attribute of the procedural cats "
                        "(fur: 9 classes, fur+eyes: 54); the grids show one row per class")
    p.add_argument("--sample-every", type=positive_int,
                   help="steps between sample grids (~20 per run)")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="steps between checkpoints (~10 per run)")
    p.add_argument("--fid-images", type=positive_int, metavar="N",
                   help="after training, write N samples as PNGs to OUT/fid_samples/ (2000 is "
                        "what ../shared/tools/fid.sh expects)")
    p.add_argument("--truncation", type=positive_float,
                   help="draw the FID samples' z from a normal truncated at this value "
                        "(BigGAN's truncation trick; default: no truncation)")
    return p.parse_args(argv)


def resolve_config(args):
    """The run's settings: typed flags, then the checkpoint's (with --resume), then the
    architecture's defaults, then `COMMON_DEFAULTS`."""
    if args.conditional and args.arch != "biggan":
        raise SystemExit(f"{PROG}: error: --conditional: only --arch biggan takes class labels "
                         f"here, not --arch {args.arch} (examples/cats_conditional.py trains "
                         f"a conditional DCGAN)")
    out = f"runs/cats_{args.arch}" + (f"_{args.conditional}" if args.conditional else "")
    defaults = {**COMMON_DEFAULTS, **ARCHS[args.arch].DEFAULTS, "out": out}
    config = resolve_run_config(args, PROG, defaults, resumable={"fid_images", "truncation"})
    condition = config.get("conditional")
    if condition:
        if config.get("data"):
            raise SystemExit(f"{PROG}: error: --conditional {condition} needs the procedural "
                             f"cats' labels; the images of --data {config['data']} have none")
        classes = len(cats_conditional.class_names(condition))
        resumed = args.resume and os.path.exists(os.path.join(config["out"], CHECKPOINT))
        if resumed and config["num_classes"] != classes:
            raise SystemExit(f"{PROG}: error: --resume: the run in {config['out']} has "
                             f"{config['num_classes']} classes of {condition}, this version "
                             f"{classes}: start a new run with another --out")
        config["num_classes"] = classes
    return config


def _as_ours(function, *args):
    """Call a helper of cats_dcgan.py, whose errors name that script, naming this one."""
    try:
        return function(*args)
    except SystemExit as error:
        raise SystemExit(str(error).replace(cats_dcgan.PROG, PROG)) from None


def train(config, resume=False, callback=None):
    """Run (or continue) the training described by ``config``; returns run_training's summary."""
    out, arch, condition = config["out"], config["arch"], config.get("conditional")
    labels, facts = None, {}
    if condition:  # the classes of cats_conditional.py
        images, attributes = procedural_cats(config["num_images"], config["image_size"], seed=0,
                                             attributes=True)
        labels = cats_conditional.combined_class(attributes, condition)
        facts["classes"] = cats_conditional.class_names(condition)
        source = f"procedural cats in {config['num_classes']} classes ({condition})"
    else:
        images = _as_ours(cats_dcgan.load_images, config)  # a bad --data stops before any file
        source = f"images from {config['data']}" if config.get("data") else "procedural cats"
    if len(images) < config["batch_size"]:
        raise SystemExit(f"{PROG}: error: --batch-size {config['batch_size']} is more than the "
                         f"{len(images)} {source}: not one full batch")
    trainer = ARCHS[arch].build_trainer(config)
    on_device = config["device"] != "cpu"  # as cats_dcgan.py: the dataset copied over once
    batches = ImageBatches(images, config["batch_size"], seed=config["seed"], flip=config["flip"],
                           device=config["device"], preload=on_device and images.nbytes < 2**31,
                           labels=labels)
    if getattr(ARCHS[arch], "NOTE", None) and not condition:  # biggan's is on one class
        print(f"note: {ARCHS[arch].NOTE}")
    sizes = ", ".join(f"{name} {cats_dcgan._count(net)}"
                      for name, net in trainer.networks().items())
    print(f"{arch} on {len(images)} {source} ({config['image_size']}x{config['image_size']}) on "
          f"{config['device']}: {sizes} parameters, {config['steps']} steps of batch "
          f"{config['batch_size']} -> {out}")
    summary = run_training(trainer, batches, config["steps"], out, config, resume=resume,
                           callback=callback, title=arch,
                           images_per_step=config["batch_size"] * config["n_critic"],
                           facts={"num_images_used": int(len(images)), **facts})
    if summary["status"] == "finished" and config.get("fid_images"):
        folder = os.path.join(out, "fid_samples")
        write_fid_samples(trainer, folder, config["fid_images"], config["seed"],
                          config.get("truncation"), labels=labels)
        summary["fid_samples"] = folder
        print(f"wrote {config['fid_images']} samples to {folder}: score them with "
              f"../shared/tools/fid.sh {folder}")
    print(summary["message"] or summary["status"])
    return summary


def write_fid_samples(trainer, folder, n, seed, truncation=None, chunk=256, labels=None):
    """``n`` samples of G (its EMA copy if there is one) as 000000.png, 000001.png, ...,
    drawn ``chunk`` at a time from their own seeded generator (training randomness untouched).
    A conditional G gets classes drawn from the training ``labels``, so that each class is as
    frequent as among the real cats that FID compares with."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng([seed, 2])
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        if truncation:
            z = truncated_noise(count, trainer.nz, truncation, generator=rng,
                                device=trainer.device, dtype=trainer.dtype)
        else:
            z = minigan.tensor(rng.standard_normal((count, trainer.nz)), dtype=trainer.dtype,
                               device=trainer.device)
        y = None if labels is None else minigan.tensor(rng.choice(labels, count),
                                                       device=trainer.device)
        for i, image in enumerate(to_uint8_images(trainer.sample(z, y))):
            Image.fromarray(image).save(os.path.join(folder, f"{start + i:06d}.png"))


def main(argv=None, callback=None):
    """Parse ``argv`` (default: the command line), train, return the summary."""
    args = parse_args(argv)
    return train(resolve_config(args), resume=args.resume, callback=callback)


if __name__ == "__main__":
    sys.exit(EXIT_CODES[main()["status"]])
