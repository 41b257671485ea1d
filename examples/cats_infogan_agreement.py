"""Does an InfoGAN's categorical code discover the cats' fur colour? (docs/15_augmentation.md)

    python examples/cats_dcgan.py --infogan 9 --out runs/infogan        # train (9 code values)
    python examples/cats_classifier.py --image-size 32                   # the judge, if none yet
    python examples/cats_infogan_agreement.py --checkpoint runs/infogan/checkpoint.npz

For each value k of the categorical code, ``--per-code`` images are drawn with the code fixed
to k (and z and the continuous codes at random); the cat classifier names each image's fur
colour. Reported (and written to ``--json``):

    agreement   the share of images whose fur is their code value's majority fur
                (`minigan.metrics.code_agreement`); chance (a code G ignores): about the
                share of the commonest fur among the samples, e.g. 1/9 for uniform colours
    nmi         normalised mutual information between code and fur (0: independent)
    per code    each value's majority fur and its share
    attributes  agreement, chance and nmi for every attribute the classifier names (fur,
                pattern, eyes, pose); ``--attribute`` picks the one listed per code
    q_accuracy  how often InfoGAN's own Q (on D's features) names the code of an image: a
                code G encodes in changes the classifier does not see shows here

The classifier must be trained at the checkpoint's image size
(``examples/cats_classifier.py --image-size``). InfoGAN learns *some* factor with its code:
pose or pattern may win over colour, which shows as a low agreement with fur and a higher
one with the factor it found.
"""
import argparse
import json
import os
import sys

import minigan
from minigan.backend import DeviceError, np, parse_device
from minigan.data.cats import CAT_ATTRIBUTES
from minigan.gan import sample_codes
from minigan.serialization import load
from minigan.metrics import code_agreement, load_cat_classifier, normalized_mutual_information
from minigan.utils.cli import non_negative_int, positive_int
from minigan.utils.io import atomic_open

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from examples.sample import load_generator  # noqa: E402  (rebuilds G from the checkpoint)
from examples.cats_dcgan import make_discriminator, make_q_head  # noqa: E402

PROG = os.path.basename(__file__)


def code_reader(path, config, device="cpu"):
    """images -> Q's code logits: InfoGAN's own reader of the code (Q on D's features), as
    trained in the run of checkpoint ``path``."""
    state = load(path)["trainer"]
    D = make_discriminator(config)
    D.load_state_dict(state["discriminator"])
    Q = make_q_head(config)
    Q.load_state_dict(state["q_head"])
    D, Q = D.to(device).eval(), Q.to(device).eval()
    return lambda images: Q(D.features(images))[0]


def classes_per_code(G, config, classifier, per_code=200, seed=0, device="cpu", chunk=256,
                     reader=None):
    """(codes, {attribute: classes}): ``per_code`` images for each code value, each given
    a class per attribute by the classifier (and the code ``reader`` reads, as "code")."""
    k, c = config["infogan"], config["infogan_continuous"]
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(k), per_code)
    z = rng.standard_normal((len(codes), config["nz"]))
    continuous = sample_codes(len(codes), k, c, "float64", generator=rng)[1].numpy()[:, k:]
    inputs = np.concatenate([z, np.eye(k)[codes], continuous], axis=1)
    classes = {name: [] for name in [*CAT_ATTRIBUTES, *["code"] * (reader is not None)]}
    with minigan.no_grad():
        for i in range(0, len(codes), chunk):
            images = G(minigan.tensor(inputs[i:i + chunk], dtype="float32", device=device))
            judged = {**classifier(images), **({"code": reader(images)} if reader else {})}
            for name, logits in judged.items():
                classes[name].append(minigan.to_numpy(logits).argmax(1))
    return codes, {name: np.concatenate(found) for name, found in classes.items()}


def report(codes, classes, attribute):
    names = CAT_ATTRIBUTES[attribute]
    per_code = {}
    for code in np.unique(codes):
        counts = np.bincount(classes[codes == code], minlength=len(names))
        per_code[int(code)] = {"majority": names[int(counts.argmax())],
                               "share": float(counts.max() / counts.sum())}
    return {"agreement": code_agreement(codes, classes),
            "nmi": normalized_mutual_information(codes, classes),
            "chance": float(np.bincount(classes).max() / len(classes)),
            "per_code": per_code}


def main(argv=None, classifier=None):
    p = argparse.ArgumentParser(description="Agreement of an InfoGAN code with fur colour "
                                            "(or another attribute).")
    p.add_argument("--checkpoint", required=True, help="a cats_dcgan.py --infogan checkpoint")
    p.add_argument("--classifier", default="runs/cats_classifier/classifier.npz",
                   help="written by examples/cats_classifier.py at the same image size")
    p.add_argument("--attribute", choices=sorted(CAT_ATTRIBUTES), default="fur",
                   help="the attribute whose majority per code value is listed (fur); the "
                        "agreement with every attribute is printed")
    p.add_argument("--per-code", type=positive_int, default=200, help="images per code value")
    p.add_argument("--ema", action="store_true", help="use the EMA weights")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", help="also write the report to this file")
    args = p.parse_args(argv)
    try:
        parse_device(args.device)
    except DeviceError as error:
        p.error(f"argument --device: {error}")
    G, config = load_generator(args.checkpoint, args.ema, args.device)
    if not config.get("infogan"):
        p.error(f"argument --checkpoint: {args.checkpoint} is not an InfoGAN run (--infogan K)")
    if classifier is None:
        if not os.path.exists(args.classifier):
            p.error(f"argument --classifier: {args.classifier} not found: train one with "
                    f"examples/cats_classifier.py --image-size {config['image_size']}")
        classifier = load_cat_classifier(args.classifier, args.device)
    codes, classes = classes_per_code(G, config, classifier.eval(), args.per_code, args.seed,
                                      args.device, reader=code_reader(args.checkpoint, config,
                                                                      args.device))
    # Can InfoGAN's own Q read the code back? (G may encode it in changes no one else sees.)
    q_accuracy = float((classes.pop("code") == codes).mean())
    result = report(codes, classes[args.attribute], args.attribute)
    result["q_accuracy"] = q_accuracy
    # The code may have found another factor: the same numbers for every attribute.
    result["attributes"] = {name: {k: v for k, v in report(codes, found, name).items()
                                   if k != "per_code"} for name, found in classes.items()}
    for code, row in result["per_code"].items():
        print(f"code {code}: {100 * row['share']:5.1f}% {row['majority']}")
    for name, row in result["attributes"].items():
        print(f"agreement with {name}: {100 * row['agreement']:.1f}% (chance about "
              f"{100 * row['chance']:.1f}%), normalised mutual information {row['nmi']:.3f}")
    print(f"InfoGAN's Q reads the code back from {100 * q_accuracy:.1f}% of the images "
          f"(chance {100 / config['infogan']:.1f}%)")
    if args.json:
        with atomic_open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    return result


if __name__ == "__main__":
    main()
