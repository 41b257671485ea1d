"""FID on the real cats at 32x32: the DCGAN per objective and remedy, and each zoo architecture.

The objective rows are the lecture table's cats (docs/08_gan_objectives.md), the architecture
rows docs/12_architectures.md's table.

    python3 benchmarks/cats_fid.py --steps 3000 --out runs/cats_fid [--rows ns lsgan ...]
    python3 benchmarks/cats_fid.py --steps 3000 --out runs/cats_fid --rows ns resnet stylegan

For every row not already done in ``--out``: train ``examples/cats_dcgan.py`` on the real cats
(``../shared/data/cats64``, 32x32, its CPU defaults: widths 48/32, batch 64, Adam 4e-4) for
``--steps`` generator updates with the row's objective or remedy, draw ``--images`` samples as PNG files
(``examples/sample.py --png-dir``), and score them with ``../shared/tools/fid.sh`` against the
held-out real cats (``../shared/data/cats64_eval``). Prints a Markdown table (FID, training
time, CPU time) and copies each row's final grid to ``--figures``. Same architecture, data,
seed and step budget on every row; a WGAN step has 5 critic updates, and an unrolled-5 step
5 look-ahead D steps differentiated through, so they cost more (the time columns say how much).
EBGAN and BEGAN replace D by a convolutional autoencoder of the same width (energies, not
logits), PacGAN-2 gives D 6 input channels; G is the same DCGAN generator on every row
(InfoGAN's also takes its 12 code values).
The architecture rows (``ARCHS``: docs/12_architectures.md's table) train
``examples/cats_gan.py --arch ROW`` the same way, at its defaults for that architecture, and
score the samples it writes itself (``--fid-images``: the EMA generator's where it keeps one).
The FID tool is a benchmark tool with PyTorch in its own venv, never a minigan dependency.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SHARED = os.path.join(ROOT, "..", "shared")
ROWS = {  # the lecture table's objectives available as --loss, the baseline first
    "ns": [],
    "lsgan": ["--loss", "lsgan"],
    "wgan": ["--loss", "wgan"],
    "wgan-gp": ["--loss", "wgan-gp"],
    "hinge": ["--loss", "hinge"],
    "logistic": ["--loss", "logistic"],
    "rasgan": ["--loss", "rasgan"],
    "ralsgan": ["--loss", "ralsgan"],
    "mmd": ["--loss", "mmd"],
    "fgan-kl": ["--loss", "fgan-kl"],
    "fgan-reverse-kl": ["--loss", "fgan-reverse-kl"],
    "fgan-js": ["--loss", "fgan-js"],
    "fgan-pearson": ["--loss", "fgan-pearson"],
    "fgan-hellinger": ["--loss", "fgan-hellinger"],
    # The remedies and the other objectives, with their papers' settings scaled to this DCGAN
    # (docs/09_training_cats.md says where each number comes from).
    "logistic-lazy-r1": ["--loss", "logistic", "--r1", "0.01", "--r1-interval", "16"],
    "infogan": ["--infogan", "10"],
    "ebgan": ["--ebgan", "1"],
    "began": ["--began", "0.5"],
    "diffusion-gan": ["--diffusion", "500"],
    "unrolled-5": ["--unrolled", "5", "--unrolled-lr", "1e-2"],
    # ... unrolled at D's own learning rate (4e-4), as the toy row unrolled-5-lr-d: at 1e-2
    # the look-ahead steps saturated D on the toy data and on the cats.
    "unrolled-5-lr-d": ["--unrolled", "5"],
    "mode-seeking": ["--mode-seeking", "1"],
    "pacgan-2": ["--pack", "2"],
    "ttur": ["--lr-d", "4e-4", "--lr-g", "1e-4"],
    "d-skip": ["--d-skip", "0.7"],
}
ARCHS = ["resnet", "sagan", "biggan", "vit-d", "progan", "msg", "stylegan"]  # cats_gan.py --arch


def run(command, log):
    """Run ``command``, appending its output to ``log``; returns (wall, CPU seconds)."""
    start = time.time()
    with open(log, "a") as f:
        process = subprocess.Popen(command, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"cats_fid.py: {' '.join(command)} failed, see {log}")
    return time.time() - start, usage.ru_utime + usage.ru_stime


def run_row(name, args):
    folder = os.path.join(args.out, name)
    done = os.path.join(folder, "fid.json")
    if os.path.exists(done):  # finished in an earlier invocation (delete it to rerun)
        with open(done) as f:
            return json.load(f)
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "log.txt")
    common = ["--device", "cpu", "--data", args.data, "--steps", str(args.steps), "--seed", "0",
              "--out", folder]
    pngs = os.path.join(folder, "fid_samples")
    shutil.rmtree(pngs, ignore_errors=True)
    if name in ARCHS:
        seconds, cpu = run([sys.executable, os.path.join(ROOT, "examples", "cats_gan.py"),
                            "--arch", name, *common, "--fid-images", str(args.images)], log)
    else:
        seconds, cpu = run([sys.executable, os.path.join(ROOT, "examples", "cats_dcgan.py"),
                            *common, *ROWS[name]], log)
        run([sys.executable, os.path.join(ROOT, "examples", "sample.py"), "--checkpoint",
             os.path.join(folder, "checkpoint.npz"), "--n", str(args.images), "--png-dir", pngs,
             "--out", os.path.join(folder, "fid_grid.png")], log)
    fid_log = os.path.join(folder, "fid.txt")
    run(["bash", os.path.join(SHARED, "tools", "fid.sh"), pngs], fid_log)
    with open(fid_log) as f:
        fid = float(re.findall(r"FID: ([0-9.]+)", f.read())[-1])
    result = {"row": name, "fid": fid, "seconds": seconds, "cpu_seconds": cpu,
              "steps": args.steps, "images": args.images}
    with open(done, "w") as f:
        json.dump(result, f)
    print(result, flush=True)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS) + ARCHS,
                   help="objective/remedy rows (default: all of them) or architectures")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--data", default=os.path.join(SHARED, "data", "cats64"))
    p.add_argument("--out", default="runs/cats_fid")
    p.add_argument("--figures", default=os.path.join(ROOT, "docs", "figures"))
    args = p.parse_args()
    results = [run_row(name, args) for name in args.rows]
    os.makedirs(args.figures, exist_ok=True)
    print(f"\n| row | FID ({args.images} images, 32x32, {args.steps} steps) | "
          f"training time (s) | CPU time (s) | grid |\n| --- | --- | --- | --- | --- |")
    for r in results:
        figure = f"cats_fid_{r['row']}.png"
        shutil.copy(os.path.join(args.out, r["row"], "final.png"),
                    os.path.join(args.figures, figure))
        print(f"| {r['row']} | {r['fid']:.1f} | {r['seconds']:.0f} | {r['cpu_seconds']:.0f} | "
              f"![{r['row']}](figures/{figure}) |")


if __name__ == "__main__":
    main()
