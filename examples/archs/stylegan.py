"""StyleGAN-lite for the cats entry point: ``python examples/cats_gan.py --arch stylegan``.

The models, mixing and truncation are in minigan/gan/models/stylegan.py (docs/12_stylegan.md).
The defaults are StyleGAN2's recipe scaled down to 32x32 on a CPU: the logistic loss with lazy
R1 every 16 steps, Adam with betas (0, 0.99) and lr 2e-3 for both nets (equalised learning
rates make one rate fit all layers), style mixing with probability 0.9, an EMA of G for the
samples. D's Adam is corrected for lazy R1 as in StyleGAN2 (Sec. 3.1 and its code): with R1 on
one step in k, the regularised steps count as k + 1 ordinary ones, so its lr and betas are
raised to the power c = k / (k + 1).
"""
from minigan import manual_seed, optim
from minigan.gan.models.stylegan import (StyleGANDiscriminator, StyleGANGenerator,
                                         StyleGANTrainer)

# Widths: 16 channels at 32x32, doubling per halving up to 64 (a step costs ~2.5 DCGAN steps
# of examples/cats_dcgan.py's CPU widths; docs/12_stylegan.md). r1_gamma: StyleGAN2-ADA's
# heuristic 0.0002 * size^2 / batch gives 0.003 at 32x32 and batch 64; 0.1 errs on the side
# of a smooth D for short runs (unmeasured: the lead's runs will tell). ema: a half-life of
# ~140 steps, StyleGAN2's 10k images at batch 64 (0.999 would leave a 300-step run's average
# three-quarters made of the initial weights).
DEFAULTS = dict(loss="logistic", lr_g=2e-3, lr_d=2e-3, betas=(0.0, 0.99), nz=128, ngf=16,
                ndf=16, max_channels=64, w_dim=64, mapping_layers=4, mapping_lr_mul=0.01,
                r1_gamma=0.1, r1_interval=16, mixing_prob=0.9, n_critic=1, ema=0.995,
                pl_weight=0.0)  # path-length regularisation: StyleGAN2 uses 2 (costly on a CPU)


def settings(config):
    """DEFAULTS, overridden by every key of ``config`` that is not None."""
    given = {k: v for k, v in config.items() if v is not None}
    return {**DEFAULTS, "image_size": 32, "seed": 0, "device": "cpu", **given}


def build_trainer(config):
    """Models on config["device"], initialised from config["seed"], and their trainer."""
    c = settings(config)
    manual_seed(c["seed"])  # layer initialisation draws from minigan's generator
    G = StyleGANGenerator(nz=c["nz"], w_dim=c["w_dim"], image_size=c["image_size"], ngf=c["ngf"],
                          max_channels=c["max_channels"], mapping_layers=c["mapping_layers"],
                          mapping_lr_mul=c["mapping_lr_mul"]).to(c["device"])
    D = StyleGANDiscriminator(ndf=c["ndf"], image_size=c["image_size"],
                              max_channels=c["max_channels"]).to(c["device"])
    lazy = c["r1_interval"] / (c["r1_interval"] + 1) if c["r1_gamma"] else 1.0
    beta1, beta2 = c["betas"]
    return StyleGANTrainer(
        G, D, optim.Adam(G.parameters(), lr=c["lr_g"], betas=(beta1, beta2)),
        optim.Adam(D.parameters(), lr=c["lr_d"] * lazy, betas=(beta1 ** lazy, beta2 ** lazy)),
        mixing_prob=c["mixing_prob"], objective=c["loss"], r1_gamma=c["r1_gamma"],
        r1_interval=c["r1_interval"], pl_weight=c["pl_weight"], n_critic=c["n_critic"],
        ema_decay=c["ema"], seed=c["seed"], num_samples=64)
