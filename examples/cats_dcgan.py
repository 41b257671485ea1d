"""Train a DCGAN on cat faces: the whole job, from images to sample grids and checkpoints.

    python examples/cats_dcgan.py                     # built-in procedural cats, ~5 min on a CPU
    python examples/cats_dcgan.py --device cuda       # 64x64, the DCGAN paper's recipe, on a GPU
    python examples/cats_dcgan.py --data ~/cats --flip   # any folder of images
    python examples/cats_dcgan.py --resume            # continue runs/cats where it stopped
    python examples/cats_dcgan.py --began 0.5         # a remedy for mode collapse (at most one)

With no arguments it uses the GPU when CuPy sees one, else the CPU, and picks settings for
that device (`CPU_DEFAULTS`, `GPU_DEFAULTS`); every flag overrides them. The output folder
(``--out``, default ``runs/cats``) receives:

    config.json        the settings of the run
    samples/           a grid of the same 64 noise vectors every --sample-every steps
    final.png          the last grid;  progress.gif: all grids as an animation
    interpolation.png  walks between random points of the latent space, one per row
    losses.png         G and D losses and D's outputs against the step;  metrics.csv: the numbers
    checkpoint.npz     models, optimizers, EMA weights, step and random states (for --resume
                       and examples/sample.py), written atomically
    cache/             the drawn or decoded images, so the next run starts at once

Ctrl-C finishes the current step, saves a checkpoint and stops; ``--resume`` then continues
bit for bit as if never stopped. A NaN or infinite loss stops the run with a message and
leaves the last good checkpoint in place. See docs/09_training_cats.md.
"""
import argparse
import hashlib
import inspect
import os
import sys

import minigan
import minigan.data.cats
from minigan import optim
from minigan.backend import np
from minigan.data import ImageBatches, load_image_folder, procedural_cats
from minigan.gan import (OBJECTIVES, ConvAutoencoderDiscriminator, DCGANDiscriminator,
                         DCGANGenerator, InfoGANTrainer, PackedDiscriminator, QHead, dcgan_init,
                         sample_codes)
from minigan.gan.loop import EXIT_CODES, resolve_run_config, run_training
from minigan.gan.remedies import REMEDIES, chosen_remedies, make_trainer
from minigan.utils import atomic_savez, save_image
from minigan.utils.cli import (checked, decay_rate, fraction, non_negative_float, non_negative_int,
                               positive_float, positive_int)

# The GPU settings are the DCGAN paper's: 64x64, width 64, batch 128, Adam lr 2e-4. The CPU
# ones were tuned to draw clear cats in about 5 minutes on 2 cores (docs/09_training_cats.md):
# 32x32 images, narrow networks (a step costs ~width^2), a dataset drawn in seconds, and twice
# the paper's learning rate, because the run has only 1,000 steps to get somewhere.
CPU_DEFAULTS = dict(image_size=32, ngf=48, ndf=32, batch_size=64, num_images=4000, steps=1000,
                    lr=4e-4)
GPU_DEFAULTS = dict(image_size=64, ngf=64, ndf=64, batch_size=128, num_images=20000, epochs=25,
                    lr=2e-4)
COMMON_DEFAULTS = dict(beta1=0.5, nz=100, loss="ns", seed=0, out="runs/cats", flip=False,
                       ema=None, data=None, n_critic=None)
INFOGAN_CONTINUOUS = 2  # InfoGAN's continuous codes, besides the categorical one (--infogan K)
PROG = os.path.basename(__file__)  # errors read "cats_dcgan.py: error: ...", as argparse's do


# ----------------------------------------------------------------------------- settings
# DCGAN doubles 4x4 up to the image size, the output layer at least once: the sizes
# DCGANGenerator accepts (minigan/gan/models/dcgan.py).
power_of_two_size = checked(int, lambda n: n >= 8 and n & (n - 1) == 0,
                            "a power of two from 8 up (8, 16, 32, 64, 128, ...)")
