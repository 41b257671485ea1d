"""Explore what a trained generator learned about its latent space: walks, vector arithmetic,
truncation and (for StyleGAN) style mixing. Works on the checkpoints of examples/cats_dcgan.py
and of examples/cats_gan.py --arch NAME (see docs/12_stylegan.md):

    python examples/latent.py interpolate --checkpoint runs/cats/checkpoint.npz --mode slerp
    python examples/latent.py numbered    --checkpoint runs/cats/checkpoint.npz --seed 3
    python examples/latent.py arithmetic  --checkpoint runs/cats/checkpoint.npz --seed 3 \\
                                          --a 4,9,17 --b 2,11,30 --c 5,6,40
    python examples/latent.py truncation  --checkpoint runs/cats/checkpoint.npz
    python examples/latent.py truncation  --checkpoint runs/cats_biggan_fur/checkpoint.npz --ema
    python examples/latent.py mixing      --checkpoint runs/stylegan/checkpoint.npz

- interpolate: each row walks from one random z to another, along a straight line or a
  great-circle arc (slerp); smooth changes mean G learned a continuous map.
- numbered, then arithmetic: ``numbered`` writes a grid of samples with their numbers; pick
  three samples for each of three concepts (say, "grey cat with open eyes", "grey cat",
  "orange cat") and ``arithmetic`` (same --seed and --n) averages their z's per concept,
  computes a - b + c, and decodes it with a little noise, as in the DCGAN paper's Fig. 7.
  Averaging three z's first keeps the result from depending on one sample's quirks.
- truncation: columns trade variety for typicality. StyleGAN: w' = w_avg + psi (w - w_avg);
  other generators: z drawn from a normal truncated to |z_i| <= t (BigGAN's form).
- mixing (StyleGAN only): a grid per crossover range (coarse 4-8 px, middle, fine = the
  full resolution); cell (i, j) is source A_i with the styles of that range from source B_j.

A class-conditional G(z, y) (cats_gan.py --arch biggan --conditional ATTRIBUTE) draws every
sample in class ``--label K``; without it, interpolate and truncation show one row per class
(row r: class r; --rows defaults to the number of classes) and numbered and arithmetic use
class 0, so that the z's of one concept are compared within one class.
"""
import argparse
import importlib
import os
import sys

from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # siblings: archs/, cats_dcgan
import minigan  # noqa: E402
from minigan.backend import DeviceError, np, parse_device  # noqa: E402
from minigan.gan import DCGANGenerator  # noqa: E402
from minigan.gan.loop import read_checkpoint  # noqa: E402
from minigan.utils import make_grid, save_image  # noqa: E402
from minigan.utils.cli import non_negative_int, positive_int  # noqa: E402
from cats_dcgan import slerp  # noqa: E402

PROG = os.path.basename(__file__)


def fail(message):
    raise SystemExit(f"{PROG}: error: {message}")


# ----------------------------------------------------------------------------- the generator
def load_generator(path, ema=False, device="cpu"):
    """The generator of a cats_dcgan.py or cats_gan.py checkpoint, in eval mode, and the run's
    config. A zoo run is rebuilt by its architecture spec (examples/archs/NAME.py) from the
    saved config, so every setting of the run is respected."""
    checkpoint = read_checkpoint(path, PROG, "--checkpoint")
    if "config" not in checkpoint or "trainer" not in checkpoint:
        fail(f"--checkpoint: {path} is not a training checkpoint of examples/cats_*.py")
    config, state = checkpoint["config"], checkpoint["trainer"]
    if ema and state.get("ema") is None:
        fail(f"--ema: {path} has no EMA weights: that run was trained without EMA")
    arch = config.get("arch", "dcgan")
    if "arch" not in config:  # examples/cats_dcgan.py
        G = DCGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=config["image_size"])
        G.load_state_dict(state["ema"] if ema else state["generator"])
        return G.to(device).eval(), config
    module = f"archs.{arch.replace('-', '_')}"
    try:
        spec = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name not in (module, "archs"):  # the spec exists but fails to import
            raise
        fail(f"{path} holds a --arch {arch} run, which this version cannot load yet "
             f"(no examples/{module.replace('.', '/')}.py)")
    trainer = spec.build_trainer({**config, "device": device})
    trainer.load_state_dict(state)
    G = trainer.ema.module if ema else trainer.G
    return G.eval(), config


