"""DAGAN on few labelled cats, evaluated as in the paper (docs/15_augmentation.md).

    python examples/cats_dagan.py                          # 5 cats per fur colour, 16x16, CPU
    python examples/cats_dagan.py --per-class 10 --image-size 32
    python examples/cats_dagan.py --device cuda            # 32x32, wider nets, longer
    python examples/cats_dagan.py --resume                 # continue the DAGAN in runs/dagan

The test of Antoniou et al. (2017): a classifier that sees only a few labelled images per
class, trained twice with the same settings and the same number of steps,

    without DAGAN   on the few real images only
    with DAGAN      on them plus ``--augment`` DAGAN variations of each (labelled with the
                    class of the image they vary)

and both are scored on ``--test-images`` procedural cats never seen (seed 1). The task is the
cat's fur colour (9 classes; `procedural_cats(..., attributes=True)`), the classifier a small
`CatAttributeClassifier` with one head. Stage 1 trains the DAGAN on the same few cats with the
cat DCGAN's loop (`minigan.gan.loop.run_training`: outputs in ``--out``, checkpoints, --resume,
Ctrl-C and NaN handling); the progress grid shows a row of real cats above rows of
variations. Stage 2 (a minute) writes ``OUT/protocol.json`` and prints
"without DAGAN: a%, with DAGAN: b%".
"""
import argparse
import json
import os
import sys

from tqdm import tqdm

import minigan
from minigan import backend, optim
from minigan.autograd import no_grad
from minigan.backend import np
from minigan.data import ImageBatches, procedural_cats
from minigan.data.cats import CAT_ATTRIBUTES
from minigan.gan import DAGANDiscriminator, DAGANGenerator, DAGANTrainer, dcgan_init
from minigan.gan.loop import EXIT_CODES, resolve_run_config, run_training
from minigan.metrics import CatAttributeClassifier
from minigan.ops import cross_entropy
from minigan.utils.cli import checked, fraction, non_negative_int, positive_float, positive_int
from minigan.utils.images import to_uint8_images
from minigan.utils.io import atomic_open

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# CPU: 16x16 cats (fur colour needs no more), 4,000 DAGAN steps of batch 16 at 0.05 s and two
# classifiers of 600 steps of batch 32 at 0.04 s (200 of each timed on one busy core): about 5 minutes
# with the drawing of the cats. GPU: 32x32 and wider nets.
CPU_DEFAULTS = dict(image_size=16, ngf=16, ndf=16, steps=4000, classifier_steps=600)
GPU_DEFAULTS = dict(image_size=32, ngf=64, ndf=64, steps=10000, classifier_steps=2000)
COMMON_DEFAULTS = dict(per_class=5, test_images=1000, augment=4, nz=32, batch_size=16,
                       classifier_batch_size=32, lr=2e-4, beta1=0.5, classifier_lr=3e-3,
                       classifier_widths=[16, 32, 32], skips=True, loss="ns", seed=0,
                       out="runs/dagan")
ATTRIBUTE = "fur"
PROG = os.path.basename(__file__)

image_size_type = checked(int, lambda n: n >= 8 and n & (n - 1) == 0,
                          "a power of two from 8 up (16, 32, 64, ...)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="DAGAN on few labelled cats, with the paper's "
                                            "classifier test (docs/15_augmentation.md).")
    # Every default is None here, so `resolve_run_config` can tell what was typed.
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--image-size", type=image_size_type, help="16 on cpu, 32 on cuda")
    p.add_argument("--per-class", type=positive_int, help="labelled cats per fur colour (5)")
    p.add_argument("--test-images", type=positive_int, help="held-out cats (1000)")
    p.add_argument("--augment", type=positive_int, help="DAGAN images per real image (4)")
    p.add_argument("--steps", type=positive_int, help="DAGAN training steps in total")
    p.add_argument("--batch-size", type=positive_int, help="DAGAN batch (16)")
    p.add_argument("--nz", type=positive_int, help="noise size (32)")
    p.add_argument("--ngf", type=positive_int, help="generator width")
    p.add_argument("--ndf", type=positive_int, help="discriminator width")
    p.add_argument("--no-skips", dest="skips", action="store_false", default=None,
                   help="a plain encoder-decoder G, without U-Net skips")
    p.add_argument("--loss", choices=["ns", "lsgan", "hinge"], help="GAN loss (ns)")
    p.add_argument("--lr", type=positive_float, help="DAGAN Adam learning rate (2e-4)")
    p.add_argument("--beta1", type=fraction, help="DAGAN Adam beta1 (0.5)")
    p.add_argument("--classifier-steps", type=positive_int, help="steps of each classifier")
    p.add_argument("--classifier-batch-size", type=positive_int, help="32")
    p.add_argument("--classifier-lr", type=positive_float, help="Adam, decayed to 0 (3e-3)")
    p.add_argument("--classifier-widths", type=positive_int, nargs="+",
                   help="channels of the classifier's conv blocks (16 32 32)")
    p.add_argument("--seed", type=non_negative_int, help="seeds everything (0)")
    p.add_argument("--out", help="output folder (default: runs/dagan)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--sample-every", type=positive_int, help="steps between grids (~20 per run)")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="steps between checkpoints (~10 per run)")
    return p.parse_args(argv)


