"""CycleGAN (Zhu et al. 2017): image-to-image translation from *unpaired* collections.

Two domains, A (here procedural cats) and B (cat photos), with no pairs between them. Two
generators G_AB: A -> B and G_BA: B -> A, and two discriminators: D_B tells real b from
G_AB(a), D_A tells real a from G_BA(b). The GAN losses alone would let G_AB map every a to
any one photo; the cycle loss asks that translating there and back returns the input:

    L_cyc = E|G_BA(G_AB(a)) - a|_1 + E|G_AB(G_BA(b)) - b|_1
    L_idt = E|G_AB(b) - b|_1 + E|G_BA(a) - a|_1      (an image already in the target domain
                                                       should pass unchanged; keeps colours)
    L_G   = E(D_B(G_AB(a)) - 1)^2 + E(D_A(G_BA(b)) - 1)^2 + lambda L_cyc + 0.5 lambda L_idt
    L_D   = 1/2 [E(D_B(b) - 1)^2 + E D_B(pool_B(G_AB(a)))^2] + the same for D_A

with lambda = 10. The least-squares losses (LSGAN, Mao et al. 2017) replace the log losses:
they keep giving gradient to fakes that D already classifies correctly and train more
stably. D is trained on fakes from `ImagePool`, a history of the last 50 generated images.
The derivations: ``docs/14_image_to_image.md``.
"""
from .. import kernels
from ..autograd import no_grad
from ..ops import cat, l1_loss, mean
from .image_pool import ImagePool
from .objectives import lsgan_d_loss
from .pix2pix import bands
from .trainer import GANTrainer, _frozen


def cycle_consistency_loss(g_ab, g_ba, real_a, real_b):
    """L_cyc = E|G_BA(G_AB(a)) - a| + E|G_AB(G_BA(b)) - b|, and the translations on the way.
    Returns (L_cyc, fake_a = G_BA(b), fake_b = G_AB(a))."""
    fake_b, fake_a = g_ab(real_a), g_ba(real_b)
    loss = l1_loss(g_ba(fake_b), real_a) + l1_loss(g_ab(fake_a), real_b)
    return loss, fake_a, fake_b


def identity_loss(g_ab, g_ba, real_a, real_b):
    """L_idt = E|G_AB(b) - b| + E|G_BA(a) - a|: each generator leaves its own target domain
    alone."""
    return l1_loss(g_ab(real_b), real_b) + l1_loss(g_ba(real_a), real_a)


def lsgan_generator_loss(fake_out):
    """E(D(G(x)) - 1)^2, CycleGAN's generator loss (twice `lsgan_g_loss`, which carries the
    LSGAN paper's 1/2): the weights lambda = 10 of the other terms are relative to this."""
    return mean((fake_out - 1.0) ** 2)


