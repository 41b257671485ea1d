"""Train the cat-attribute classifier (minigan.metrics.CatAttributeClassifier) on procedural cats.

    python examples/cats_classifier.py                     # 32x32, 500 steps: 9 min on a busy core
    python examples/cats_classifier.py --image-size 64     # for the 64x64 GANs
    python examples/cats_classifier.py --device cuda --steps 4000 --num-images 20000

It learns the four attributes `procedural_cats(..., attributes=True)` records (fur colour,
pattern, eye colour, pose) from cats drawn with seed 0, and reports its accuracy on
``--test-images`` other cats (seed 1), which it has never seen. The output folder (``--out``,
default ``runs/cats_classifier``) receives:

    classifier.npz    the weights and architecture: minigan.metrics.load_cat_classifier(path)
    accuracy.json     held-out accuracy per attribute, and the settings of the run

The GAN examples use it to judge their samples (minigan.metrics.classifier_diversity, and the
agreement of conditional samples with their labels); the SRGAN and style-transfer examples use
its ``features(x)``. No flips: a flip would turn a "tilted left" cat into a "tilted right" one.
See docs/13_evaluating_gans.md.
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
from minigan.metrics import CatAttributeClassifier, save_cat_classifier
from minigan.ops import cross_entropy
from minigan.utils.cli import non_negative_int, positive_float, positive_int
from minigan.utils.io import atomic_open

PROG = os.path.basename(__file__)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train the cat-attribute classifier "
                                            "(see docs/13_evaluating_gans.md).")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument("--image-size", type=int, choices=(16, 32, 64), default=32)
    p.add_argument("--num-images", type=positive_int, default=5000, help="training cats")
    p.add_argument("--test-images", type=positive_int, default=1000, help="held-out cats")
    p.add_argument("--steps", type=positive_int, default=500)
    p.add_argument("--batch-size", type=positive_int, default=64)
    p.add_argument("--lr", type=positive_float, default=3e-3,
                   help="Adam learning rate, decayed linearly to 0")
    p.add_argument("--widths", type=positive_int, nargs=4, default=[16, 32, 64, 64],
                   help="channels of the four conv blocks")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--out", default="runs/cats_classifier")
    return p.parse_args(argv)


def labelled_cats(n, size, seed):
    """Images (n, size, size, 3) and labels (n, A): one column per attribute, in the order of
    CAT_ATTRIBUTES."""
    images, labels = procedural_cats(n, image_size=size, seed=seed, attributes=True)
    return images, np.stack([labels[name] for name in CAT_ATTRIBUTES], axis=1)


def loss_and_accuracy(model, x, y):
    """The sum over attributes of the cross entropy, and each attribute's batch accuracy."""
    logits = model(x)
    loss, correct = 0.0, {}
    for k, (name, scores) in enumerate(logits.items()):
        loss = loss + cross_entropy(scores, y[:, k])
        correct[name] = scores.data.argmax(1) == y.data[:, k]
    return loss, correct


def accuracy(model, images, labels, device, batch_size=250):
    """Held-out accuracy per attribute, with batch norm in eval mode."""
    model.eval()
    hits = {name: 0 for name in CAT_ATTRIBUTES}
    batches = ImageBatches(images, batch_size, shuffle=False, drop_last=False, device=device,
                           labels=labels)
    with no_grad():
        for x, y in batches:
            _, correct = loss_and_accuracy(model, x, y)
            for name, c in correct.items():
                hits[name] += int(backend.to_numpy(c.sum()))
    model.train()
    return {name: hits[name] / len(images) for name in hits}


def main(argv=None):
    args = parse_args(argv)
    try:
        device = backend.parse_device(args.device)
    except backend.DeviceError as error:
        raise SystemExit(f"{PROG}: error: --device: {error}")
    print(f"drawing {args.num_images} + {args.test_images} labelled cats of "
          f"{args.image_size}x{args.image_size}...")
    train_images, train_labels = labelled_cats(args.num_images, args.image_size, seed=0)
    test_images, test_labels = labelled_cats(args.test_images, args.image_size, seed=1)

    minigan.manual_seed(args.seed)
    model = CatAttributeClassifier(widths=args.widths).to(device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    # linear decay: big steps first, fine ones last
    scheduler = optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / args.steps)
    batches = ImageBatches(train_images, args.batch_size, seed=args.seed, device=device,
                           labels=train_labels)
    stream = (batch for _ in iter(int, 1) for batch in batches)  # epochs without end
    bar, step = tqdm(range(args.steps), unit="step", dynamic_ncols=True), 0
    try:
        for step in bar:
            x, y = next(stream)
            optimizer.zero_grad()
            loss, _ = loss_and_accuracy(model, x, y)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if step % 10 == 0:  # a read of the loss waits for the device: not every step
                value = loss.item()
                if not np.isfinite(value):
                    raise SystemExit(f"{PROG}: the loss became {value} at step {step + 1}; "
                                     "nothing saved (try a lower --lr)")
                bar.set_postfix(loss=f"{value:.3f}", epoch=batches.epoch, refresh=False)
    except KeyboardInterrupt:  # a minute's run: keep what it learnt, measured as usual
        print(f"\ninterrupted at step {step + 1} of {args.steps}: evaluating and saving that model")
    bar.close()

    result = accuracy(model, test_images, test_labels, device)
    chance = {name: float(np.bincount(test_labels[:, k]).max() / len(test_labels))
              for k, name in enumerate(CAT_ATTRIBUTES)}
    os.makedirs(args.out, exist_ok=True)
    save_cat_classifier(model, os.path.join(args.out, "classifier.npz"), accuracy=result,
                        image_size=args.image_size)
    with atomic_open(os.path.join(args.out, "accuracy.json"), "w") as f:
        json.dump({"held_out_accuracy": result, "majority_class_accuracy": chance,
                   "settings": vars(args)}, f, indent=2)
        f.write("\n")
    for name in CAT_ATTRIBUTES:
        print(f"{name:8s} held-out accuracy {result[name]:.3f} "
              f"(majority class {chance[name]:.3f}, {len(CAT_ATTRIBUTES[name])} classes)")
    print(f"saved {os.path.join(args.out, 'classifier.npz')}")
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