def few_labelled_cats(per_class, size, seed=0):
    """The first ``per_class`` procedural cats (seed ``seed``) of every fur colour, class by
    class: uint8 images (9 * per_class, size, size, 3) and their classes."""
    classes, n = len(CAT_ATTRIBUTES[ATTRIBUTE]), 0
    while True:  # the rarest colour is about 1 cat in 13: draw until every class has enough
        n = max(2 * n, 20 * classes * per_class)
        images, labels = procedural_cats(n, size, seed=seed, attributes=True)
        labels = labels[ATTRIBUTE]
        if np.bincount(labels, minlength=classes).min() >= per_class:
            chosen = np.concatenate([np.flatnonzero(labels == c)[:per_class]
                                     for c in range(classes)])
            return images[chosen], labels[chosen]


def build(config, images, labels):
    """The DAGAN trainer and its batches ((x, index) pairs), all seeded from config."""
    if len(images) < config["batch_size"]:
        raise SystemExit(f"{PROG}: error: --batch-size {config['batch_size']} is more than the "
                         f"{len(images)} labelled images")
    minigan.manual_seed(config["seed"])  # layer initialisation draws from minigan's generator
    size, device = config["image_size"], config["device"]
    G = DAGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=size, skips=config["skips"])
    D = DAGANDiscriminator(ndf=config["ndf"], image_size=size)
    for net in (G, D):
        net.apply(dcgan_init)
        net.to(device)
    betas = (config["beta1"], 0.999)
    trainer = DAGANTrainer(G, D, optim.Adam(G.parameters(), lr=config["lr"], betas=betas),
                           optim.Adam(D.parameters(), lr=config["lr"], betas=betas),
                           images, labels, objective=config["loss"], seed=config["seed"])
    batches = ImageBatches(images, config["batch_size"], seed=config["seed"], flip=True,
                           device=device, labels=np.arange(len(images)))
    return trainer, batches


def train_classifier(config, images, labels):
    """A fresh one-head `CatAttributeClassifier` (the same seed for every call), trained with
    Adam (learning rate decayed linearly to 0) for ``classifier_steps`` steps."""
    minigan.manual_seed(config["seed"] + 1)
    model = CatAttributeClassifier({ATTRIBUTE: CAT_ATTRIBUTES[ATTRIBUTE]},
                                   widths=config["classifier_widths"]).to(config["device"])
    optimizer = optim.Adam(model.parameters(), lr=config["classifier_lr"])
    steps = config["classifier_steps"]
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / steps)
    batch_size = min(config["classifier_batch_size"], len(images))
    batches = ImageBatches(images, batch_size, seed=config["seed"], flip=True,
                           device=config["device"], labels=labels)
    stream = (batch for _ in iter(int, 1) for batch in batches)  # epochs without end
    for _ in tqdm(range(steps), unit="step", leave=False, dynamic_ncols=True):
        x, y = next(stream)
        optimizer.zero_grad()
        cross_entropy(model(x)[ATTRIBUTE], y).backward()
        optimizer.step()
        scheduler.step()
    return model


def accuracy(model, images, labels, device, batch_size=250):
    """The share of ``images`` whose fur colour the model names right (batch norm in eval)."""
    model.eval()
    hits = 0
    with no_grad():
        for x, y in ImageBatches(images, batch_size, shuffle=False, drop_last=False,
                                 device=device, labels=labels):
            hits += int(backend.to_numpy((model(x)[ATTRIBUTE].data.argmax(1) == y.data).sum()))
    return hits / len(images)


def protocol(config, trainer, images, labels):
    """Stage 2: the two classifiers, their held-out accuracies, written to OUT/protocol.json."""
    with backend.device_context(trainer.device):
        generated = to_uint8_images(trainer.augment(trainer.pool, config["augment"]))
    augmented = np.concatenate([images, generated])
    augmented_labels = np.concatenate([labels] * (1 + config["augment"]))
    test_images, test_labels = procedural_cats(config["test_images"], config["image_size"],
                                               seed=1, attributes=True)
    test_labels = test_labels[ATTRIBUTE]
    result = {}
    for name, (x, y) in {"without_dagan": (images, labels),
                         "with_dagan": (augmented, augmented_labels)}.items():
        model = train_classifier(config, x, y)
        result[name] = accuracy(model, test_images, test_labels, config["device"])
    result["majority_class"] = float(np.bincount(test_labels).max() / len(test_labels))
    report = {**result, "real_images": int(len(images)), "generated_images": int(len(generated)),
              "dagan_steps": trainer.step, "settings": config}
    with atomic_open(os.path.join(config["out"], "protocol.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"fur colour on {config['test_images']} held-out cats: without DAGAN: "
          f"{100 * result['without_dagan']:.1f}%, with DAGAN: {100 * result['with_dagan']:.1f}% "
          f"(majority class {100 * result['majority_class']:.1f}%)")
    return report


def main(argv=None, callback=None):
    args = parse_args(argv)
    config = resolve_run_config(args, PROG, COMMON_DEFAULTS, CPU_DEFAULTS, GPU_DEFAULTS)
    images, labels = few_labelled_cats(config["per_class"], config["image_size"])
    trainer, batches = build(config, images, labels)
    print(f"DAGAN on {len(images)} procedural cats ({config['per_class']} per fur colour, "
          f"{config['image_size']}x{config['image_size']}) on {config['device']}: "
          f"{config['steps']} steps of batch {config['batch_size']} -> {config['out']}")
    summary = run_training(trainer, batches, config["steps"], config["out"], config,
                           resume=args.resume, callback=callback, title="DAGAN",
                           images_per_step=config["batch_size"])
    print(summary["message"] or summary["status"])
    if summary["status"] == "finished":
        summary["protocol"] = protocol(config, trainer, images, labels)
    return summary


if __name__ == "__main__":
    sys.exit(EXIT_CODES[main()["status"]])
