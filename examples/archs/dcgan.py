"""DCGAN (Radford et al. 2016), the baseline: the settings of examples/cats_dcgan.py on a CPU
(docs/09_training_cats.md): twice the paper's learning rate, Adam betas (0.5, 0.999)."""
from minigan.gan import DCGANGenerator, DCGANDiscriminator, dcgan_init

from . import gan_trainer

DEFAULTS = dict(loss="ns", lr_g=4e-4, lr_d=4e-4, betas=(0.5, 0.999), nz=100, ngf=48, ndf=32,
                n_critic=1, ema=None)


def build_trainer(config):
    def models():
        G = DCGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=config["image_size"])
        D = DCGANDiscriminator(ndf=config["ndf"], image_size=config["image_size"])
        return G.apply(dcgan_init), D.apply(dcgan_init)
    return gan_trainer(config, models)