def decode(G, z, labels=None, **options):
    """Images G(z) (or G(z, labels) for host class indices ``labels`` (n,)) for host latent
    vectors z (n, nz), without a graph."""
    first = next(G.parameters())
    z = minigan.tensor(z, dtype=first.dtype, device=first.device)
    with minigan.no_grad():
        if labels is None:
            images = G(z, **options)
        else:
            images = G(z, minigan.tensor(labels, device=first.device), **options)
    # MSG-GAN's G returns an image per scale, coarsest first: the last is the picture
    return images[-1] if isinstance(images, list) else images


def is_stylegan(G):
    return hasattr(G, "mapping") and hasattr(G, "synthesis")


def num_classes(G):
    """The classes of a class-conditional G(z, y); 0 for G(z) (a one-class BigGAN included)."""
    classes = getattr(G, "num_classes", 1)
    return classes if classes > 1 else 0


def class_labels(G, args, rows, per_row, one_class=False):
    """Labels of ``rows`` rows of ``per_row`` samples for a conditional G: all of class
    --label if given (else class 0 with ``one_class``), otherwise row r of class r (modulo
    the number of classes). None for an unconditional G."""
    classes = num_classes(G)
    if not classes:
        return None
    if args.label is not None or one_class:
        return np.full(rows * per_row, args.label or 0)
    return np.repeat(np.arange(rows) % classes, per_row)


def row_count(G, args, default):
    """--rows, or one row per class for a conditional G without --label, or ``default``."""
    if args.rows:
        return args.rows
    return num_classes(G) if num_classes(G) and args.label is None else default


# ----------------------------------------------------------------------------------- tools
def interpolation_latents(nz, rows, columns, seed, mode="slerp"):
    """(rows * columns, nz): each row goes from one random z to another in ``columns`` steps."""
    ends = np.random.default_rng(seed).standard_normal((rows, 2, nz))
    ts = np.linspace(0.0, 1.0, columns)
    if mode == "linear":
        return np.stack([(1 - t) * a + t * b for a, b in ends for t in ts])
    return np.stack([slerp(a, b, t) for a, b in ends for t in ts])


def numbered_latents(nz, n, seed):
    """The z's of the numbered grid; `arithmetic` draws the same ones from the same seed."""
    return np.random.default_rng(seed).standard_normal((n, nz))


