"""Conditional GANs on procedural cats: ask for a fur and eye colour, get that cat.

    python examples/cats_conditional.py                        # CGAN, fur x eye colour, 32x32
    python examples/cats_conditional.py --projection           # ... with a projection D
    python examples/cats_conditional.py --model acgan          # ACGAN: D names the class
    python examples/cats_conditional.py --condition fur        # one attribute (9 classes)
    python examples/cats_conditional.py --device cuda          # 64x64, wider, longer
    python examples/cats_conditional.py --resume               # continue where it stopped

The classes come from `procedural_cats(..., attributes=True)`. ``--condition fur+eyes`` (the
default) conditions on the combined class fur x eye colour: 9 x 6 = 54 classes, class
``fur_index * 6 + eye_index``; ``--condition fur`` (or eyes, pattern, pose) on one attribute.
Training runs in `minigan.gan.loop.run_training` (progress, checkpoints, exact --resume,
Ctrl-C, NaN stop), and the output folder (``--out``, default ``runs/cats_<model>``) receives
its files (samples/, final.png, losses.png, metrics.csv, progress.gif, checkpoint.npz) and:

    classes.png       one row per class (names in agreement.json), ``--per-class`` samples each
    agreement.json    the classifier's agreement: the share of generated images that the
                      trained cat classifier (examples/cats_classifier.py, ``--classifier``)
                      puts in the class they were conditioned on, overall and per attribute,
                      beside the same classifier's accuracy on held-out real cats, and FID
                      and KID between those real cats and the samples, in the classifier's
                      embedding (`CatAttributeClassifier.embedding`), and every attribute's
                      classifier diversity (`diversity_scores`) for both

See docs/13_conditional.md.
"""
import argparse
import os
import sys

import minigan
from minigan import backend, optim
from minigan.autograd import no_grad
from minigan.backend import np
from minigan.data import ImageBatches, procedural_cats
from minigan.data.cats import CAT_ATTRIBUTES
from minigan.gan import (ACGANDiscriminator, ACGANTrainer, ConditionalDCGANDiscriminator,
                         ConditionalDCGANGenerator, GANTrainer, dcgan_init)
from minigan.gan.loop import EXIT_CODES, resolve_run_config, run_training, write_json
from minigan.metrics import (diversity_scores, fid_from_features, kid_from_features,
                             load_cat_classifier)
from minigan.ops import avg_pool2d, softmax
from minigan.utils import save_image
from minigan.utils.cli import fraction, non_negative_int, positive_float, positive_int

CONDITIONS = {"fur+eyes": ("fur", "eyes"), "fur": ("fur",), "eyes": ("eyes",),
              "pattern": ("pattern",), "pose": ("pose",)}
CPU_DEFAULTS = dict(image_size=32, ngf=48, ndf=32, batch_size=64, num_images=4000, steps=1500,
                    lr=4e-4)
GPU_DEFAULTS = dict(image_size=64, ngf=64, ndf=64, batch_size=128, num_images=20000, steps=6000,
                    lr=2e-4)
COMMON_DEFAULTS = dict(model="cgan", projection=False, condition="fur+eyes", beta1=0.5, nz=100,
                       seed=0, per_class=8, class_weight=1.0, eval_per_class=50, eval_real=1000,
                       classifier="runs/cats_classifier/classifier.npz")
