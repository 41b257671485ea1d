"""BigGAN-lite (Brock et al. 2019): conditional batch norm from a shared embedding and
z chunks, a projection D, orthogonal regularisation (beta 1e-4) and an EMA of G, with the
hinge loss and Adam lr_G = 1e-4, lr_D = 4e-4, betas (0, 0.999).

By default the pair has ONE class: the embedding is a learned constant and the projection a
learned vector; the hierarchical z still feeds every block. ``cats_gan.py --arch biggan
--conditional fur`` (or eyes, pattern, pose, fur+eyes: the choices of
examples/cats_conditional.py) makes it class-conditional on the procedural cats' labels:
``num_classes`` is that attribute's number of classes, G's shared embedding and D's
projection read each image's class, and the progress grid shows one row of `PER_CLASS`
samples per class (row r: class r, in the order of config.json's "classes").
nz must split evenly into (number of G blocks + 1) chunks: 120 does at 32x32 (4 chunks of 30)
and 64x64 (5 chunks of 24)."""
import minigan
from minigan.backend import np
from minigan.gan.models.biggan import BigGANGenerator, BigGANDiscriminator, BigGANTrainer

from . import gan_trainer

DEFAULTS = dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, betas=(0.0, 0.999), nz=120, ngf=32, ndf=32,
                n_critic=1, ema=0.995, embed_dim=32, ortho_beta=1e-4, num_classes=1,
                conditional=None)
# EMA decay 0.995 (a half-life of ~140 steps), not the paper's 0.9999 or 0.999: at 0.999 (half-life
# ~690 steps) the average of a 1,000-step CPU run still holds a third of the random start, and a
# default run's EMA grid was noise while G itself drew cats (docs/12_architectures.md).
PER_CLASS = 8  # samples per class in the progress grid of a conditional run (one row each)


def build_trainer(config):
    """The trainer; with ``num_classes`` > 1 a conditional one, whose batches are
    (images, labels)."""
    size, classes = config["image_size"], config["num_classes"]

    def models():
        return (BigGANGenerator(nz=config["nz"], ngf=config["ngf"], image_size=size,
                                num_classes=classes, embed_dim=config["embed_dim"]),
                BigGANDiscriminator(ndf=config["ndf"], image_size=size, num_classes=classes))
    if classes == 1:
        return gan_trainer(config, models, BigGANTrainer, ortho_beta=config["ortho_beta"])
    trainer = gan_trainer(config, models, BigGANTrainer, ortho_beta=config["ortho_beta"],
                          num_classes=classes, num_samples=PER_CLASS * classes)
    # One row per class, not GANTrainer's cycle through the classes (which puts a class in
    # a column when the grid is as wide as there are classes).
    trainer.fixed_labels = minigan.tensor(np.repeat(np.arange(classes), PER_CLASS),
                                          device=trainer.device)
    return trainer


NOTE = ("without --conditional, BigGAN-lite has one class: conditional batch norm and the "
        "projection D see a single learned class embedding (--conditional fur: the cats' fur "
        "colours as classes)")