def save_numbered_grid(images, path, nrow):
    """The grid, enlarged to at least 64 px a cell, with each sample's number in its corner."""
    grid = make_grid(images, nrow=nrow)
    size = images.shape[-1]
    zoom = max(1, 64 // size)
    picture = Image.fromarray(grid).resize((grid.shape[1] * zoom, grid.shape[0] * zoom),
                                           Image.NEAREST)
    draw = ImageDraw.Draw(picture)
    for i in range(images.shape[0]):
        top, left = (i // nrow) * (size + 2) + 2, (i % nrow) * (size + 2) + 2
        draw.text((left * zoom + 2, top * zoom + 1), str(i), fill=(255, 255, 0),
                  stroke_width=1, stroke_fill=(0, 0, 0))
    picture.save(path)


def arithmetic_latents(z, a, b, c, noise=0.25, variants=3, seed=0):
    """DCGAN Fig. 7: the mean z of each concept's samples, r = mean_a - mean_b + mean_c, and r
    plus ``variants`` draws of uniform noise in [-noise, noise] (a cloud around the result)."""
    means = {name: z[list(indices)].mean(axis=0) for name, indices in zip("abc", (a, b, c))}
    result = means["a"] - means["b"] + means["c"]
    jitter = np.random.default_rng([seed, 7]).uniform(-noise, noise, (variants, z.shape[1]))
    return means, result, result[None] + jitter


def truncated_normal(z, threshold, seed):
    """z with every value outside [-threshold, threshold] redrawn until it falls inside."""
    z, rng = z.copy(), np.random.default_rng([seed, 11])
    outside = np.abs(z) > threshold
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > threshold
    return z


def crossover_ranges(G):
    """{"coarse" | "middle" | "fine": (first, end)} over G's style inputs, from the resolution
    each one styles: coarse up to 8x8, fine the full resolution, middle in between."""
    names = ["coarse" if r <= 8 else "fine" if r == G.image_size else "middle"
             for r in G.layer_resolutions]
    ranges = {}
    for name in ("coarse", "middle", "fine"):
        layers = [i for i, n in enumerate(names) if n == name]
        if layers:
            ranges[name] = (layers[0], layers[-1] + 1)
    return ranges


def mixed_styles(ws_a, ws_b, first, end):
    """ws of A (n_a, L, D) with layers first..end-1 taken from B (n_b, L, D): (n_a * n_b, L, D),
    row-major over (A, B)."""
    mixed = np.repeat(ws_a, len(ws_b), axis=0)
    mixed[:, first:end] = np.tile(ws_b, (len(ws_a), 1, 1))[:, first:end]
    return mixed


# ------------------------------------------------------------------------------- commands
def run_interpolate(G, config, args):
    n_rows = row_count(G, args, 6)
    z = interpolation_latents(G.nz, n_rows, args.columns, args.seed, args.mode)
    labels = class_labels(G, args, n_rows, args.columns)
    save_image(decode(G, z, labels), args.out, nrow=args.columns)
    return {"z": z, "labels": labels}


def run_numbered(G, config, args):
    z = numbered_latents(G.nz, args.n, args.seed)
    labels = class_labels(G, args, 1, args.n, one_class=True)
    save_numbered_grid(decode(G, z, labels), args.out, args.nrow)
    return {"z": z, "labels": labels}


def run_arithmetic(G, config, args):
    z = numbered_latents(G.nz, args.n, args.seed)
    concepts = (args.a, args.b, args.c)
    for name, chosen in zip("abc", concepts):
        bad = [i for i in chosen if i >= args.n]
        if bad:
            fail(f"--{name}: {bad} are not on the numbered grid of --n {args.n} samples")
    if len({len(chosen) for chosen in concepts}) > 1:
        fail("--a, --b and --c need the same number of samples (3 in the DCGAN paper)")
    k = len(args.a)
    means, result, variants = arithmetic_latents(z, *concepts, noise=args.noise,
                                                 variants=k, seed=args.seed)
    # rows a, b, c: the chosen samples and the decoded mean; last row: a - b + c, then noisy
    rows = []
    for name, chosen in zip("abc", concepts):
        rows += [z[i] for i in chosen] + [means[name]]
    latents = np.stack(rows + [result] + list(variants))
    labels = class_labels(G, args, 1, len(latents), one_class=True)  # numbered's class
    images = decode(G, latents, labels)
    save_image(images, args.out, nrow=k + 1)
    return {"z": z, "means": means, "result": result, "latents": latents, "images": images,
            "labels": labels}


def run_truncation(G, config, args):
    n_rows = row_count(G, args, 8)
    z = np.random.default_rng(args.seed).standard_normal((n_rows, G.nz))
    if is_stylegan(G):  # columns: psi
        images = [decode(G, z, truncation_psi=psi) for psi in args.psi]
        batch = np.stack([minigan.backend.to_numpy(x.data) for x in images], axis=1)
        values, labels = args.psi, None
    else:  # columns: the truncation threshold t
        values = args.threshold
        latents = np.stack([truncated_normal(z, t, args.seed) for t in values], axis=1)
        labels = class_labels(G, args, n_rows, len(values))
        batch = minigan.backend.to_numpy(decode(G, latents.reshape(-1, z.shape[1]), labels).data)
    batch = batch.reshape((-1,) + batch.shape[-3:])
    save_image(batch, args.out, nrow=len(values))
    return {"z": z, "values": list(values), "images": batch, "labels": labels}


def run_mixing(G, config, args):
    if not is_stylegan(G):
        fail(f"mixing needs a StyleGAN checkpoint (cats_gan.py --arch stylegan); "
             f"{args.checkpoint} holds a {config.get('arch', 'dcgan')} generator")
    rng = np.random.default_rng(args.seed)
    z_a = rng.standard_normal((args.rows, G.nz))
    z_b = rng.standard_normal((args.columns, G.nz))
    first = next(G.parameters())
    with minigan.no_grad():
        ws = [G.mapping(minigan.tensor(z, dtype=first.dtype, device=first.device)).numpy()
              for z in (z_a, z_b)]
    ws_a, ws_b = [np.repeat(w[:, None], G.num_ws, axis=1) for w in ws]
    sources_a, sources_b = decode(G, z_a).numpy(), decode(G, z_b).numpy()
    blank = np.ones((1,) + sources_a.shape[1:], dtype=sources_a.dtype)
    stem, extension = os.path.splitext(args.out)
    written = {}
    for name, (begin, end) in crossover_ranges(G).items():
        with minigan.no_grad():
            mixed = G.synthesis(minigan.tensor(mixed_styles(ws_a, ws_b, begin, end),
                                               dtype=first.dtype, device=first.device)).numpy()
        mixed = mixed.reshape((args.rows, args.columns) + mixed.shape[1:])
        cells = [np.concatenate([blank, sources_b])]  # top row: the B sources
        cells += [np.concatenate([sources_a[i:i + 1], mixed[i]]) for i in range(args.rows)]
        path = f"{stem}_{name}{extension}"
        save_image(np.concatenate(cells), path, nrow=args.columns + 1)
        written[name] = {"path": path, "layers": (begin, end), "images": mixed}
    return written


COMMANDS = {"interpolate": run_interpolate, "numbered": run_numbered,
            "arithmetic": run_arithmetic, "truncation": run_truncation, "mixing": run_mixing}


def indices(text):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected non-negative sample numbers, got {text!r}")
    return values


def floats(text):
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Latent-space tools for a trained generator "
                                            "(see docs/12_stylegan.md).")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, help, out):
        c = sub.add_parser(name, help=help)
        c.add_argument("--checkpoint", required=True, help="e.g. runs/cats/checkpoint.npz")
        c.add_argument("--ema", action="store_true", help="use the EMA weights")
        c.add_argument("--seed", type=non_negative_int, default=0, help="seeds the latents")
        c.add_argument("--device", default="cpu")
        c.add_argument("--out", default=out, help=f"image file ({out})")
        c.add_argument("--label", type=non_negative_int,
                       help="a class-conditional G: every sample of this class (default: "
                            "interpolate and truncation one row per class, else class 0)")
        return c

    c = command("interpolate", "walks between random latent points", "interpolation.png")
    c.add_argument("--mode", choices=["linear", "slerp"], default="slerp")
    c.add_argument("--rows", type=positive_int, help="(6; a conditional G: one per class)")
    c.add_argument("--columns", type=positive_int, default=10)
    c = command("numbered", "a numbered grid to choose samples from", "numbered.png")
    c.add_argument("--n", type=positive_int, default=64)
    c.add_argument("--nrow", type=positive_int, default=8)
    c = command("arithmetic", "a - b + c on the numbered grid's z's", "arithmetic.png")
    c.add_argument("--n", type=positive_int, default=64, help="as given to numbered (64)")
    for name in "abc":
        c.add_argument(f"--{name}", type=indices, required=True, help="sample numbers, e.g. 4,9,17")
    c.add_argument("--noise", type=float, default=0.25, help="uniform noise on the result")
    c = command("truncation", "the truncation trick, one column per strength", "truncation.png")
    c.add_argument("--rows", type=positive_int, help="(8; a conditional G: one per class)")
    c.add_argument("--psi", type=floats, default=[1.0, 0.75, 0.5, 0.25, 0.0],
                   help="StyleGAN: w_avg + psi (w - w_avg), one column each")
    c.add_argument("--threshold", type=floats, default=[4.0, 2.0, 1.0, 0.5],
                   help="other generators: |z_i| <= t, one column each")
    c = command("mixing", "StyleGAN style-mixing grids", "mixing.png")
    c.add_argument("--rows", type=positive_int, default=5, help="sources A")
    c.add_argument("--columns", type=positive_int, default=5, help="sources B")
    args = p.parse_args(argv)
    if os.path.splitext(args.out)[1].lower() not in Image.registered_extensions():
        p.error(f"argument --out: {args.out} does not end in an image format, e.g. .png")
    try:
        parse_device(args.device)
    except DeviceError as error:
        p.error(f"argument --device: {error}")
    return args


def main(argv=None):
    args = parse_args(argv)
    G, config = load_generator(args.checkpoint, args.ema, args.device)
    classes = num_classes(G)
    if args.label is not None and not 0 <= args.label < classes:
        fail(f"--label {args.label}: " + (f"the generator has {classes} classes (0 to "
                                           f"{classes - 1}, the order of config.json's "
                                           f"\"classes\")" if classes else
                                           "the generator is not class-conditional"))
    result = COMMANDS[args.command](G, config, args)
    print(f"{args.command}: wrote " + (", ".join(r["path"] for r in result.values())
                                       if args.command == "mixing" else args.out))
    return result


if __name__ == "__main__":
    main()