diversity_ratio = checked(float, lambda g: 0 < g <= 1, "in (0, 1], e.g. 0.5")  # BEGAN's gamma
chain_length = checked(int, lambda t: t >= 5, "an integer >= 5 (Diffusion-GAN's T_min)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train a DCGAN on cat faces "
                                            "(see docs/09_training_cats.md).")
    # Every default is None here, so `resolve_config` can tell what was typed.
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--data", help="a folder of images (default: the built-in procedural cats)")
    p.add_argument("--image-size", type=power_of_two_size,
                   help="a power of two >= 8 (default: 32 on cpu, 64 on cuda)")
    p.add_argument("--flip", action="store_true", default=None, help="random left-right flips")
    p.add_argument("--num-images", type=positive_int,
                   help="procedural cats to draw (4000 on cpu), or use only N --data images")
    p.add_argument("--steps", type=positive_int, help="generator updates in total (1000 on cpu)")
    p.add_argument("--epochs", type=positive_int, help="passes over the data (instead of --steps)")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float,
                   help="Adam learning rate (4e-4 on cpu, 2e-4 on cuda)")
    p.add_argument("--lr-g", type=positive_float, help="G's learning rate (default: --lr)")
    p.add_argument("--lr-d", type=positive_float,
                   help="D's learning rate (default: --lr); two time scales (TTUR)")
    p.add_argument("--beta1", type=fraction, help="Adam beta1 (0.5, as DCGAN)")
    p.add_argument("--nz", type=positive_int, help="length of the noise vector z (100)")
    p.add_argument("--ngf", type=positive_int, help="generator width")
    p.add_argument("--ndf", type=positive_int, help="discriminator width")
    p.add_argument("--loss", choices=sorted(OBJECTIVES), help="GAN objective (default: ns)")
    p.add_argument("--n-critic", type=positive_int,
                   help="D updates per G update (1; 5 for wgan, wgan-gp, mmd)")
    p.add_argument("--r1", type=non_negative_float, metavar="GAMMA",
                   help="R1 penalty weight on real data (e.g. with --loss logistic)")
    p.add_argument("--r1-interval", type=positive_int, metavar="K",
                   help="lazy R1 (StyleGAN2): R1 every K steps, weighted by K (1)")
    p.add_argument("--d-skip", type=float, metavar="THRESHOLD",
                   help="skip D's update while its loss is below THRESHOLD")
    p.add_argument("--ema", type=decay_rate, nargs="?", const=0.999, metavar="DECAY",
                   help="sample from an exponential moving average of G (decay 0.999)")
    remedy = p.add_argument_group("remedies for mode collapse and energy objectives (at most one;"
                                  " docs/08_gan_objectives.md)")
    remedy.add_argument("--unrolled", type=positive_int, metavar="K",
                        help="Unrolled GAN: G looks K steps of D ahead")
    remedy.add_argument("--unrolled-lr", type=positive_float,
                        help="SGD rate of the unrolled steps (default: D's learning rate)")
    remedy.add_argument("--mode-seeking", type=positive_float, metavar="WEIGHT",
                        help="MSGAN: weight of the mode-seeking loss")
    remedy.add_argument("--infogan", type=positive_int, metavar="K",
                        help=f"InfoGAN: a categorical code of K values and "
                             f"{INFOGAN_CONTINUOUS} continuous ones; Q on D's features")
    remedy.add_argument("--ebgan", type=positive_float, metavar="MARGIN",
                        help="EBGAN with this margin (convolutional autoencoder D)")
    remedy.add_argument("--began", type=diversity_ratio, metavar="GAMMA",
                        help="BEGAN with this diversity ratio (convolutional autoencoder D)")
    remedy.add_argument("--diffusion", type=chain_length, metavar="T_MAX",
                        help="Diffusion-GAN: diffuse D's inputs, T adapted up to T_MAX")
    remedy.add_argument("--pack", type=positive_int, metavar="M",
                        help="PacGAN: D judges M images at once (1: off)")
    p.add_argument("--seed", type=non_negative_int,  # NumPy's generators refuse -1
                   help="seeds initialisation, noise and batch order (0)")
    p.add_argument("--out", help="output folder (default: runs/cats)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--sample-every", type=positive_int,
                   help="steps between sample grids (~20 per run)")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="steps between checkpoints (~10 per run)")
    return p.parse_args(argv)


def resolve_config(args):
    """The run's settings: typed flags, then the checkpoint's (with --resume), then defaults."""
    if args.steps is not None and args.epochs is not None:
        raise SystemExit(f"{PROG}: error: give --steps or --epochs, not both")
    config = resolve_run_config(args, PROG, COMMON_DEFAULTS, CPU_DEFAULTS, GPU_DEFAULTS,
                                resumable={"epochs"})
    if config.get("n_critic") is None:  # the critics' papers: 5 D steps per G step
        config["n_critic"] = 5 if config["loss"] in ("wgan", "wgan-gp", "mmd") else 1
    check_remedy(config, typed_loss=args.loss is not None)
    if config.get("infogan"):  # sample.py rebuilds G from the config
        config["infogan_continuous"] = INFOGAN_CONTINUOUS
    return config


