"""Neural style transfer on a cat (Gatys et al. 2016): optimise the pixels of an image so a
fixed network sees one cat's content and another image's style in it.

    python examples/cats_style_transfer.py                 # a real cat in a drawn cat's style
    python examples/cats_style_transfer.py --content my_cat.jpg --style painting.png
    python examples/cats_style_transfer.py --features classifier --classifier runs/classifier/classifier.npz

Content: ``--content`` (any image file), else the first photo of ``--data`` (default
../shared/data/cats64, when it is there), else a procedural cat. Style: ``--style``, else a
procedural cat (flat cartoon colours, outlines): the photo should come out looking drawn.
Features: a network with random weights (``--features random``, the default; random
convolutions already see textures), or the cat-attribute classifier trained by
examples/cats_classifier.py. ``--out`` (default runs/style) receives ``result.png``,
``comparison.png`` (content | style | result), ``progress.png`` (the image every
``--steps``/8 steps) and ``losses.csv``. See docs/15_style_transfer.md.
"""
import argparse
import csv
import os
import sys

import minigan
from minigan import backend
from minigan.backend import np
from minigan.data import procedural_cats
from minigan.data.image_folder import _find_images, load_image
from minigan.gan import RandomFeatures, transfer_style
from minigan.metrics import load_cat_classifier
from minigan.utils import save_image
from minigan.utils.cli import non_negative_int, positive_float, positive_int
from minigan.utils.io import atomic_open

SHARED_CATS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                           "data", "cats64")
PROG = os.path.basename(__file__)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Style transfer on a cat (docs/15_style_transfer.md)")
    p.add_argument("--content", help="content image file (default: a cat from --data)")
    p.add_argument("--style", help="style image file (default: a procedural cat)")
    p.add_argument("--data", default=SHARED_CATS, help="folder whose first image is the content")
    p.add_argument("--image-size", type=positive_int, default=64)
    p.add_argument("--features", choices=["random", "classifier"], default="random")
    p.add_argument("--classifier", help="checkpoint of examples/cats_classifier.py")
    p.add_argument("--steps", type=positive_int, default=300)
    p.add_argument("--lr", type=positive_float, default=0.02)
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=1e6)
    p.add_argument("--tv-weight", type=float, default=0.5)
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seeds the random network's weights")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="runs/style")
    return p.parse_args(argv)


def as_tensor(image, device):
    """uint8 H x W x 3 -> float32 (1, 3, H, W) in [-1, 1] on ``device``."""
    x = image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0
    return minigan.Tensor(backend.to_device(x, device))


def content_image(args):
    if args.content:
        return load_image(args.content, args.image_size)
    if args.data and os.path.isdir(args.data):
        first = _find_images(args.data)[0]
        return load_image(os.path.join(args.data, first), args.image_size)
    print(f"no --content and no folder {args.data}: the content is a procedural cat")
    return procedural_cats(1, args.image_size, seed=1)[0]


def style_image(args):
    if args.style:
        return load_image(args.style, args.image_size)
    return procedural_cats(1, args.image_size, seed=0)[0]


def feature_extractor(args):
    if args.features == "random":
        minigan.manual_seed(args.seed)
        return RandomFeatures()
    if not args.classifier:
        raise SystemExit(f"{PROG}: error: --features classifier needs --classifier PATH")
    return load_cat_classifier(args.classifier)


def main(argv=None):
    args = parse_args(argv)
    device = backend.parse_device(args.device)
    os.makedirs(args.out, exist_ok=True)
    content = as_tensor(content_image(args), device)
    style = as_tensor(style_image(args), device)
    extractor = feature_extractor(args).to(device)
    frames, every = [], max(1, args.steps // 8)

    def report(step, log, image):
        if step == 1 or step % every == 0:
            with backend.device_context(device):  # a copy: the optimizer changes the image
                frames.append(minigan.Tensor(image.data.copy()))
        if step % 50 == 0 or step == args.steps:
            print(f"step {step}: loss {log['loss']:.4g} (content {log['content']:.3g}, "
                  f"style {log['style']:.3g}, tv {log['tv']:.3g})")

    try:
        result, history = transfer_style(
            content, style, extractor, steps=args.steps, lr=args.lr,
            content_weight=args.content_weight, style_weight=args.style_weight,
            tv_weight=args.tv_weight, callback=report)
    except FloatingPointError as error:  # nothing worth saving: the image would be NaN
        raise SystemExit(f"{PROG}: {error}")
    save_image(minigan.ops.concat(frames, 0), os.path.join(args.out, "progress.png"), nrow=None)
    save_image(result, os.path.join(args.out, "result.png"), nrow=1)
    save_image(minigan.ops.concat([content, style, result], 0),
               os.path.join(args.out, "comparison.png"), nrow=3)
    with atomic_open(os.path.join(args.out, "losses.csv"), "w") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    first, last = history[0], history[-1]
    print(f"loss {first['loss']:.4g} -> {last['loss']:.4g} in {args.steps} steps; see "
          f"{args.out}/comparison.png (content | style | result)")
    return {"result": result, "history": history}


if __name__ == "__main__":
    main()
    sys.exit(0)
