"""BigGAN-lite (Brock et al. 2019): conditional batch norm from a shared embedding and
z chunks, a projection D, orthogonal regularisation (beta 1e-4) and an EMA of G, with the
hinge loss and Adam lr_G = 1e-4, lr_D = 4e-4, betas (0, 0.999).

The cats have no class labels yet, so this builds the pair with ONE class: the embedding is
a learned constant and the projection a learned vector; the hierarchical z still feeds
every block. nz must split evenly into (number of G blocks + 1) chunks: 120 does at 32x32
(4 chunks of 30) and 64x64 (5 chunks of 24)."""
from minigan.gan.models.biggan import BigGANGenerator, BigGANDiscriminator, BigGANTrainer

from . import gan_trainer

DEFAULTS = dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, betas=(0.0, 0.999), nz=120, ngf=32, ndf=32,
                n_critic=1, ema=0.999, embed_dim=32, ortho_beta=1e-4, num_classes=1)


def build_trainer(config):
    def models():
        size, classes = config["image_size"], config["num_classes"]
        return (BigGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=size,
                                num_classes=classes, embed_dim=config["embed_dim"]),
                BigGANDiscriminator(ndf=config["ndf"], image_size=size, num_classes=classes))
    return gan_trainer(config, models, BigGANTrainer, ortho_beta=config["ortho_beta"])

NOTE = ("BigGAN-lite with a single class: the cats have no labels yet, so conditional batch "
        "norm and the projection D see one learned class embedding")