def check_remedy(config, typed_loss):
    """Refuse the combinations that cannot train, before anything is written."""
    def error(message):
        raise SystemExit(f"{PROG}: error: {message}")
    chosen = chosen_remedies(config)
    if len(chosen) > 1:
        error("choose at most one of " + ", ".join("--" + n.replace("_", "-") for n in chosen))
    energy = [f"--{name}" for name in ("ebgan", "began") if config.get(name) is not None]
    if energy and typed_loss:
        error(f"{energy[0]} brings its own losses: drop --loss")
    if config.get("unrolled_lr") and not config.get("unrolled"):
        error("--unrolled-lr needs --unrolled")
    m = config.get("pack") or 1
    if m > 1 and (energy or config.get("infogan")):
        error("--pack works with the DCGAN discriminator's logits only: not with --infogan, "
              "--ebgan or --began")
    if config["batch_size"] % m:
        error(f"--pack {m} needs a batch of whole packs: --batch-size {config['batch_size']} "
              f"is not a multiple of {m}")
    if config.get("mode_seeking") and config["batch_size"] < 2:
        error("--mode-seeking compares two halves of the batch: --batch-size must be >= 2")


# --------------------------------------------------------------------------------- data
def load_images(config):
    """uint8 images N x H x W x 3: the procedural cats, or a folder (decoded once, cached)."""
    size, limit = config["image_size"], config.get("num_images")
    cache_dir = os.path.join(config["out"], "cache")
    if config.get("data"):
        try:
            images = load_image_folder(config["data"], size, cache_dir=cache_dir)
        except (FileNotFoundError, NotADirectoryError, ValueError) as error:
            # a missing folder, a file, no image files, none decodable: the message says which
            raise SystemExit(f"{PROG}: error: --data: {error}")
        return images[:limit] if limit else images
    return _procedural_cats_cached(limit, size, cache_dir)


def _procedural_cats_cached(n, size, cache_dir):
    """Drawing cats takes ~2 ms each; keep them for resumed and repeated runs. The file name
    holds a hash of the drawing code, so a changed drawing is never served from the cache."""
    code = hashlib.sha256(inspect.getsource(minigan.data.cats).encode()).hexdigest()[:12]
    path = os.path.join(cache_dir, f"procedural-cats-{n}-{size}px-{code}.npz")
    if os.path.exists(path):
        try:
            with np.load(path) as saved:
                return saved["images"]
        except Exception:  # a damaged cache file: draw the cats again
            pass
    print(f"drawing {n} procedural cat faces of {size}x{size}...")
    images = procedural_cats(n, image_size=size, seed=0)
    atomic_savez(path, images=images)
    return images


# ----------------------------------------------------------------------------- the run
def build(config, images):
    """Models, optimizers, the trainer and the batch iterator, all seeded from config."""
    minigan.manual_seed(config["seed"])  # layer initialisation draws from minigan's generator
    codes = (config["infogan"] + INFOGAN_CONTINUOUS) if config.get("infogan") else 0
    G = DCGANGenerator(nz=config["nz"] + codes, ngf=config["ngf"], image_size=config["image_size"])
    D = make_discriminator(config)
    G.apply(dcgan_init)
    D.apply(dcgan_init)
    G.to(config["device"])
    D.to(config["device"])
    q_head = make_q_head(config).to(config["device"]) if config.get("infogan") else None
    betas = (config["beta1"], 0.999)
    g_opt = optim.Adam(G.parameters(), lr=config.get("lr_g") or config["lr"], betas=betas)
    d_opt = optim.Adam(D.parameters(), lr=config.get("lr_d") or config["lr"], betas=betas)
    trainer = make_trainer(G, D, g_opt, d_opt, objective=config["loss"], q_head=q_head,
                           unrolled_lr=config.get("unrolled_lr"),
                           **{name: config.get(name) for name in REMEDIES},
                           n_critic=config["n_critic"], r1_gamma=config.get("r1") or 0.0,
                           r1_interval=config.get("r1_interval") or 1,
                           d_skip_below=config.get("d_skip"), ema_decay=config["ema"],
                           seed=config["seed"], num_samples=64)
    # On a GPU (or "strict", its CPU stand-in in tests) the uint8 dataset is copied over once,
    # and batches are cut, flipped and scaled on the device.
    on_device = config["device"] != "cpu"
    batches = ImageBatches(images, config["batch_size"], seed=config["seed"], flip=config["flip"],
                           device=config["device"], preload=on_device and images.nbytes < 2**31)
    return trainer, batches


