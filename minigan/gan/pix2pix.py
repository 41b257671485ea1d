"""Pix2Pix (Isola et al. 2017): paired image-to-image translation with a conditional GAN.

Training pairs (x, y), e.g. a cat's edge map x and the cat photo y. G maps x to an image;
D sees x too, so it judges whether an output is a plausible translation *of this x*:

    L_D = 1/2 [ -log D(x, y) - log(1 - D(x, G(x))) ]    (halved, as in the paper, so that D
                                                          learns slower than G)
    L_G = -log D(x, G(x)) + lambda E|y - G(x)|_1          lambda = 100

The L1 term alone would give the blurry average of all plausible outputs (the median, for
L1); the GAN term alone would give sharp images unrelated to y. Together: the right layout
and colours from L1, sharp textures from the patch discriminator. G is a U-Net
(`models.UNetGenerator`), D a conditional PatchGAN (`models.PatchGANDiscriminator`, its
logit map averaged by the losses). There is no noise z: dropout in G is the only randomness.

Randomness: dropout draws from the device's default generator (`minigan.random`), which a
checkpoint saves. `sample` runs G in eval mode (no dropout, running batch-norm statistics),
so drawing a progress grid changes nothing in training; the paper instead keeps dropout and
batch statistics at test time. See ``docs/14_image_to_image.md``.
"""
from .. import kernels
from ..autograd import no_grad
from ..ops import cat, l1_loss
from .objectives import get_objective, nonsaturating_g_loss
from .trainer import GANTrainer, _frozen


def pix2pix_generator_loss(fake_out, fake, target, l1_weight=100.0,
                           g_loss=nonsaturating_g_loss):
    """L_G = g_loss(D(x, G(x))) + l1_weight * E|y - G(x)|, from D's logits on the fakes,
    the fakes G(x) and the targets y. Returns (L_G, its GAN term, its L1 term)."""
    gan, l1 = g_loss(fake_out), l1_loss(fake, target)
    return gan + l1_weight * l1, gan, l1


def bands(rows_of_images, nrow=8):
    """Interleave batches of the same length in bands of ``nrow``: for batches x, G(x), y
    and `save_image(..., nrow=8)`, each band of the grid is a row of inputs above a row of
    outputs above a row of targets."""
    n = rows_of_images[0].shape[0]
    parts = [images[start:start + nrow] for start in range(0, n, nrow)
             for images in rows_of_images]
    return cat(parts, dim=0)


class Pix2PixTrainer(GANTrainer):
    """One step: a D update on (x, y) and (x, G(x)), then a G update on the GAN + L1 loss.

    Batches are pairs ``(x, y)`` (`minigan.data.PairedBatches`). ``sample_pairs``: a fixed
    (x, y) batch for the progress grids. ``objective``: the GAN loss ("ns", as the paper, or
    "lsgan", "hinge", ...: any without a gradient penalty or weight clipping).
    ``lr_schedulers``: as GANTrainer's (the paper's linear decay: examples/cats_pix2pix.py).

    GANTrainer's loop helpers (`fit`, the one-transfer logging `_fetch`, `_end_step`) are
    inherited; its constructor is not called, since it draws noise vectors z that Pix2Pix has
    no use for.
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, sample_pairs,
                 l1_weight=100.0, objective="ns", lr_schedulers=()):
        self.G, self.D = generator, discriminator
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        kernels.memory.keep_freed_memory()  # as GANTrainer: the same arrays every step
        self.objective = get_objective(objective)
        if self.objective.gp_weight or self.objective.clip_value or self.objective.g_needs_real:
            raise ValueError("Pix2PixTrainer: use an objective without a gradient penalty, "
                             "weight clipping or real outputs in G's loss (ns, lsgan, hinge, ...)")
        self.l1_weight = l1_weight
        first = next(generator.parameters())
        self.device, self.dtype = first.device, first.dtype
        self.sample_pairs = tuple(self._as_tensor(t) for t in sample_pairs)
        self.lr_schedulers = list(lr_schedulers)
        self.step = 0
        self.history = []
        self._batches, self._iterator = None, None

    def networks(self):
        return {"generator": self.G, "discriminator": self.D}

    def train_step(self, next_batch):
        x, y = (self._as_tensor(t) for t in next_batch())
        fake = self.G(x)
        # D: real pairs (x, y) against generated pairs (x, G(x)); no gradient reaches G
        self.d_optimizer.zero_grad()
        real_out, fake_out = self.D(y, x), self.D(fake.detach(), x)
        loss_D = 0.5 * self.objective.d_loss(real_out, fake_out)
        log = self._fetch({"loss_D": loss_D, "D(x,y)": self._mean_output(real_out),
                           "D(x,G(x))": self._mean_output(fake_out)}, "loss_D")
        loss_D.backward()
        self.d_optimizer.step()
        # G: fool the updated D and stay close to y; D is frozen
        self.g_optimizer.zero_grad()
        with _frozen(self.D):
            loss_G, gan, l1 = pix2pix_generator_loss(self.D(fake, x), fake, y, self.l1_weight,
                                                     self.objective.g_loss)
            log.update(self._fetch({"loss_G": loss_G, "loss_G_GAN": gan, "L1": l1}, "loss_G"))
            loss_G.backward()
        self.g_optimizer.step()
        return self._end_step(log)

    def sample(self, inputs=None, targets=None):
        """A grid batch: bands of inputs x, outputs G(x) (eval mode) and targets y; the fixed
        ``sample_pairs`` by default. Without targets, bands of x and G(x)."""
        if inputs is None:
            inputs, targets = self.sample_pairs
        was_training = self.G.training
        self.G.eval()
        with no_grad():
            outputs = self.G(inputs)
        self.G.train(was_training)
        return bands([inputs, outputs] + ([targets] if targets is not None else []))

    def state_dict(self):
        return {"step": self.step, "generator": self.G.state_dict(),
                "discriminator": self.D.state_dict(),
                "g_optimizer": self.g_optimizer.state_dict(),
                "d_optimizer": self.d_optimizer.state_dict(),
                "lr_schedulers": self._lr_schedulers_state(), "history": self.history}

    def load_state_dict(self, state):
        self.step = int(state["step"])
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self._load_lr_schedulers(state)
        self.history = [dict(row) for row in state["history"]]
