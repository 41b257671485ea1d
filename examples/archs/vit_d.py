"""A ViT discriminator (ViTGAN-style: L2 attention and spectral norm on every linear layer)
against the DCGAN generator. ``ndf`` is the token width; patches of ``patch_size`` pixels,
``depth`` blocks of ``heads`` heads. Adam betas (0, 0.99) as in ViTGAN."""
from minigan.gan import DCGANGenerator, dcgan_init
from minigan.gan.models.vit import ViTDiscriminator

from . import gan_trainer

DEFAULTS = dict(loss="ns", lr_g=2e-4, lr_d=1e-4, betas=(0.0, 0.99), nz=100, ngf=48, ndf=64,
                n_critic=1, ema=None, patch_size=4, depth=3, heads=4, mlp_ratio=2, pool="cls",
                l2_attention=True, spectral_norm=True)


def build_trainer(config):
    def models():
        size = config["image_size"]
        G = DCGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=size)
        D = ViTDiscriminator(image_size=size, patch_size=config["patch_size"], dim=config["ndf"],
                             depth=config["depth"], num_heads=config["heads"],
                             mlp_ratio=config["mlp_ratio"], pool=config["pool"],
                             l2_attention=config["l2_attention"],
                             spectral_norm=config["spectral_norm"])
        return G.apply(dcgan_init), D
    return gan_trainer(config, models)
