"""MSG-GAN for `examples/cats_gan.py --arch msg` (minigan/gan/models/msg.py,
docs/12_progressive.md): G emits an image at every resolution from 4x4 to ``image_size``, D
reads them all; no growing, so every scale trains from the first step.

Defaults follow the authors' code (BMSG-GAN): Adam with lr 0.003, betas (0, 0.99) for both
players, a relativistic loss (ours: "rasgan", relativistic average; they use its hinge
variant), ProGAN's blocks (equalised learning rate, pixel norm, minibatch stddev) and the
"simple" combine (raw images concatenated into D's blocks). Channels are narrower than their
512 for a CPU.
"""
from minigan import optim
import minigan
from minigan.gan.models.msg import MSGGenerator, MSGDiscriminator, MSGGANTrainer

DEFAULTS = dict(loss="rasgan", lr_g=3e-3, lr_d=3e-3, betas=(0.0, 0.99), ema=0.999,
                widths={4: 64, 8: 64, 16: 32, 32: 16, 64: 8}, combine="simple")


def widths_for(image_size):
    """Channels at 4, 8, ..., image_size (a key of DEFAULTS["widths"])."""
    sizes = sorted(size for size in DEFAULTS["widths"] if 8 <= size)
    if image_size not in sizes:
        raise ValueError(f"msg: image_size must be one of {sizes}, got {image_size}")
    return tuple(DEFAULTS["widths"][4 * 2 ** i] for i in range(image_size.bit_length() - 2))


def build_trainer(config):
    minigan.manual_seed(config["seed"])  # layer initialisation draws from minigan's generator
    widths = widths_for(config.get("image_size") or 32)
    G = MSGGenerator(nz=config.get("nz") or 128, widths=widths).to(config["device"])
    D = MSGDiscriminator(widths=widths, combine=DEFAULTS["combine"]).to(config["device"])
    betas = DEFAULTS["betas"]
    g_opt = optim.Adam(G.parameters(), lr=config.get("lr_g") or DEFAULTS["lr_g"], betas=betas)
    d_opt = optim.Adam(D.parameters(), lr=config.get("lr_d") or DEFAULTS["lr_d"], betas=betas)
    return MSGGANTrainer(G, D, g_opt, d_opt, objective=config.get("loss") or DEFAULTS["loss"],
                         ema_decay=DEFAULTS["ema"], seed=config["seed"])
