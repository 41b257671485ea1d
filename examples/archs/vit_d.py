"""A ViT discriminator (ViTGAN-style: L2 attention and spectral norm on every linear layer)
against the DCGAN generator. ``ndf`` is the token width; patches of ``patch_size`` pixels,
``depth`` blocks of ``heads`` heads. Adam betas (0, 0.99) as in ViTGAN.

Two settings keep D from being fooled by one patch tiled over the image (the failure of the
first default run, docs/12_architectures.md): ViTGAN's overlapping patches (``overlap`` pixels
of each neighbour), and position embeddings drawn at unit scale (``pos_std``) instead of ViT's
0.02, so that D knows where a patch is from the first step; with the hinge loss and D's
learning rate 4 times G's (as SAGAN), D learns fast enough to use it. Samples come from an
exponential moving average of G (decay 0.995, as StyleGAN-lite's), which averages out much of
the colour noise G's own weights draw with."""
from minigan.gan import DCGANGenerator, dcgan_init
from minigan.gan.models.vit import ViTDiscriminator

from . import gan_trainer

DEFAULTS = dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, betas=(0.0, 0.99), nz=100, ngf=48, ndf=64,
                n_critic=1, ema=0.995, patch_size=4, depth=3, heads=4, mlp_ratio=2, pool="cls",
                l2_attention=True, spectral_norm=True, overlap=2, pos_std=1.0)


def build_trainer(config):
    def models():
        size = config["image_size"]
        G = DCGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=size)
        D = ViTDiscriminator(image_size=size, patch_size=config["patch_size"], dim=config["ndf"],
                             depth=config["depth"], num_heads=config["heads"],
                             mlp_ratio=config["mlp_ratio"], pool=config["pool"],
                             l2_attention=config["l2_attention"],
                             spectral_norm=config["spectral_norm"],
                             # a run saved before these two options resumes as it was built
                             overlap=config.get("overlap", 0),
                             pos_std=config.get("pos_std", 0.02))
        return G.apply(dcgan_init), D
    return gan_trainer(config, models)