def make_q_head(config):
    """InfoGAN's Q: it reads D's last feature maps, (ndf * size/8, 4, 4)."""
    features = config["ndf"] * config["image_size"] // 8 * 16
    return QHead(features, config["infogan"], INFOGAN_CONTINUOUS)


def make_discriminator(config):
    """The DCGAN discriminator; for EBGAN and BEGAN a convolutional autoencoder of the same
    width (energies, not logits: p = 2 for EBGAN, p = 1 for BEGAN, code 64 as BEGAN's);
    for PacGAN one that takes M images stacked along the channels; for MMD-GAN one with nz
    outputs, the critic features f(x) its kernel compares (Li et al. 2017's k = nz: a single
    output, shrunk by the weight clipping to about 1e-3, is invisible to kernel widths 1-16)."""
    size, width = config["image_size"], config["ndf"]
    if config.get("ebgan") is not None or config.get("began") is not None:
        return ConvAutoencoderDiscriminator(size, 3, width, code_features=64,
                                            p=2 if config.get("ebgan") is not None else 1)
    m = config.get("pack") or 1
    D = DCGANDiscriminator(ndf=width, image_size=size, channels=3 * m,
                           out_features=config["nz"] if config["loss"] == "mmd" else 1)
    return PackedDiscriminator(D, m) if m > 1 else D


def total_steps(config, batches):
    if config.get("steps") is not None:
        return config["steps"]
    # at least one: an epoch shorter than n_critic batches still trains
    return max(1, config["epochs"] * len(batches) // config["n_critic"])


def train(config, resume=False, callback=None):
    """Run (or continue) the training described by ``config``; returns a summary dict.

    ``callback(trainer, log)``, if given, runs after every step (tests use it to interrupt).
    """
    out = config["out"]
    images = load_images(config)  # first: a bad --data stops the run before it writes files
    source = f"images from {config['data']}" if config.get("data") else "procedural cats"
    if len(images) < config["batch_size"]:
        raise SystemExit(f"{PROG}: error: --batch-size {config['batch_size']} is more than the "
                         f"{len(images)} {source}: not one full batch")
    trainer, batches = build(config, images)
    steps = total_steps(config, batches)
    print(f"DCGAN on {len(images)} {source} ({config['image_size']}x{config['image_size']}) on "
          f"{config['device']}: G {_count(trainer.G)} and D {_count(trainer.D)} parameters, "
          f"{steps} steps of batch {config['batch_size']} -> {out}")
    summary = run_training(trainer, batches, steps, out, config, resume=resume, callback=callback,
                           title="DCGAN", images_per_step=config["batch_size"] * config["n_critic"],
                           facts={"num_images_used": int(len(images))})
    if summary["status"] == "finished":
        save_interpolation(trainer, os.path.join(out, "interpolation.png"), config["seed"])
    print(summary["message"] or summary["status"])
    return summary


# ------------------------------------------------------------------------------ outputs
def slerp(z0, z1, t):
    """Spherical interpolation. z ~ N(0, I) in many dimensions lies near a sphere of radius
    sqrt(nz); the straight line between two such points dips inside it, where G never
    looked during training, while the arc stays on it (White 2016)."""
    cos = np.sum(z0 * z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def save_interpolation(trainer, path, seed, rows=6, columns=10):
    """Each row walks from one random z to another: smooth changes mean G learned a
    continuous map, not a lookup table of training images."""
    rng = np.random.default_rng([seed, 1])  # its own generator: training randomness untouched
    codes = None
    if isinstance(trainer, InfoGANTrainer):  # one code per row: the walk changes z only
        k, c = trainer.Q.num_categories, trainer.Q.num_continuous
        codes = np.repeat(sample_codes(rows, k, c, "float64", generator=rng)[1].numpy(),
                          columns, axis=0)
    ends = rng.standard_normal((rows, 2, trainer.nz - (0 if codes is None else codes.shape[1])))
    z = np.stack([slerp(a, b, t) for a, b in ends for t in np.linspace(0, 1, columns)])
    if codes is not None:
        z = np.concatenate([z, codes], axis=1)
    noise = minigan.tensor(z, dtype=trainer.dtype, device=trainer.device)
    save_image(trainer.sample(noise), path, nrow=columns)


def _count(model):
    n = sum(p.size for p in model.parameters())
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n / 1e3:.1f}k"


def main(argv=None, callback=None):
    """Parse ``argv`` (default: the command line), train, return the summary."""
    args = parse_args(argv)
    config = resolve_config(args)
    return train(config, resume=args.resume, callback=callback)


if __name__ == "__main__":
    result = main()
    sys.exit(EXIT_CODES[result["status"]])
