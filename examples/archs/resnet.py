"""SNGAN's ResNet pair (Miyato et al. 2018, Table 4): spectral norm in D, hinge loss,
Adam betas (0, 0.9) as in the paper's ResNet runs. Narrower than the paper (G 256, D 128
channels) and one D step per G step instead of five, to fit a CPU budget."""
from minigan.gan.models.sngan import SNGANGenerator, SNGANDiscriminator

from . import gan_trainer

DEFAULTS = dict(loss="hinge", lr_g=2e-4, lr_d=2e-4, betas=(0.0, 0.9), nz=128, ngf=32, ndf=32,
                n_critic=1, ema=None)


def build_trainer(config):
    def models():
        size = config["image_size"]
        return (SNGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=size),
                SNGANDiscriminator(ndf=config["ndf"], image_size=size, spectral_norm=True))
    return gan_trainer(config, models)
