"""Mode-coverage benchmark: vanilla GAN vs tuned configurations on the 2-D toy data.

    python3 benchmarks/toy_modes.py --seeds 5 --jobs 2 --out runs/toy_modes

runs ``examples/toy_2d.py`` for every (configuration, dataset, seed) not already done in
``--out``, scores the 2,500 saved points with `minigan.data.toy.mode_coverage`, and prints a Markdown table of mean +- std over
seeds (the one in ``docs/08_toy_benchmark.md``). The scatter plots of seed 0 are copied to
``--figures`` (docs/figures by default). Each run is a separate process with one BLAS thread,
so ``--jobs`` runs share the CPU without oversubscribing it.
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
from minigan.data.toy import mode_coverage  # noqa: E402

COMMON = ["--steps", "6000"]
CONFIGS = {
    # The same MLPs (3 hidden layers of 128), non-saturating loss, Adam(1e-3, betas (0.5, 0.999))
    # for both players, batch 256: examples/toy_2d.py's defaults, no tricks.
    "vanilla": ["--loss", "ns"],
    # The best: vanilla plus minibatch stddev in D and samples from an EMA of G.
    "mbstd-ema": ["--loss", "ns", "--ema", "0.99", "--mbstd"],
    # ... and both learning rates decayed linearly to 0.
    "mbstd-ema-decay": ["--loss", "ns", "--ema", "0.99", "--mbstd", "--lr-decay"],
    # Two time-scale learning rates, decayed, + mbstd + EMA: best on seed 0 while tuning.
    "ttur-mbstd": ["--loss", "ns", "--lr-d", "2e-3", "--lr-g", "5e-4", "--lr-decay", "--ema",
                   "0.99", "--mbstd"],
}
DATASETS = {"ring": [], "grid": []}


def run_one(config, dataset, seed, out):
    folder = os.path.join(out, f"{config}_{dataset}_{seed}")
    os.makedirs(folder, exist_ok=True)
    samples = os.path.join(folder, "samples.npy")
    command = [sys.executable, os.path.join(ROOT, "examples", "toy_2d.py"), "--dataset", dataset,
               "--seed", str(seed), "--samples-out", samples, "--out", folder,
               *COMMON, *CONFIGS[config], *DATASETS[dataset]]
    done = os.path.join(folder, "metrics.json")
    if os.path.exists(done):  # finished in an earlier invocation: reuse (delete to rerun)
        with open(done) as f:
            return (config, dataset, seed), json.load(f)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.time()
    with open(os.path.join(folder, "log.txt"), "w") as log:
        subprocess.run(command, check=True, stdout=log, stderr=subprocess.STDOUT, env=env)
    metrics = mode_coverage(np.load(samples), dataset)
    metrics["seconds"] = time.time() - start
    with open(done, "w") as f:
        json.dump(metrics, f)
    print(f"{config:8s} {dataset:5s} seed {seed}: {metrics}", flush=True)
    return (config, dataset, seed), metrics


def copy_small(source, target):
    """Copy a plot as a 64-colour palette PNG (about a third of the size) for the docs."""
    from PIL import Image
    Image.open(source).convert("RGB").quantize(colors=64).save(target, optimize=True)


def table(results, seeds):
    lines = ["| configuration | dataset | modes covered | high-quality samples (%) | reverse KL | time per run (s) |",
             "| --- | --- | --- | --- | --- | --- |"]
    for config in sorted({c for c, _, _ in results}, key=list(CONFIGS).index):
        for dataset in DATASETS:
            rows = [results[(config, dataset, s)] for s in seeds if (config, dataset, s) in results]
            if not rows:
                continue
            total = 8 if dataset == "ring" else 25

            def stat(key, scale=1.0, fmt=".2f"):
                values = np.array([r[key] for r in rows], dtype=float) * scale
                return f"{values.mean():{fmt}} ± {values.std():{fmt}}"
            lines.append(f"| {config} | {dataset} | {stat('modes_covered', fmt='.1f')} / {total} | "
                         f"{stat('high_quality_fraction', 100, '.1f')} | {stat('reverse_kl', fmt='.3f')} | "
                         f"{stat('seconds', fmt='.0f')} |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS))
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--out", default="runs/toy_modes")
    p.add_argument("--figures", default=os.path.join(ROOT, "docs", "figures"))
    args = p.parse_args()
    seeds = list(range(args.seeds))
    jobs = [(c, d, s, args.out) for c in args.configs for d in args.datasets for s in seeds]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = dict(pool.map(lambda job: run_one(*job), jobs))
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"/".join(map(str, k)): v for k, v in results.items()}, f, indent=1)
    os.makedirs(args.figures, exist_ok=True)
    for config in args.configs:
        for dataset in args.datasets:
            run = os.path.join(args.out, f"{config}_{dataset}_0")
            copy_small(os.path.join(run, "scatter.png"),
                       os.path.join(args.figures, f"toy_{dataset}_{config}.png"))
            copy_small(os.path.join(run, "losses.png"),
                       os.path.join(args.figures, f"toy_losses_{dataset}_{config}.png"))
    print(table(results, seeds))


if __name__ == "__main__":
    main()
