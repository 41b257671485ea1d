"""SAGAN (Zhang et al. 2019, Sec. 5): ResNet bodies with self-attention at 16x16, spectral
norm in both nets, hinge loss, and two time scales: Adam lr_G = 1e-4, lr_D = 4e-4, betas
(0, 0.9). ``pool``: max-pool the attention's keys and values (the official code does)."""
from minigan.gan.models.sagan import SAGANGenerator, SAGANDiscriminator

from . import gan_trainer

DEFAULTS = dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, betas=(0.0, 0.9), nz=128, ngf=32, ndf=32,
                n_critic=1, ema=None, pool=True)


def build_trainer(config):
    def models():
        size = config["image_size"]
        return (SAGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=size,
                               pool=config["pool"]),
                SAGANDiscriminator(ndf=config["ndf"], image_size=size, pool=config["pool"]))
    return gan_trainer(config, models)