REPORTS = {"classifier", "per_class", "eval_per_class", "eval_real"}  # --resume may change
PROG = os.path.basename(__file__)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Conditional GANs on procedural cats "
                                            "(see docs/13_conditional.md).")
    # Every default is None here, so that --resume can tell what was typed.
    p.add_argument("--model", choices=("cgan", "acgan"), help="cgan (default) or acgan")
    p.add_argument("--projection", action="store_true", default=None,
                   help="CGAN: a projection discriminator instead of label channels")
    p.add_argument("--condition", choices=sorted(CONDITIONS),
                   help="the class: fur+eyes (default, 54 classes) or one attribute")
    p.add_argument("--device", help="cpu or cuda (default: cuda when CuPy sees a GPU)")
    p.add_argument("--image-size", type=int, choices=(16, 32, 64))
    p.add_argument("--num-images", type=positive_int, help="procedural cats to draw")
    p.add_argument("--steps", type=positive_int)
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--lr", type=positive_float)
    p.add_argument("--beta1", type=fraction)
    p.add_argument("--nz", type=positive_int)
    p.add_argument("--ngf", type=positive_int)
    p.add_argument("--ndf", type=positive_int)
    p.add_argument("--class-weight", type=positive_float, help="ACGAN: weight of the class loss")
    p.add_argument("--seed", type=non_negative_int)
    p.add_argument("--out", help="output folder (default: runs/cats_<model>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    p.add_argument("--sample-every", type=positive_int)
    p.add_argument("--checkpoint-every", type=positive_int)
    p.add_argument("--classifier", help="a classifier from examples/cats_classifier.py")
    p.add_argument("--per-class", type=positive_int, help="samples per class in classes.png")
    p.add_argument("--eval-per-class", type=positive_int,
                   help="generated samples per class judged by the classifier (50)")
    p.add_argument("--eval-real", type=positive_int,
                   help="held-out real cats judged by the classifier (1000)")
    return p.parse_args(argv)


def resolve_config(args):
    """Typed flags, then (with --resume) the checkpoint's settings, then the defaults."""
    model = args.model or COMMON_DEFAULTS["model"]
    config = resolve_run_config(args, PROG, {**COMMON_DEFAULTS, "out": f"runs/cats_{model}"},
                                CPU_DEFAULTS, GPU_DEFAULTS, resumable=REPORTS)
    if config["projection"] and config["model"] != "cgan":
        raise SystemExit(f"{PROG}: error: --projection is a CGAN discriminator; ACGAN's D "
                         f"does not see the label")
    return config


# ---------------------------------------------------------------------------------- data
def class_names(condition):
    """The names of the classes, in class order: "orange, green", ... for fur+eyes."""
    names = [""]
    for attribute in CONDITIONS[condition]:
        names = [f"{a}, {b}" if a else b for a in names for b in CAT_ATTRIBUTES[attribute]]
    return names


def combined_class(labels, condition):
    """Each image's class: the mixed-radix number of its attributes' indices."""
    classes = 0
    for attribute in CONDITIONS[condition]:
        classes = classes * len(CAT_ATTRIBUTES[attribute]) + labels[attribute]
    return classes


def split_class(classes, condition):
    """The inverse of `combined_class`: {attribute: indices}."""
    parts = {}
    for attribute in reversed(CONDITIONS[condition]):
        k = len(CAT_ATTRIBUTES[attribute])
        parts[attribute], classes = classes % k, classes // k
    return parts


# ----------------------------------------------------------------------------------- run
def build(config, images, classes):
    minigan.manual_seed(config["seed"])
    k, size = len(class_names(config["condition"])), config["image_size"]
    G = ConditionalDCGANGenerator(k, nz=config["nz"], ngf=config["ngf"], image_size=size)
    if config["model"] == "acgan":
        D = ACGANDiscriminator(k, ndf=config["ndf"], image_size=size)
    else:
        D = ConditionalDCGANDiscriminator(k, ndf=config["ndf"], image_size=size,
                                          projection=config["projection"])
    G.net.apply(dcgan_init)  # the DCGAN layers; the label embeddings keep their own init
    D.apply(dcgan_init)
    G.to(config["device"])
    D.to(config["device"])
    betas = (config["beta1"], 0.999)
    opts = (optim.Adam(G.parameters(), lr=config["lr"], betas=betas),
            optim.Adam(D.parameters(), lr=config["lr"], betas=betas))
    if config["model"] == "acgan":
        trainer = ACGANTrainer(G, D, *opts, num_classes=k, class_weight=config["class_weight"],
                               seed=config["seed"], num_samples=64)
    else:
        trainer = GANTrainer(G, D, *opts, num_classes=k, seed=config["seed"], num_samples=64)
    on_device = config["device"] != "cpu"
    batches = ImageBatches(images, config["batch_size"], seed=config["seed"],
                           device=config["device"], preload=on_device, labels=classes)
    return trainer, batches


def class_samples(trainer, k, per_class, seed):
    """``per_class`` samples of every class, class by class (one row each in the grid), from
    noise of its own generator, so training randomness is untouched."""
    rng = np.random.default_rng([seed, 2])
    z = minigan.tensor(rng.standard_normal((k * per_class, trainer.nz)), dtype=trainer.dtype,
                       device=trainer.device)
    labels = minigan.tensor(np.repeat(np.arange(k), per_class), device=trainer.device)
    return trainer.sample(z, labels), labels


def judge(classifier, images, size, batch_size=500):
    """The classifier's class probabilities per attribute {name: (N, K)} and its embeddings
    (N, F), a batch at a time, on images average-pooled to its training size (if known)."""
    probs, embeddings = {}, []
    with no_grad():
        for start in range(0, images.shape[0], batch_size):
            x = images[start:start + batch_size]
            if size and x.shape[-1] > size:
                x = avg_pool2d(x, x.shape[-1] // size)
            for name, logits in classifier(x).items():
                probs.setdefault(name, []).append(backend.to_numpy(softmax(logits, dim=1).data))
            embeddings.append(backend.to_numpy(classifier.embedding(x).data))
    return {k: np.concatenate(v) for k, v in probs.items()}, np.concatenate(embeddings)


def agreement(probs, classes, condition):
    """Share of images whose predicted attributes are all those of ``classes``, and the share
    per attribute."""
    wanted = split_class(classes, condition)
    hits = {a: probs[a].argmax(1) == wanted[a] for a in wanted}
    every = np.logical_and.reduce(list(hits.values()))
    return {"all": float(every.mean()), **{a: float(h.mean()) for a, h in hits.items()}}


def report(trainer, config):
    """classes.png, and agreement.json when the classifier exists."""
    out, condition = config["out"], config["condition"]
    names = class_names(condition)
    samples, labels = class_samples(trainer, len(names), config["per_class"], config["seed"])
    save_image(samples, os.path.join(out, "classes.png"), nrow=config["per_class"])
    path = config["classifier"]
    if not os.path.exists(path):
        print(f"no classifier at {path}: run examples/cats_classifier.py first to measure "
              f"agreement (skipped)")
        return None
    classifier = load_cat_classifier(path, device=config["device"])
    size = minigan.load(path).get("image_size")
    samples, labels = class_samples(trainer, len(names), config["eval_per_class"],
                                    config["seed"] + 1)
    fake_probs, fake_features = judge(classifier, samples, size)
    fake = agreement(fake_probs, backend.to_numpy(labels.data), condition)
    # Held-out cats (seed 1: neither the GAN nor the classifier trained on them).
    real_images, real_labels = procedural_cats(config["eval_real"], config["image_size"], seed=1,
                                               attributes=True)
    real_x = minigan.Tensor(minigan.to_device(
        real_images.transpose(0, 3, 1, 2).astype("float32") / 127.5 - 1, config["device"]))
    real_probs, real_features = judge(classifier, real_x, size)
    real = agreement(real_probs, combined_class(real_labels, condition), condition)
    # FID and KID in the classifier's embedding (its pooled last features), not Inception's:
    # comparable between runs judged by the same classifier and the same sample counts.
    result = {"generated": fake, "real": real, "classes": names, "model": config["model"],
              "projection": config["projection"], "condition": condition, "step": trainer.step,
              "fid": fid_from_features(real_features, fake_features),
              "kid": kid_from_features(real_features, fake_features, num_subsets=20)[0],
              "fid_kid_samples": {"real": len(real_features), "generated": len(fake_features)},
              # every attribute's diversity (docs/13_evaluating_gans.md), conditioned or not
              "diversity": {side: {a: diversity_scores(p) for a, p in probs.items()}
                            for side, probs in (("generated", fake_probs), ("real", real_probs))}}
    write_json(os.path.join(out, "agreement.json"), result)
    print(f"classifier agreement with the asked class: {fake['all']:.3f} "
          f"(on real cats of those classes: {real['all']:.3f}); "
          + ", ".join(f"{a} {fake[a]:.3f}" for a in CONDITIONS[condition])
          + f"; FID {result['fid']:.2f}, KID {result['kid']:.4f} in the classifier's features")
    return result


def train(config, resume=False, callback=None):
    images, labels = procedural_cats(config["num_images"], config["image_size"], seed=0,
                                     attributes=True)
    classes = combined_class(labels, config["condition"])
    trainer, batches = build(config, images, classes)
    name = config["model"].upper() + (" with a projection D" if config["projection"] else "")
    print(f"{name} on {len(images)} procedural cats ({config['image_size']}x"
          f"{config['image_size']}), {len(class_names(config['condition']))} classes "
          f"({config['condition']}), on {config['device']} -> {config['out']}")
    summary = run_training(trainer, batches, config["steps"], config["out"], config,
                           resume=resume, callback=callback, title=name,
                           images_per_step=config["batch_size"])
    if summary["status"] == "finished":
        summary["agreement"] = report(trainer, config)
    print(summary["message"] or summary["status"])
    return summary


def main(argv=None, callback=None):
    args = parse_args(argv)
    return train(resolve_config(args), resume=args.resume, callback=callback)


if __name__ == "__main__":
    sys.exit(EXIT_CODES[main()["status"]])
