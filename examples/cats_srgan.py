"""Super-resolution of cat faces with SRGAN (Ledig et al. 2017): 16x16 in, 64x64 out (x4).

    python examples/cats_srgan.py                       # ~12 min on a CPU
    python examples/cats_srgan.py --device cuda         # the paper's sizes (64 maps, 16 blocks)
    python examples/cats_srgan.py --features random --feature-weight 0.1   # + a feature loss
    python examples/cats_srgan.py --resume              # continue runs/srgan where it stopped

The data are the real cat photos of ``--data`` (default ../shared/data/cats64 when it is there,
else the built-in procedural cats), loaded as examples/cats_dcgan.py loads them; each 64x64
image y is shrunk to x = its 4x4 block means (16x16), and G learns y from x. The last
``--holdout`` images are never trained on: at the end, SRGAN and bicubic upsampling (Pillow,
on the same 16x16 uint8 inputs) are scored on them by PSNR and SSIM (evaluation.json), and
comparison.png shows input | bicubic | SRGAN | original, one row per cat.

The output folder (``--out``, default runs/srgan) also receives what every example's loop
writes (minigan/gan/loop.py): samples/ (rows: input, SRGAN, original), checkpoint.npz, resume,
Ctrl-C, NaN stop, metrics.csv, losses.png, progress.gif. See docs/15_super_resolution.md.
"""
import argparse
import os
import sys

import minigan
from minigan import backend, optim
from minigan.backend import np
from minigan.data import ImageBatches
from minigan.gan import (DCGANDiscriminator, OBJECTIVES, RandomFeatures, SRGANGenerator,
                         SRGANTrainer, dcgan_init)
from minigan.gan.loop import EXIT_CODES, resolve_run_config, run_training, write_json
from minigan.metrics import load_cat_classifier, psnr, ssim
from minigan.utils import resize_images, save_image, to_uint8_images
from minigan.utils.cli import non_negative_int, positive_float, positive_int

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from examples.cats_dcgan import load_images, power_of_two_size  # noqa: E402  (one loader)

SHARED_CATS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                           "data", "cats64")
# CPU: 32 feature maps and 4 residual blocks (the paper: 64 and 16) keep a step near 1.2 s of
# CPU time (20 steps timed pinned to one core), so 600 steps take ~12 minutes, under 15.
CPU_DEFAULTS = dict(nf=32, num_blocks=4, ndf=32, batch_size=16, steps=600, lr=2e-4,
                    input_skip=1)
GPU_DEFAULTS = dict(nf=64, num_blocks=16, ndf=64, batch_size=16, steps=20000, lr=1e-4,
                    input_skip=0)
COMMON_DEFAULTS = dict(image_size=64, scale=4, holdout=200, num_images=None, flip=True,
                       data=os.path.normpath(SHARED_CATS) if os.path.isdir(SHARED_CATS) else None,
                       loss="ns", adversarial_weight=1e-3, features="none", feature_weight=0.1,
                       classifier=None, beta1=0.9, seed=0, out="runs/srgan")
PROG = os.path.basename(__file__)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="SRGAN on cat faces (docs/15_super_resolution.md)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--data", help="a folder of images (default: ../shared/data/cats64 if there, "
                                  "else procedural cats)")
    p.add_argument("--num-images", type=positive_int, help="use only N images (all)")
    p.add_argument("--image-size", type=power_of_two_size, help="high resolution (64)")
    p.add_argument("--scale", type=int, choices=[2, 4, 8], help="upscaling factor (4)")
    p.add_argument("--holdout", type=non_negative_int, help="images kept for evaluation (200)")
    p.add_argument("--steps", type=positive_int, help="G updates (600 on cpu)")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float, help="Adam learning rate (2e-4 cpu, 1e-4 cuda)")
    p.add_argument("--beta1", type=float, help="Adam beta1 (0.9, as the paper)")
    p.add_argument("--nf", type=positive_int, help="G's feature maps (32 cpu, 64 cuda)")
    p.add_argument("--num-blocks", type=positive_int, help="residual blocks (4 cpu, 16 cuda)")
    p.add_argument("--ndf", type=positive_int, help="D's width")
    p.add_argument("--input-skip", type=int, choices=[0, 1],
                   help="1: G adds its output to the bilinearly enlarged input (1 cpu, 0 cuda)")
    p.add_argument("--loss", choices=sorted(OBJECTIVES), help="GAN objective (ns)")
    p.add_argument("--adversarial-weight", type=float, help="weight of G's GAN loss (1e-3)")
    p.add_argument("--features", choices=["none", "random", "classifier"],
                   help="feature loss network (none)")
    p.add_argument("--feature-weight", type=float, help="weight of the feature loss (0.1)")
    p.add_argument("--classifier", help="checkpoint of examples/cats_classifier.py")
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None)
    p.add_argument("--seed", type=non_negative_int)
    p.add_argument("--out", help="output folder (runs/srgan)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--sample-every", type=positive_int)
    p.add_argument("--checkpoint-every", type=positive_int)
    return p.parse_args(argv)


def resolve_config(args):
    """Typed flags, then the checkpoint's settings (with --resume), then the defaults."""
    config = resolve_run_config(args, PROG, COMMON_DEFAULTS, CPU_DEFAULTS, GPU_DEFAULTS)
    if config.get("data") is None and config.get("num_images") is None:
        config["num_images"] = 2000  # procedural cats: as many as the real set has
    return config