class CycleGANTrainer(GANTrainer):
    """One step: a G update of both generators together (the Ds frozen), then a D update of
    both discriminators on real images and pooled fakes.

    Batches are unpaired ``(a, b)`` (`minigan.data.UnpairedBatches`). ``g_optimizer`` holds
    both generators' parameters, ``d_optimizer`` both discriminators'. ``sample_batches``: a
    fixed (a, b) for the progress grids. ``identity_weight`` is relative to
    ``cycle_weight`` (0.5: L_idt weighs 5). ``seed`` seeds the two image pools.
    ``lr_schedulers``: as GANTrainer's (the paper's linear decay: examples/cats_cyclegan.py).

    GANTrainer's loop helpers (`fit`, `_fetch`, `_end_step`) are inherited; its constructor is
    not called (it draws noise vectors z that CycleGAN has no use for).
    """

    def __init__(self, g_ab, g_ba, d_a, d_b, g_optimizer, d_optimizer, sample_batches,
                 cycle_weight=10.0, identity_weight=0.5, pool_size=50, seed=0,
                 lr_schedulers=()):
        self.G_AB, self.G_BA, self.D_A, self.D_B = g_ab, g_ba, d_a, d_b
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        kernels.memory.keep_freed_memory()  # as GANTrainer: the same arrays every step
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight
        first = next(d_a.parameters())
        self.device, self.dtype = first.device, first.dtype
        self.pool_a = ImagePool(pool_size, seed=[seed, 0])  # G_BA's fakes, for D_A
        self.pool_b = ImagePool(pool_size, seed=[seed, 1])  # G_AB's fakes, for D_B
        self.sample_batches = tuple(self._as_tensor(t) for t in sample_batches)
        self.lr_schedulers = list(lr_schedulers)
        self.step = 0
        self.history = []
        self._batches, self._iterator = None, None

    def networks(self):
        return {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}

    def generator_loss(self, real_a, real_b):
        """L_G and its parts; the fakes, for the D update."""
        cycle, fake_a, fake_b = cycle_consistency_loss(self.G_AB, self.G_BA, real_a, real_b)
        gan = lsgan_generator_loss(self.D_B(fake_b)) + lsgan_generator_loss(self.D_A(fake_a))
        loss = gan + self.cycle_weight * cycle
        numbers = {"loss_G": loss, "loss_G_GAN": gan, "cycle": cycle}
        if self.identity_weight:
            idt = identity_loss(self.G_AB, self.G_BA, real_a, real_b)
            loss = loss + self.identity_weight * self.cycle_weight * idt
            numbers.update(loss_G=loss, identity=idt)
        return numbers, fake_a, fake_b

    def train_step(self, next_batch):
        real_a, real_b = (self._as_tensor(t) for t in next_batch())
        self.g_optimizer.zero_grad()
        with _frozen(self.D_A), _frozen(self.D_B):
            numbers, fake_a, fake_b = self.generator_loss(real_a, real_b)
            g_log = self._fetch(numbers, "loss_G")
            numbers["loss_G"].backward()
        self.g_optimizer.step()
        # D: real images against a mix of the new fakes and older ones from the pools
        self.d_optimizer.zero_grad()
        fake_a, fake_b = self.pool_a.query(fake_a), self.pool_b.query(fake_b)
        real_out_a, fake_out_a = self.D_A(real_a), self.D_A(fake_a)
        real_out_b, fake_out_b = self.D_B(real_b), self.D_B(fake_b)
        loss_D = lsgan_d_loss(real_out_a, fake_out_a) + lsgan_d_loss(real_out_b, fake_out_b)
        d_log = self._fetch({"loss_D": loss_D, "D_A(a)": mean(real_out_a.detach()),
                             "D_B(b)": mean(real_out_b.detach()),
                             "D_A(fake_a)": mean(fake_out_a.detach()),
                             "D_B(fake_b)": mean(fake_out_b.detach())}, "loss_D")
        loss_D.backward()
        self.d_optimizer.step()
        return self._end_step({"loss_D": d_log.pop("loss_D"), **g_log, **d_log})

    def sample(self, real_a=None, real_b=None):
        """A grid batch of two bands: a, G_AB(a), G_BA(G_AB(a)) (there and back), then b,
        G_BA(b), G_AB(G_BA(b)); the fixed ``sample_batches`` by default."""
        if real_a is None:
            real_a, real_b = self.sample_batches
        with no_grad():  # instance norm without running statistics: train = eval
            fake_b, fake_a = self.G_AB(real_a), self.G_BA(real_b)
            return cat([bands([real_a, fake_b, self.G_BA(fake_b)]),
                        bands([real_b, fake_a, self.G_AB(fake_a)])], dim=0)

    def state_dict(self):
        return {"step": self.step,
                **{name: net.state_dict() for name, net in self.networks().items()},
                "g_optimizer": self.g_optimizer.state_dict(),
                "d_optimizer": self.d_optimizer.state_dict(),
                "pool_a": self.pool_a.state_dict(), "pool_b": self.pool_b.state_dict(),
                "lr_schedulers": self._lr_schedulers_state(), "history": self.history}

    def load_state_dict(self, state):
        self.step = int(state["step"])
        for name, net in self.networks().items():
            net.load_state_dict(state[name])
        self.g_optimizer.load_state_dict(state["g_optimizer"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
        self.pool_a.load_state_dict(state["pool_a"])
        self.pool_b.load_state_dict(state["pool_b"])
        self._load_lr_schedulers(state)
        self.history = [dict(row) for row in state["history"]]
