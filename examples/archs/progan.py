"""ProGAN for `examples/cats_gan.py --arch progan` (minigan/gan/models/progan.py,
docs/12_progressive.md): G and D start at 4x4 and grow to ``image_size``, each new stage
faded in and then stabilised for the same number of steps.

The schedule is scaled to the run's ``--steps``: with S stages (4 for 32x32) the run is cut
into 2S equal phases: 4x4 stabilises for one, every later stage fades in for one and
stabilises for one, and the final resolution keeps the last two (the paper gives each phase
800k images; a short CPU run has no such budget, and the final stage is what is measured).
"""
from minigan import optim
import minigan
from minigan.gan.models.progan import ProGANGenerator, ProGANDiscriminator, ProGANTrainer

# The paper's optimiser (Sec. A.1: Adam, lr 0.001, beta1 0, beta2 0.99) and loss (WGAN-GP with
# n_critic 1 and drift 0.001), with narrower channels than its 512 for a CPU: channels per
# resolution. G's weights are averaged (EMA) as in the paper, but with decay 0.99 instead of
# 0.999: a phase here lasts a few hundred steps, and a 1,000-step average would still hold
# much of a new stage's random initial weights when the run ends.
DEFAULTS = dict(loss="wgan-gp", lr_g=1e-3, lr_d=1e-3, betas=(0.0, 0.99), ema=0.99,
                widths={4: 64, 8: 64, 16: 32, 32: 16, 64: 8}, drift=0.001,
                reset_optimizer=True)


def widths_for(image_size):
    """Channels at 4, 8, ..., image_size (a key of DEFAULTS["widths"])."""
    sizes = sorted(size for size in DEFAULTS["widths"] if 8 <= size)
    if image_size not in sizes:
        raise ValueError(f"progan: image_size must be one of {sizes}, got {image_size}")
    return tuple(DEFAULTS["widths"][4 * 2 ** i] for i in range(image_size.bit_length() - 2))


def schedule(steps, num_stages):
    """(fade_steps, stable_steps): 2 * num_stages equal phases, the last two for the final
    resolution (see the module docstring)."""
    phase = max(1, steps // (2 * num_stages))
    return phase, phase


def build_trainer(config):
    minigan.manual_seed(config["seed"])  # layer initialisation draws from minigan's generator
    widths = widths_for(config.get("image_size") or 32)
    G = ProGANGenerator(nz=config.get("nz") or 128, widths=widths).to(config["device"])
    D = ProGANDiscriminator(widths=widths).to(config["device"])
    betas = DEFAULTS["betas"]
    g_opt = optim.Adam(G.parameters(), lr=config.get("lr_g") or DEFAULTS["lr_g"], betas=betas)
    d_opt = optim.Adam(D.parameters(), lr=config.get("lr_d") or DEFAULTS["lr_d"], betas=betas)
    fade_steps, stable_steps = schedule(config["steps"], len(widths))
    return ProGANTrainer(G, D, g_opt, d_opt, objective=config.get("loss") or DEFAULTS["loss"],
                         fade_steps=fade_steps, stable_steps=stable_steps,
                         drift=DEFAULTS["drift"], reset_optimizer=DEFAULTS["reset_optimizer"],
                         ema_decay=DEFAULTS["ema"], seed=config["seed"])