def feature_extractor(config):
    if config["features"] == "random":
        return RandomFeatures()
    if config["features"] == "classifier":
        if not config.get("classifier"):
            raise SystemExit(f"{PROG}: error: --features classifier needs --classifier PATH")
        return load_cat_classifier(config["classifier"])
    return None


def split(config, images):
    holdout = config["holdout"]
    if len(images) - holdout < config["batch_size"]:
        raise SystemExit(f"{PROG}: error: {len(images)} images less --holdout {holdout} make no "
                         f"batch of {config['batch_size']}")
    return images[:len(images) - holdout], images[len(images) - holdout:]


def as_batch(images, device):
    """uint8 NHWC -> float32 NCHW in [-1, 1] on ``device``."""
    x = images.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
    return minigan.Tensor(backend.to_device(x, device))


def build(config, train_images, sample_images):
    minigan.manual_seed(config["seed"])
    G = SRGANGenerator(scale=config["scale"], nf=config["nf"], num_blocks=config["num_blocks"],
                       input_skip=bool(config["input_skip"]))
    D = DCGANDiscriminator(ndf=config["ndf"], image_size=config["image_size"])
    D.apply(dcgan_init)
    features = feature_extractor(config)
    device = config["device"]
    for net in (G, D) + ((features,) if features is not None else ()):
        net.to(device)
    betas = (config["beta1"], 0.999)
    trainer = SRGANTrainer(G, D, optim.Adam(G.parameters(), lr=config["lr"], betas=betas),
                           optim.Adam(D.parameters(), lr=config["lr"], betas=betas),
                           scale=config["scale"], adversarial_weight=config["adversarial_weight"],
                           feature_extractor=features, feature_weight=config["feature_weight"],
                           sample_images=as_batch(sample_images, device),
                           objective=config["loss"], seed=config["seed"])
    batches = ImageBatches(train_images, config["batch_size"], seed=config["seed"],
                           flip=config["flip"], device=device, preload=device != "cpu")
    return trainer, batches


def shrink(images, scale):
    """uint8 NHWC -> the means of scale x scale blocks, rounded to uint8: the same box filter
    the trainer applies (avg_pool2d), on the host, as a 16x16 image file would hold it."""
    n, h, w, c = images.shape
    blocks = images.reshape(n, h // scale, scale, w // scale, scale, c).astype(np.float64)
    return np.round(blocks.mean(axis=(2, 4))).astype(np.uint8)


def evaluate(trainer, images, scale, batch_size=50):
    """PSNR and SSIM against the originals: SRGAN and bicubic from the same uint8 inputs."""
    small = shrink(images, scale)
    bicubic = resize_images(small, images.shape[1], resample="bicubic")
    outputs = [to_uint8_images(trainer.super_resolve(as_batch(small[i:i + batch_size],
                                                              trainer.device)))
               for i in range(0, len(small), batch_size)]
    srgan = np.concatenate(outputs)

    def scores(guess):  # uint8 NHWC -> NCHW for the metrics, range 255
        a, b = guess.transpose(0, 3, 1, 2), images.transpose(0, 3, 1, 2)
        return {"psnr": psnr(a, b), "ssim": ssim(a, b)}

    return {"images": int(len(images)), "srgan": scores(srgan), "bicubic": scores(bicubic)}, \
        (small, bicubic, srgan)


def save_comparison(path, images, small, bicubic, srgan, rows=8):
    """One row per cat: the input (pixels repeated), bicubic, SRGAN, the original."""
    scale = images.shape[1] // small.shape[1]
    blocky = small.repeat(scale, axis=1).repeat(scale, axis=2)
    tiles = np.stack([blocky[:rows], bicubic[:rows], srgan[:rows], images[:rows]], 1)
    save_image(tiles.reshape(-1, *images.shape[1:]), path, nrow=4)


def main(argv=None, callback=None):
    args = parse_args(argv)
    config = resolve_config(args)
    images = load_images(config)
    train_images, held_out = split(config, images)
    trainer, batches = build(config, train_images, (held_out if len(held_out) else images)[:8])
    print(f"SRGAN x{config['scale']} on {len(train_images)} images ({len(held_out)} held out) "
          f"on {config['device']}: {config['steps']} steps of batch {config['batch_size']} "
          f"-> {config['out']}")
    summary = run_training(trainer, batches, config["steps"], config["out"], config,
                           resume=args.resume, callback=callback, title="SRGAN",
                           images_per_step=config["batch_size"],
                           facts={"num_images_used": int(len(train_images))})
    if summary["status"] == "finished" and len(held_out):
        result, pictures = evaluate(trainer, held_out, config["scale"])
        write_json(os.path.join(config["out"], "evaluation.json"), result)
        save_comparison(os.path.join(config["out"], "comparison.png"), held_out, *pictures)
        summary["evaluation"] = result
        print(f"on {result['images']} held-out cats: SRGAN PSNR {result['srgan']['psnr']:.2f} dB "
              f"SSIM {result['srgan']['ssim']:.4f}; bicubic PSNR {result['bicubic']['psnr']:.2f} "
              f"dB SSIM {result['bicubic']['ssim']:.4f}")
    print(summary["message"] or summary["status"])
    return summary


if __name__ == "__main__":
    sys.exit(EXIT_CODES[main()["status"]])
