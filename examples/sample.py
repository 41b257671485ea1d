"""Draw new cats from a trained generator.

    python examples/sample.py --checkpoint runs/cats/checkpoint.npz --n 64 --out grid.png
    python examples/sample.py --checkpoint runs/cats/checkpoint.npz --ema --seed 7
    python examples/sample.py --checkpoint runs/cats/checkpoint.npz --n 2000 --png-dir fid/

``--png-dir`` also writes every image as its own PNG file (000000.png, ...): the input of
FID tools such as ``../shared/tools/fid.sh``. Images are drawn 256 at a time.

The checkpoint written by ``examples/cats_dcgan.py`` holds the run's settings, so the
generator is rebuilt with the right size and width; only its weights are loaded. ``--ema``
uses the moving average of the weights (runs trained with ``--ema``), which usually gives
cleaner images. Runs trained with a remedy (``--began``, ``--pack``, ...) have the same
generator; an InfoGAN run's (``--infogan K``) takes z and the codes, drawn at random here.
See docs/09_training_cats.md.
"""
import argparse
import math
import os

from PIL import Image

import minigan
from minigan.backend import DeviceError, np, parse_device
from minigan.gan import DCGANGenerator, sample_codes
from minigan.gan.loop import read_checkpoint
from minigan.utils import save_image, to_uint8_images
from minigan.utils.cli import non_negative_int, positive_int

PROG = os.path.basename(__file__)  # errors read "sample.py: error: ...", as argparse's do


def load_generator(path, ema=False, device="cpu"):
    """The generator of a cats_dcgan checkpoint, in eval mode (batch norm uses its running
    statistics, so each image is independent of the others in its batch)."""
    checkpoint = read_checkpoint(path, PROG, "--checkpoint")
    if "config" not in checkpoint or "trainer" not in checkpoint:
        raise SystemExit(f"{PROG}: error: --checkpoint: {path} is a minigan checkpoint, but "
                         f"not one written by examples/cats_dcgan.py")
    config, state = checkpoint["config"], checkpoint["trainer"]
    if "arch" in config:
        raise SystemExit(f"{PROG}: error: --checkpoint: {path} holds an examples/cats_gan.py "
                         f"--arch {config['arch']} run; sample it with examples/latent.py "
                         f"numbered --checkpoint {path} (its FID samples: cats_gan.py "
                         f"--fid-images N)")
    if ema and state["ema"] is None:
        raise SystemExit(f"{PROG}: error: --ema: {path} has no EMA weights: that run was "
                         f"trained without --ema")
    codes = (config["infogan"] + config["infogan_continuous"]) if config.get("infogan") else 0
    G = DCGANGenerator(nz=config["nz"] + codes, ngf=config["ngf"], image_size=config["image_size"])
    G.load_state_dict(state["ema"] if ema else state["generator"])
    return G.to(device).eval(), config


def main(argv=None):
    p = argparse.ArgumentParser(description="Sample images from a cats_dcgan checkpoint.")
    p.add_argument("--checkpoint", required=True, help="e.g. runs/cats/checkpoint.npz")
    p.add_argument("--n", type=positive_int, default=64, help="how many images (64)")
    p.add_argument("--out", default="samples.png", help="image file for the grid")
    p.add_argument("--ema", action="store_true", help="use the EMA weights")
    p.add_argument("--seed", type=non_negative_int, default=0,  # NumPy refuses -1
                   help="seeds the noise vectors")
    p.add_argument("--nrow", type=positive_int, help="images per row (default: a square grid)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--png-dir", help="also write each image as a PNG file into this folder")
    args = p.parse_args(argv)
    if os.path.splitext(args.out)[1].lower() not in Image.registered_extensions():
        p.error(f"argument --out: {args.out} does not end in an image format, e.g. .png")
    try:
        parse_device(args.device)
    except DeviceError as error:  # unknown, or CUDA without CuPy or a GPU
        p.error(f"argument --device: {error}")
    G, config = load_generator(args.checkpoint, args.ema, args.device)
    rng = np.random.default_rng(args.seed)
    z = rng.standard_normal((args.n, config["nz"]))
    if config.get("infogan"):  # G's input is (z, one-hot categorical code, continuous codes)
        codes = sample_codes(args.n, config["infogan"], config["infogan_continuous"], "float64",
                             generator=rng)[1]
        z = np.concatenate([z, codes.numpy()], axis=1)
    with minigan.no_grad():  # in chunks: 2,000 images at once would hold every activation
        images = np.concatenate([to_uint8_images(G(minigan.tensor(
            z[i:i + 256], dtype="float32", device=args.device))) for i in range(0, args.n, 256)])
    save_image(images, args.out, nrow=args.nrow or math.ceil(math.sqrt(args.n)))
    if args.png_dir:
        os.makedirs(args.png_dir, exist_ok=True)
        for i, image in enumerate(images):
            Image.fromarray(image).save(os.path.join(args.png_dir, f"{i:06d}.png"))
        print(f"wrote {args.n} PNG files to {args.png_dir}")
    print(f"saved {args.n} samples to {args.out}")
    return args.out


if __name__ == "__main__":
    main()
