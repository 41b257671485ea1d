"""A VAE on cat faces, with the DCGAN's generator as its decoder: the GAN's rival, side by side.

    python examples/cats_vae.py                          # 32x32 procedural cats, as cats_dcgan.py
    python examples/cats_vae.py --data ../shared/data/cats64   # real cats, for FID
    python examples/cats_vae.py --device cuda            # 64x64, wider nets, on a GPU
    python examples/cats_vae.py --resume                 # continue runs/vae where it stopped

Same data, sizes and widths as examples/cats_dcgan.py (its loader is imported, not copied), so
the decoder here and the generator there are the same network trained two ways. The output
folder (``--out``, default runs/vae) receives what every example's loop writes
(minigan/gan/loop.py: samples/, final.png, checkpoint.npz, metrics.csv, losses.png,
progress.gif; Ctrl-C, --resume and NaN handling), and at the end:

    reconstructions.png   pairs of rows: 32 training images, then decoder(mu(x)) for each
    fid_samples/          --fid-images N single PNG samples (2,000 by default), for
                          ../shared/tools/fid.sh runs/vae/fid_samples

See docs/15_vae_vs_gan.md.
"""
import argparse
import os
import sys

import minigan
from minigan import backend, optim
from minigan.data import ImageBatches
from minigan.gan import VAE, VAETrainer, dcgan_init
from minigan.gan.loop import EXIT_CODES, resolve_run_config, run_training
from minigan.utils import save_image, to_uint8_images
from minigan.utils.cli import non_negative_int, positive_float, positive_int

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from examples.cats_dcgan import load_images, power_of_two_size  # noqa: E402  (one loader)

# The cats example's sizes (its CPU_DEFAULTS and GPU_DEFAULTS); Adam's usual 1e-3 for a VAE,
# whose loss is a plain likelihood, not a two-player game. CPU steps: a step takes ~0.17 s of
# CPU time (20 steps timed pinned to one core), so 3,000 steps (the budget of the DCGAN whose
# FID ../shared/tools/README.md quotes) take ~9 minutes.
CPU_DEFAULTS = dict(image_size=32, ngf=48, ndf=32, batch_size=64, num_images=4000, steps=3000)
GPU_DEFAULTS = dict(image_size=64, ngf=64, ndf=64, batch_size=128, num_images=20000,
                    steps=5000)
COMMON_DEFAULTS = dict(nz=100, sigma=0.1, lr=1e-3, seed=0, out="runs/vae", flip=False, data=None,
                       fid_images=2000)
PROG = os.path.basename(__file__)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="A VAE on cat faces (docs/15_vae_vs_gan.md)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--data", help="a folder of images (default: the built-in procedural cats)")
    p.add_argument("--image-size", type=power_of_two_size, help="32 on cpu, 64 on cuda")
    p.add_argument("--num-images", type=positive_int)
    p.add_argument("--flip", action="store_true", default=None)
    p.add_argument("--steps", type=positive_int, help="updates in total (3000 on cpu)")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float, help="Adam learning rate (1e-3)")
    p.add_argument("--nz", type=positive_int, help="latent size (100)")
    p.add_argument("--ngf", type=positive_int, help="decoder width (= DCGAN generator's)")
    p.add_argument("--ndf", type=positive_int, help="encoder width (= DCGAN discriminator's)")
    p.add_argument("--sigma", type=positive_float,
                   help="std of the Gaussian likelihood on [-1, 1] pixels (0.1)")
    p.add_argument("--seed", type=non_negative_int)
    p.add_argument("--out", help="output folder (runs/vae)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--sample-every", type=positive_int)
    p.add_argument("--checkpoint-every", type=positive_int)
    p.add_argument("--fid-images", type=non_negative_int,
                   help="PNG samples written to OUT/fid_samples at the end (2000)")
    return p.parse_args(argv)


def build(config, images):
    minigan.manual_seed(config["seed"])
    vae = VAE(nz=config["nz"], ngf=config["ngf"], ndf=config["ndf"],
              image_size=config["image_size"])
    vae.apply(dcgan_init)  # the DCGAN initialisation, as its generator gets in cats_dcgan.py
    vae.to(config["device"])
    trainer = VAETrainer(vae, optim.Adam(vae.parameters(), lr=config["lr"]),
                         sigma=config["sigma"], seed=config["seed"], num_samples=64)
    on_device = config["device"] != "cpu"
    batches = ImageBatches(images, config["batch_size"], seed=config["seed"], flip=config["flip"],
                           device=config["device"], preload=on_device and images.nbytes < 2**31)
    return trainer, batches


def save_reconstructions(trainer, images, path, n=32, columns=8):
    """Rows of originals, each followed by the row of their reconstructions."""
    x = images[:n]
    tensor = minigan.Tensor(backend.to_device(x.transpose(0, 3, 1, 2) / 127.5 - 1.0,
                                              trainer.device, trainer.dtype))
    again = to_uint8_images(trainer.reconstruct(tensor))
    rows = [part for i in range(0, len(x), columns) for part in (x[i:i + columns],
                                                                 again[i:i + columns])]
    save_image(backend.np.concatenate(rows), path, nrow=columns)


def save_fid_samples(trainer, n, folder, batch_size=250, seed=1):
    """``n`` decoded samples as single PNG files (the FID tool reads a folder of images),
    from a generator of their own, so writing them changes no training randomness."""
    os.makedirs(folder, exist_ok=True)
    rng = minigan.random.Generator(trainer.device).manual_seed(seed)
    for start in range(0, n, batch_size):
        z = minigan.randn(min(batch_size, n - start), trainer.nz, dtype=trainer.dtype,
                          device=trainer.device, generator=rng)
        for i, image in enumerate(to_uint8_images(trainer.sample(z))):
            save_image(image[None], os.path.join(folder, f"{start + i:05d}.png"), nrow=1,
                       padding=0)


def main(argv=None, callback=None):
    args = parse_args(argv)
    config = resolve_run_config(args, PROG, COMMON_DEFAULTS, CPU_DEFAULTS, GPU_DEFAULTS,
                                resumable={"fid_images"})
    images = load_images(config)
    if len(images) < config["batch_size"]:
        raise SystemExit(f"{PROG}: error: --batch-size {config['batch_size']} is more than the "
                         f"{len(images)} images")
    trainer, batches = build(config, images)
    size = config["image_size"]
    print(f"VAE on {len(images)} images ({size}x{size}) on {config['device']}: "
          f"{config['steps']} steps of batch {config['batch_size']} -> {config['out']}")
    summary = run_training(trainer, batches, config["steps"], config["out"], config,
                           resume=args.resume, callback=callback, title="VAE",
                           images_per_step=config["batch_size"],
                           facts={"num_images_used": int(len(images))})
    if summary["status"] == "finished":
        save_reconstructions(trainer, images[::max(1, len(images) // 32)],
                             os.path.join(config["out"], "reconstructions.png"))
        if config["fid_images"]:
            folder = os.path.join(config["out"], "fid_samples")
            save_fid_samples(trainer, config["fid_images"], folder)
            print(f"{config['fid_images']} samples in {folder}: ../shared/tools/fid.sh {folder}")
    print(summary["message"] or summary["status"])
    return summary


if __name__ == "__main__":
    sys.exit(EXIT_CODES[main()["status"]])
