"""Mode-coverage benchmark: vanilla GAN vs tuned configurations on the 2-D toy data.

    python3 benchmarks/toy_modes.py --seeds 5 --jobs 1 --out runs/toy_modes

runs ``examples/toy_2d.py`` for every (configuration, dataset, seed) not already done in
``--out``, scores the 2,500 saved points with `minigan.data.toy.mode_coverage`, and prints a
Markdown table of mean +- std over seeds (the one in ``docs/08_toy_benchmark.md``). The
scatter plots (and grid loss curves) of seed 0 of the vanilla and the best configuration are
copied to ``--figures`` (docs/figures by default). Each run is a separate process with one BLAS
thread; its time (training and sampling, process start included) is only comparable
between runs made with the same ``--jobs`` (use ``--jobs 1`` for the time of a lone run).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
from minigan.data.toy import code_mode_agreement, mode_coverage  # noqa: E402
from minigan.utils.io import atomic_open  # noqa: E402
from examples.toy_2d import DIVERGED  # noqa: E402

COMMON = ["--steps", "6000"]
MODES = "{modes}"  # replaced by the dataset's number of modes (8 or 25)
CONFIGS = {
    # The same MLPs (3 hidden layers of 128), non-saturating loss, Adam(1e-3, betas (0.5, 0.999))
    # for both players, batch 256: examples/toy_2d.py's defaults, no tricks.
    "vanilla": ["--loss", "ns"],
    # The best on the ring: vanilla plus minibatch stddev in D and samples from an EMA of G.
    "mbstd-ema": ["--loss", "ns", "--ema", "0.99", "--mbstd"],
    # ... and both learning rates decayed linearly to 0.
    "mbstd-ema-decay": ["--loss", "ns", "--ema", "0.99", "--mbstd", "--lr-decay"],
    # Two time-scale learning rates, decayed, + mbstd + EMA: best on seed 0 while tuning.
    "ttur-mbstd": ["--loss", "ns", "--lr-d", "2e-3", "--lr-g", "5e-4", "--lr-decay", "--ema",
                   "0.99", "--mbstd"],
    # The best on the grid: twice the learning rate of mbstd-ema for both players and 14,000
    # steps (under 5 minutes), so the points contract further onto the modes; on the ring it
    # loses modes. --drs also writes points filtered by discriminator rejection sampling,
    # scored as the row "fast-mbstd-ema + DRS" (a sampling-time trick, reported apart).
    "fast-mbstd-ema": ["--loss", "ns", "--lr-g", "2e-3", "--lr-d", "2e-3", "--ema", "0.99",
                       "--mbstd", "--steps", "14000", "--drs"],
    # fast-mbstd-ema trained longer, 20,000 steps: possible in 5 minutes once linear layers
    # became one op each (a step 11.8 -> 7.9 ms); seeds 1 and 3 were still improving at 14k.
    "long-mbstd-ema": ["--loss", "ns", "--lr-g", "2e-3", "--lr-d", "2e-3", "--ema", "0.99",
                       "--mbstd", "--steps", "20000", "--drs"],
    # ... with both learning rates constant for 14,000 steps, then decayed linearly to 0.
    "long-decay": ["--loss", "ns", "--lr-g", "2e-3", "--lr-d", "2e-3", "--ema", "0.99",
                   "--mbstd", "--steps", "20000", "--lr-decay", "--decay-start", "0.7", "--drs"],
    # ... constant for the same 14,000 steps as fast-mbstd-ema, then 14,000 steps of decay.
    "long-decay-28k": ["--loss", "ns", "--lr-g", "2e-3", "--lr-d", "2e-3", "--ema", "0.99",
                       "--mbstd", "--steps", "28000", "--lr-decay", "--decay-start", "0.5",
                       "--drs"],
    # ---- the objectives and remedies of docs/08_gan_objectives.md, each on the vanilla setup
    # (same networks, 6,000 steps) with its paper's settings where they transfer, untuned
    # (measured in docs/08_toy_benchmark.md).
    # WGAN-GP with the paper's toy settings: Adam 1e-4, betas (0.5, 0.9), 5 critic steps.
    "wgan-gp-paper": ["--loss", "wgan-gp", "--n-critic", "5", "--lr-g", "1e-4", "--lr-d", "1e-4",
                      "--beta2", "0.9"],
    # StyleGAN2: the logistic (ns) loss with R1 every 16 steps, weighted by 16.
    "logistic-lazy-r1": ["--loss", "logistic", "--r1", "0.1", "--r1-interval", "16"],
    "fgan-kl": ["--loss", "fgan-kl"],
    "fgan-reverse-kl": ["--loss", "fgan-reverse-kl"],
    "fgan-js": ["--loss", "fgan-js"],
    "fgan-pearson": ["--loss", "fgan-pearson"],
    "fgan-hellinger": ["--loss", "fgan-hellinger"],
    # MMD on the critic's (1-D) output, weights clipped to 0.01 as in Li et al. 2017.
    "mmd": ["--loss", "mmd"],
    # ... with the paper's kind of critic, a feature vector (16 outputs), kept Lipschitz by
    # spectral norm instead of clipping: this MLP has no batch norm to undo clipping's shrinking
    # (ring seed 0 after 1,500 steps while choosing: clipped to 0.1, 1 mode; unconstrained, 4;
    # spectral norm, 7).
    "mmd-features": ["--loss", "mmd", "--d-features", "16", "--clip", "0", "--spectral-norm"],
    "ebgan": ["--ebgan", "1"],
    "began": ["--began", "0.5"],
    "diffusion-gan": ["--diffusion", "500"],
    "unrolled-5": ["--unrolled", "5", "--unrolled-lr", "1e-2"],
    # ... unrolled at D's own learning rate (1e-3): at 1e-2 the 5 look-ahead steps overshoot
    # and D saturates (ring seed 0: at 1e-2 D(x) is 0.94 by step 1,800 and the run ends with
    # no mode; at 1e-3 D(x) is 0.72 at step 2,400, with 6 modes covered).
    "unrolled-5-lr-d": ["--unrolled", "5"],
    "mode-seeking": ["--mode-seeking", "1"],
    "infogan": ["--infogan", MODES],
    "pacgan-2": ["--pack", "2"],
    "pacgan-4": ["--pack", "4"],
    "ttur": ["--lr-d", "2e-3", "--lr-g", "5e-4"],
    "d-skip": ["--d-skip", "0.7"],
    # The lecture table's classic objectives on the vanilla setup, untuned (their papers'
    # losses; the networks, Adam and steps of vanilla). WGAN: 5 critic steps, weights clipped
    # to 0.01, the paper's lr 5e-5 (with Adam(0.5, 0.999) here, not the paper's RMSProp).
    "lsgan": ["--loss", "lsgan"],
    "hinge": ["--loss", "hinge"],
    "rasgan": ["--loss", "rasgan"],
    "wgan-clip": ["--loss", "wgan", "--n-critic", "5", "--lr-g", "5e-5", "--lr-d", "5e-5"],
    # ---- moonshot attempts: logistic + lazy R1 (the only new row with every mode on every
    # seed) made sharper with what sharpened the ns rows: mbstd, an EMA of G, decayed rates.
    "r1-ema-decay": ["--loss", "logistic", "--r1", "0.1", "--r1-interval", "16", "--mbstd",
                     "--ema", "0.99", "--lr-decay"],
    "r1-long-decay": ["--loss", "logistic", "--r1", "0.1", "--r1-interval", "16", "--mbstd",
                      "--ema", "0.99", "--lr-g", "2e-3", "--lr-d", "2e-3", "--steps", "16000",
                      "--lr-decay", "--decay-start", "0.5", "--drs"],
    # ... at the ring's learning rate, 1e-3, for the same 16,000 steps
    "r1-slow-decay": ["--loss", "logistic", "--r1", "0.1", "--r1-interval", "16", "--mbstd",
                      "--ema", "0.99", "--steps", "16000", "--lr-decay", "--decay-start", "0.5"],
    # The ring's recipe (mbstd-ema, lr 1e-3) on long-decay-28k's schedule: 14,000 steps at a
    # constant rate, then 14,000 decayed to 0. The rate that keeps the ring's modes, for as
    # long as the grid needs to contract onto its own.
    "long-decay-28k-slow": ["--loss", "ns", "--ema", "0.99", "--mbstd", "--steps", "28000",
                            "--lr-decay", "--decay-start", "0.5"],
}
DRS = " + DRS"  # suffix of the rows scored on the --drs points of a run
DATASETS = {"ring": [], "grid": []}
# seed-0 plots copied to docs/figures (as toy_grid_best.png, ...): vanilla, the grid's best
# of the first round and the one configuration for both datasets
FIGURE_NAMES = {"vanilla": "vanilla", "fast-mbstd-ema": "best", "long-decay-28k-slow": "moonshot"}


def flags(config, dataset):
    """examples/toy_2d.py's flags for a configuration on a dataset (MODES filled in)."""
    return [a.format(modes=8 if dataset == "ring" else 25) if a == MODES else a
            for a in [*COMMON, *CONFIGS[config], *DATASETS[dataset]]]


