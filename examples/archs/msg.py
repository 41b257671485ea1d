"""MSG-GAN for `examples/cats_gan.py --arch msg` (minigan/gan/models/msg.py,
docs/12_progressive.md): G emits an image at every resolution from 4x4 to ``image_size``, D
reads them all; no growing, so every scale trains from the first step.

Defaults follow the authors' code (BMSG-GAN) but for the learning rate: Adam with betas
(0, 0.99) for both players, a relativistic loss (ours: "rasgan", relativistic average; they
use its hinge variant), ProGAN's blocks (equalised learning rate, pixel norm, minibatch
stddev) and the "simple" combine (raw images concatenated into D's blocks). Channels are
narrower than their 512 for a CPU. Their lr 0.003 collapsed our 1,000-step default run on the
procedural cats to about three faces (D's loss near 0.1 from step 200 on) and its EMA to
noise; at 0.001 G kept varied faces (docs/12_progressive.md shows both grids).
"""
from minigan.gan.models.msg import MSGGenerator, MSGDiscriminator, MSGGANTrainer

from . import gan_trainer
from .progan import widths_for  # noqa: F401  (channels at 4, 8, ..., image_size)

# ``widths``: channels at 4, 8, 16, 32, 64, as ProGAN's spec.
DEFAULTS = dict(loss="rasgan", lr_g=1e-3, lr_d=1e-3, betas=(0.0, 0.99), nz=128, n_critic=1,
                ema=0.995, widths=(64, 64, 32, 16, 8), combine="simple")  # EMA: see biggan.py


def settings(config):
    """DEFAULTS, overridden by every key of ``config`` that is not None."""
    given = {k: v for k, v in config.items() if v is not None}
    return {**DEFAULTS, "image_size": 32, "seed": 0, "device": "cpu", **given}


def build_trainer(config):
    c = settings(config)
    widths = widths_for(c["image_size"], c["widths"])
    return gan_trainer(c, lambda: (MSGGenerator(nz=c["nz"], widths=widths),
                                   MSGDiscriminator(widths=widths, combine=c["combine"])),
                       MSGGANTrainer)
