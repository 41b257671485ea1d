"""Train a GAN on 2-D toy data (8 Gaussians on a ring, or a 5x5 grid) and measure mode collapse.

    python3 examples/toy_2d.py --dataset ring --loss ns --steps 3000 --seed 0 \\
        --samples-out ring.npy --out runs/ring

writes 2,500 generated points to ``ring.npy``, prints how many modes they cover, the share of
high-quality points (within 3 std of a mode) and the reverse KL between mode histograms, and
(with ``--out``) saves a scatter plot and the loss curves. Every trick of `minigan.gan` has a
flag; ``--drs`` also scores points filtered by discriminator rejection sampling, a sampling-time
trick reported apart. ``benchmarks/toy_modes.py`` runs this over seeds. See
``docs/08_toy_benchmark.md``. One set of flags covers every mode of both datasets with over
95% high-quality points on each of 5 seeds, in under 4 minutes on one core (its moonshot):

    python3 examples/toy_2d.py --dataset grid --seed 0 --samples-out grid.npy --out runs/grid \
        --mbstd --ema 0.99 --steps 28000 --lr-decay --decay-start 0.5
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402  (host side: data and metrics)

import minigan  # noqa: E402
from minigan import optim  # noqa: E402
from minigan.data.toy import code_mode_agreement, mode_coverage, sample_toy, toy_modes  # noqa: E402,E501
from minigan.gan import (MLPGenerator, MLPDiscriminator, ReferenceBatch,  # noqa: E402
                         ConditionalMLPGenerator, ConditionalMLPDiscriminator, OBJECTIVES,
                         rejection_sample, PackedDiscriminator, AutoencoderDiscriminator, QHead,
                         linear_decay)
from minigan.gan.remedies import REMEDIES, chosen_remedies  # noqa: E402
from minigan.gan.trainer import NonFiniteLossError  # noqa: E402
from minigan.gan.remedies import make_trainer as remedy_trainer  # noqa: E402
from minigan.utils.cli import (checked, decay_rate, fraction, non_negative_float,  # noqa: E402
                               non_negative_int, positive_float, positive_int)


real_label = checked(float, lambda x: 0 < x <= 1, "in (0, 1], e.g. 0.9")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", choices=["ring", "grid"], default="ring")
    p.add_argument("--loss", choices=sorted(OBJECTIVES), default="ns")
    p.add_argument("--steps", type=positive_int, default=3000, help="generator updates")
    p.add_argument("--seed", type=non_negative_int, default=0)  # NumPy refuses -1
    p.add_argument("--samples-out", required=True, help=".npy file for 2,500 generated points")
    p.add_argument("--out", help="folder for the scatter plot and loss curves")
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--nz", type=positive_int, default=2, help="latent dimension")
    p.add_argument("--hidden", type=positive_int, default=128)
    p.add_argument("--layers", type=positive_int, default=3)
    p.add_argument("--d-hidden", type=positive_int, help="D's width (default: --hidden)")
    p.add_argument("--d-layers", type=positive_int, help="D's depth (default: --layers)")
    p.add_argument("--d-features", type=positive_int, default=1,
                   help="D's outputs per point: 1 is a logit; more are critic features (mmd)")
    p.add_argument("--batchnorm", action="store_true", help="batch norm in G's hidden layers")
    p.add_argument("--lr-g", type=positive_float, default=1e-3)
    p.add_argument("--lr-d", type=positive_float, default=1e-3)
    p.add_argument("--beta1", type=fraction, default=0.5)
    p.add_argument("--beta2", type=fraction, default=0.999)
    p.add_argument("--lr-decay", action="store_true", help="decay both learning rates linearly to 0")
    p.add_argument("--decay-start", type=fraction, default=0.0,
                   help="with --lr-decay: fraction of the steps after which the decay starts")
    p.add_argument("--n-critic", type=positive_int, default=1)
    p.add_argument("--gp", type=non_negative_float, help="gradient penalty weight")
    p.add_argument("--r1", type=non_negative_float, default=0.0, help="R1 penalty gamma")
    p.add_argument("--r1-interval", type=positive_int, default=1,
                   help="lazy R1 (StyleGAN2): R1 every N steps, weighted by N")
    p.add_argument("--d-skip", type=float, help="skip D updates while its loss is below this")
    p.add_argument("--clip", type=non_negative_float,
                   help="weight clipping c (default: the objective's, 0.01 for wgan and mmd; "
                        "0 turns it off)")
    p.add_argument("--label-smoothing", type=real_label, default=1.0,
                   help="real label, e.g. 0.9")
    p.add_argument("--instance-noise", type=non_negative_float, default=0.0,
                   help="initial noise std")
    p.add_argument("--feature-matching", action="store_true")
    p.add_argument("--mbstd", action="store_true", help="minibatch stddev feature in D")
    p.add_argument("--spectral-norm", action="store_true", help="spectral norm in D")
    p.add_argument("--historical", type=non_negative_float, default=0.0,
                   help="historical averaging weight")
    p.add_argument("--ema", type=decay_rate, help="EMA decay of G weights, e.g. 0.999")
    p.add_argument("--vbn", action="store_true", help="virtual batch norm in G")
    p.add_argument("--conditional", action="store_true", help="condition on the mode index")
    # one of the remedies / energy objectives (each is its own trainer, so at most one)
    p.add_argument("--pack", type=positive_int, default=1, help="PacGAN: samples per D input")
    p.add_argument("--unrolled", type=positive_int, help="Unrolled GAN: D steps to look ahead")
    p.add_argument("--unrolled-lr", type=positive_float, help="SGD rate of the unrolled steps")
    p.add_argument("--mode-seeking", type=positive_float, help="MSGAN: weight of the loss")
    p.add_argument("--infogan", type=positive_int,
                   help="InfoGAN: categories of the categorical code (plus one continuous)")
    p.add_argument("--ebgan", type=positive_float, metavar="MARGIN",
                   help="EBGAN with this margin (autoencoder D, pulling-away term 0.1)")
    p.add_argument("--began", type=fraction, metavar="GAMMA",
                   help="BEGAN with this diversity ratio gamma (autoencoder D)")
    p.add_argument("--diffusion", type=positive_int, metavar="T_MAX",
                   help="Diffusion-GAN: diffuse D's inputs, T adapted up to T_MAX")
    p.add_argument("--drs", action="store_true",
                   help="also draw 2,500 points by discriminator rejection sampling (a "
                        "sampling-time trick) into NAME_drs.npy next to --samples-out")
    p.add_argument("--eval-every", type=non_negative_int, default=0,
                   help="print the metrics every N steps (0: never)")
    return p.parse_args(argv)


DIVERGED = 3  # the exit status of a run whose loss became NaN or infinite


def codes_path(samples_out):
    """Where --infogan writes new samples with the categorical code that drew each one."""
    return os.path.splitext(samples_out)[0] + "_codes.npz"


def drs_path(samples_out):
    """Where --drs writes its points: ring.npy -> ring_drs.npy."""
    root, ext = os.path.splitext(samples_out)
    return f"{root}_drs{ext or '.npy'}"


def build(args, num_modes):
    if args.ebgan or args.began is not None:  # energy-based: an autoencoder D
        G = MLPGenerator(args.nz, args.hidden, args.layers, 2)
        D = AutoencoderDiscriminator(2, args.d_hidden or args.hidden, 16,
                                     args.d_layers or args.layers, p=1 if args.ebgan is None else 2)
        return G, D
    if args.conditional:
        G = ConditionalMLPGenerator(num_modes, args.nz, args.hidden, args.layers)
        D = ConditionalMLPDiscriminator(num_modes, 2, args.d_hidden or args.hidden, args.layers,
                                        spectral_norm=args.spectral_norm)
        return G, D
    reference_size = 64
    norm = "virtual" if args.vbn else "batch" if args.batchnorm else None
    nz = args.nz + (args.infogan + 1 if args.infogan else 0)  # InfoGAN: z, one-hot c, c_cont
    G = MLPGenerator(nz, args.hidden, args.layers, 2, norm=norm, reference_size=reference_size)
    if args.vbn:  # the reference batch: noise drawn once, passed through G with every batch
        G = ReferenceBatch(G, minigan.randn(reference_size, args.nz))
    D = MLPDiscriminator(2 * args.pack, args.d_hidden or args.hidden, args.d_layers or args.layers,
                         spectral_norm=args.spectral_norm, minibatch_std=args.mbstd,
                         out_features=args.d_features)
    if args.pack > 1:
        D = PackedDiscriminator(D, args.pack)
    return G, D


def make_trainer(args, G, D, g_opt, d_opt, **options):
    """GANTrainer, or the trainer of the one remedy asked for (minigan.gan.remedies)."""
    chosen = chosen_remedies(vars(args))
    if len(chosen) > 1:
        flags = ", ".join("--" + name.replace("_", "-") for name in chosen)
        raise SystemExit(f"choose at most one of {flags}")
    q_head = None
    if args.infogan:  # Q shares D's body (its last hidden layer) and learns with G
        q_head = QHead(args.d_hidden or args.hidden, args.infogan, 1, hidden=args.hidden)
    return remedy_trainer(G, D, g_opt, d_opt, unrolled_lr=args.unrolled_lr, q_head=q_head,
                          **{name: getattr(args, name) for name in REMEDIES}, **options)


def main(argv=None):
    args = parse_args(argv)
    remedy = any(getattr(args, name) is not None for name in REMEDIES)
    if args.drs and (args.conditional or args.vbn or args.loss not in ("ns", "minimax", "logistic")
                     or args.pack > 1 or remedy):
        raise SystemExit("--drs needs an unconditional G and a D trained as a classifier "
                         "(its logit estimates log p_data / p_G): not --conditional, --vbn, "
                         f"--pack, a remedy, or --loss {args.loss}")
    if args.d_features > 1 and (args.loss != "mmd" or args.pack > 1 or remedy or args.conditional):
        raise SystemExit(f"--d-features {args.d_features} gives D a feature vector, which only "
                         f"--loss mmd compares (not --loss {args.loss}, --pack, --conditional "
                         f"or a remedy)")
    if args.pack > 1 and (args.infogan or args.ebgan or args.began is not None):
        raise SystemExit("--pack works with the logit discriminator only: not with --infogan, "
                         "--ebgan or --began")
    minigan.manual_seed(args.seed)  # model initialisation
    data_rng = np.random.default_rng(args.seed + 1000)
    modes, _ = toy_modes(args.dataset)
    # Standardise the data, as images are scaled to [-1, 1]: the networks see coordinates
    # of spread ~1 (the grid spans +-4), and the samples are scaled back at the end.
    scale = float(modes.std())
    G, D = build(args, len(modes))
    betas = (args.beta1, args.beta2)
    g_opt = optim.Adam(G.parameters(), lr=args.lr_g, betas=betas)
    d_opt = optim.Adam(D.parameters(), lr=args.lr_d, betas=betas)
    trainer = make_trainer(args, G, D, g_opt, d_opt, objective=args.loss, n_critic=args.n_critic,
                           gp_weight=args.gp, clip_value=args.clip, r1_gamma=args.r1,
                           r1_interval=args.r1_interval, d_skip_below=args.d_skip,
                           real_label=args.label_smoothing, instance_noise=args.instance_noise,
                           noise_anneal_steps=args.steps // 2,
                           feature_matching=args.feature_matching,
                           historical_weight=args.historical, ema_decay=args.ema,
                           num_classes=len(modes) if args.conditional else None,
                           seed=args.seed, num_samples=2500)

    def batches():
        while True:
            x = sample_toy(args.dataset, args.batch_size, data_rng)
            if args.conditional:  # the label of a point is the index of its mode
                labels = np.linalg.norm(x[:, None] - modes[None], axis=2).argmin(axis=1)
                yield x / scale, labels
            else:
                yield x / scale

    factor = linear_decay(args.steps, args.decay_start)

    def decay(trainer, log):
        if args.lr_decay:  # constant until decay_start, then linearly to 0 at the last step
            for opt, lr in ((g_opt, args.lr_g), (d_opt, args.lr_d)):
                for group in opt.param_groups:
                    group["lr"] = lr * factor(trainer.step)

    def report(trainer, log):
        if trainer.step % max(1, args.steps // 10) == 0 or trainer.step == args.steps:
            print(f"step {trainer.step:6d}  loss_D {log['loss_D']:.4f}  loss_G {log['loss_G']:.4f}"
                  f"  D(x) {log['D(x)']:.3f}  D(G(z)) {log['D(G(z))']:.3f}", flush=True)
        if args.eval_every and trainer.step % args.eval_every == 0:
            m = mode_coverage(trainer.sample().numpy() * scale, args.dataset)
            print(f"  eval step {trainer.step:6d}: {m['modes_covered']} modes, "
                  f"{100 * m['high_quality_fraction']:.1f}% high quality, reverse KL "
                  f"{m['reverse_kl']:.3f} ({time.time() - start:.0f} s)", flush=True)

    start = time.time()
    try:
        trainer.fit(batches(), args.steps, callbacks=[decay, report])
    except NonFiniteLossError as error:  # a result too: benchmarks/toy_modes.py counts it
        print(error, flush=True)
        raise SystemExit(DIVERGED)
    samples = trainer.sample().numpy() * scale
    np.save(args.samples_out, samples.astype(np.float32))
    metrics = mode_coverage(samples, args.dataset)
    if args.infogan:  # which mode does each value of the categorical code draw?
        noise = trainer.noise(2500)
        points = trainer.sample(noise).numpy() * scale
        codes = trainer.last_codes[0].numpy()
        np.savez(codes_path(args.samples_out), points=points, codes=codes)
        metrics["code_agreement"] = code_mode_agreement(points, codes, args.dataset)
        print(f"InfoGAN: {100 * metrics['code_agreement']:.1f}% of samples on their code's "
              f"majority mode")
    print(f"modes covered {metrics['modes_covered']}/{len(modes)}  high quality "
          f"{100 * metrics['high_quality_fraction']:.1f}%  reverse KL {metrics['reverse_kl']:.4f}"
          f"  ({time.time() - start:.0f} s)")
    if args.drs:  # filter new samples of the same generator (the EMA copy, if any) through D
        sampler = trainer.ema.module if trainer.ema is not None else G
        kept, rate = rejection_sample(sampler, D, 2500, args.nz, args.batch_size,
                                      rng=np.random.default_rng(args.seed + 2000))
        drs_samples = kept.numpy() * scale
        np.save(drs_path(args.samples_out), drs_samples.astype(np.float32))
        drs = mode_coverage(drs_samples, args.dataset)
        metrics["drs"] = drs
        print(f"with discriminator rejection sampling ({100 * rate:.1f}% accepted): modes covered "
              f"{drs['modes_covered']}/{len(modes)}  high quality "
              f"{100 * drs['high_quality_fraction']:.1f}%  reverse KL {drs['reverse_kl']:.4f}"
              f"  ({time.time() - start:.0f} s)")
    if args.out:
        from minigan.utils.plots import plot_toy_scatter, plot_losses
        os.makedirs(args.out, exist_ok=True)
        real = sample_toy(args.dataset, 2500, np.random.default_rng(0))
        title = (f"{args.dataset}, {args.loss}: {metrics['modes_covered']}/{len(modes)} modes, "
                 f"{100 * metrics['high_quality_fraction']:.0f}% high quality")
        plot_toy_scatter(real, samples, os.path.join(args.out, "scatter.png"), title, modes=modes)
        plot_losses(trainer.history, os.path.join(args.out, "losses.png"))
        if args.drs:
            title = (f"{args.dataset}, {args.loss} + DRS: {drs['modes_covered']}/{len(modes)} "
                     f"modes, {100 * drs['high_quality_fraction']:.0f}% high quality")
            plot_toy_scatter(real, drs_samples, os.path.join(args.out, "scatter_drs.png"), title,
                             modes=modes)
    return metrics


if __name__ == "__main__":
    main()