def run_one(config, dataset, seed, out, steps=None):
    folder = os.path.join(out, f"{config}_{dataset}_{seed}")
    os.makedirs(folder, exist_ok=True)
    samples = os.path.join(folder, "samples.npy")
    command = [sys.executable, os.path.join(ROOT, "examples", "toy_2d.py"), "--dataset", dataset,
               "--seed", str(seed), "--samples-out", samples, "--out", folder,
               *flags(config, dataset)]
    if steps:  # a smoke test: every configuration for a few steps
        command += ["--steps", str(steps)]
    done = os.path.join(folder, "metrics.json")
    if os.path.exists(done):  # finished in an earlier invocation: reuse (delete to rerun)
        with open(done) as f:
            return json.load(f)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.time()
    with open(os.path.join(folder, "log.txt"), "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        # os.wait4 also returns the CPU time of this child alone: on a shared machine the
        # wall-clock time depends on who else is running, the CPU time much less.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    times = {"seconds": time.time() - start, "cpu_seconds": usage.ru_utime + usage.ru_stime}
    if process.returncode == DIVERGED:  # NaN or inf loss: no samples, a result all the same
        results = [[config, dataset, seed, {"modes_covered": 0, "high_quality_fraction": 0.0,
                                            "reverse_kl": float("inf"), "diverged": True,
                                            **times}]]
        with open(done, "w") as f:
            json.dump(results, f)
        print(*results[0], flush=True)
        return results
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, command)
    rows = {config: samples}
    if "--drs" in CONFIGS[config]:  # the same run's points filtered by DRS: a row of its own
        rows[config + DRS] = samples.replace(".npy", "_drs.npy")
    results = [[row, dataset, seed, {**mode_coverage(np.load(path), dataset), **times}]
               for row, path in rows.items()]
    codes = samples.replace(".npy", "_codes.npz")
    if os.path.exists(codes):  # --infogan: how consistently each code value picks a mode
        with np.load(codes) as saved:
            results[0][3]["code_agreement"] = code_mode_agreement(saved["points"], saved["codes"],
                                                                  dataset)
    with open(done, "w") as f:
        json.dump(results, f)
    for result in results:
        print(*result, flush=True)
    return results


