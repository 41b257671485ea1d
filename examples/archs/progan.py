"""ProGAN for `examples/cats_gan.py --arch progan` (minigan/gan/models/progan.py,
docs/12_progressive.md): G and D start at 4x4 and grow to ``image_size``, each new stage
faded in and then stabilised for the same number of steps.

The schedule is scaled to the run's ``--steps``: with S stages (4 for 32x32) the run is cut
into 2S equal phases: 4x4 stabilises for one, every later stage fades in for one and
stabilises for one, and the final resolution keeps the last two (the paper gives each phase
800k images; a short CPU run has no such budget, and the final stage is what is measured).
The schedule is fixed when the run starts: the checkpoint keeps it, so ``--resume`` with more
``--steps`` lengthens the last stage.
"""
from minigan.gan.models.progan import ProGANGenerator, ProGANDiscriminator, ProGANTrainer

from . import gan_trainer

# The paper's loss (WGAN-GP with n_critic 1 and drift 0.001) and Adam betas (0, 0.99), with
# narrower channels than its 512 for a CPU (``widths``: channels at 4, 8, 16, 32, 64). Two
# changes for runs of thousands of steps instead of the paper's millions of images:
# - lr 0.003 (the MSG-GAN authors' value for the same blocks), not 0.001: with equalised
#   weights ~ N(0, 1), Adam's lr is each weight's *relative* change per step, 0.1% at 0.001
#   (DCGAN's 2e-4 on weights of std 0.02 is 1%); after 80 steps at 0.001 the 4x4 G's pixel
#   std was still 0.74 against the cats' 0.42, at 0.003 it was 0.35 (batch 32);
# - EMA of G with decay 0.99, not 0.999: a 1,000-step average would still hold much of a new
#   stage's random initial weights when a phase of a few hundred steps ends.
DEFAULTS = dict(loss="wgan-gp", lr_g=3e-3, lr_d=3e-3, betas=(0.0, 0.99), nz=128, n_critic=1,
                ema=0.99, widths=(64, 64, 32, 16, 8), drift=0.001, reset_optimizer=True)


def settings(config):
    """DEFAULTS, overridden by every key of ``config`` that is not None."""
    given = {k: v for k, v in config.items() if v is not None}
    return {**DEFAULTS, "image_size": 32, "seed": 0, "device": "cpu", **given}


def widths_for(image_size, widths=DEFAULTS["widths"]):
    """Channels at 4, 8, ..., image_size, from ``widths`` (channels at 4, 8, 16, ...)."""
    sizes = [4 * 2 ** i for i in range(1, len(widths))]
    if image_size not in sizes:
        raise ValueError(f"image_size must be one of {sizes} (widths {tuple(widths)} are the "
                         f"channels at 4, 8, 16, ...), got {image_size}")
    return tuple(widths[:sizes.index(image_size) + 2])


def schedule(steps, num_stages):
    """(fade_steps, stable_steps): 2 * num_stages equal phases, the last two for the final
    resolution (see the module docstring)."""
    phase = max(1, steps // (2 * num_stages))
    return phase, phase


def build_trainer(config):
    c = settings(config)
    widths = widths_for(c["image_size"], c["widths"])
    fade_steps, stable_steps = schedule(c["steps"], len(widths))
    return gan_trainer(c, lambda: (ProGANGenerator(nz=c["nz"], widths=widths),
                                   ProGANDiscriminator(widths=widths)),
                       ProGANTrainer, fade_steps=fade_steps, stable_steps=stable_steps,
                       drift=c["drift"], reset_optimizer=c["reset_optimizer"])