def copy_small(source, target):
    """Copy a plot as a 64-colour palette PNG (about a third of the size) for the docs."""
    from PIL import Image
    Image.open(source).convert("RGB").quantize(colors=64).save(target, optimize=True)


def table(results, seeds):
    lines = ["| configuration | dataset | modes covered | high-quality samples (%) | reverse KL "
             "| time per run (s) | CPU time per run (s) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    notes = []  # InfoGAN's code agreement, under the table

    def order(row):  # configurations in CONFIGS order, each followed by its DRS row
        return list(CONFIGS).index(row.removesuffix(DRS)), row.endswith(DRS)
    for config in sorted({c for c, _, _ in results}, key=order):
        for dataset in DATASETS:
            rows = [results[(config, dataset, s)] for s in seeds if (config, dataset, s) in results]
            if not rows:
                continue
            total = 8 if dataset == "ring" else 25

            def stat(key, scale=1.0, fmt=".2f"):
                values = np.array([r[key] for r in rows], dtype=float) * scale
                return f"{values.mean():{fmt}} ± {values.std():{fmt}}"
            cpu = stat("cpu_seconds", fmt=".0f") if all("cpu_seconds" in r for r in rows) else "–"
            label = config if len(rows) == len(seeds) else f"{config} ({len(rows)} of {len(seeds)} seeds)"
            diverged = sum(r.get("diverged", False) for r in rows)
            if diverged:  # counted as 0 modes, 0% and an infinite reverse KL
                label += f" ({diverged} diverged)"
            lines.append(f"| {label} | {dataset} | {stat('modes_covered', fmt='.1f')} / {total} | "
                         f"{stat('high_quality_fraction', 100, '.1f')} | {stat('reverse_kl', fmt='.3f')} | "
                         f"{stat('seconds', fmt='.0f')} | {cpu} |")
            if all("code_agreement" in r for r in rows):
                notes.append(f"{config}, {dataset}: {stat('code_agreement', 100, '.1f')}% of the "
                             f"high-quality samples lie on their code value's majority mode")
    return "\n".join(lines + [""] + notes if notes else lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--out", default="runs/toy_modes")
    p.add_argument("--figures", default=os.path.join(ROOT, "docs", "figures"))
    p.add_argument("--steps", type=int, help="override every configuration's steps (smoke test; "
                   "the figures are not copied)")
    p.add_argument("--report", action="store_true",
                   help="only print the table of the runs already done in --out (run nothing)")
    args = p.parse_args()
    seeds = list(range(args.seeds))
    jobs = [(c, d, s, args.out, args.steps) for c in args.configs for d in args.datasets
            for s in seeds]
    if args.report:  # what has finished so far (a run's metrics.json is written at its end)
        jobs = [job for job in jobs if os.path.exists(
            os.path.join(args.out, f"{job[0]}_{job[1]}_{job[2]}", "metrics.json"))]
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = pool.map(lambda job: run_one(*job), jobs)
        results = {(row, dataset, seed): metrics for rows in runs
                   for row, dataset, seed, metrics in rows}
    # results.json keeps every run of this folder: an invocation for other configurations adds
    # its rows instead of replacing the earlier ones (each run's own metrics.json stays too).
    saved = os.path.join(args.out, "results.json")
    merged = {}
    if os.path.exists(saved):
        with open(saved) as f:
            merged = json.load(f)
    merged.update({"/".join(map(str, k)): v for k, v in results.items()})
    with atomic_open(saved, "w") as f:
        json.dump(merged, f, indent=1)
    os.makedirs(args.figures, exist_ok=True)
    for config in [c for c in args.configs if c in FIGURE_NAMES and not args.steps
                   and not args.report]:
        for dataset in args.datasets:
            run = os.path.join(args.out, f"{config}_{dataset}_0")
            name = FIGURE_NAMES[config]
            copy_small(os.path.join(run, "scatter.png"),
                       os.path.join(args.figures, f"toy_{dataset}_{name}.png"))
            if dataset == "grid":  # the loss curves shown in docs/08_gan_loss_curves.md
                copy_small(os.path.join(run, "losses.png"),
                           os.path.join(args.figures, f"toy_losses_{dataset}_{name}.png"))
            if os.path.exists(os.path.join(run, "scatter_drs.png")):
                copy_small(os.path.join(run, "scatter_drs.png"),
                           os.path.join(args.figures, f"toy_{dataset}_{name}_drs.png"))
    print(table(results, seeds))


if __name__ == "__main__":
    main()
