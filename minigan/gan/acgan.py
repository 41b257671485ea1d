"""ACGAN (Odena, Olah & Shlens 2017): a conditional GAN whose D *names* the class instead of
being told it.

G(z, y) draws a sample of class y, as in a CGAN; D sees only the image and has two outputs,
the usual real/fake logit and class logits (`ACGANDiscriminator`). With the class
cross-entropy L_C(x, y) = -log P(class = y | x):

    L_D = L_adv,D(D(x), D(G(z, y))) + w (L_C(x, y) + L_C(G(z, y), y))   (x, y): a real pair
    L_G = L_adv,G(D(G(z, y)))        + w  L_C(G(z, y), y)

Both players lower the class loss: D learns to classify real and generated images, and G to
draw images that D classifies as the class it was asked for. The adversarial parts are any
objective of `GANTrainer` ("ns" in the paper). See ``docs/13_conditional.md``.
"""
from .. import backend
from ..autograd import Tensor
from ..ops import cross_entropy, mean
from .penalties import clip_weights
from .trainer import GANTrainer


@backend.on_input_device  # the comparison makes a new array
def _accuracy(class_logits, labels):
    """Share of rows whose largest logit is the label: a logged number, no gradient."""
    hits = class_logits.data.argmax(1) == labels.data
    return mean(Tensor(hits.astype(class_logits.dtype)))


class ACGANTrainer(GANTrainer):
    """`GANTrainer` for an `ACGANDiscriminator` D and a conditional G, on (images, labels)
    batches (``num_classes`` is required). ``class_weight`` is w above. The D step logs the
    class loss and D's class accuracy on the real and the generated batch. D penalties
    (gradient penalty, R1), historical averaging and D skipping are not supported."""

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, num_classes,
                 class_weight=1.0, **kwargs):
        unsupported = [k for k in ("gp_weight", "r1_gamma", "historical_weight", "d_skip_below")
                       if kwargs.get(k)]
        if unsupported:
            raise ValueError(f"ACGANTrainer: {', '.join(unsupported)} not supported")
        if not hasattr(discriminator, "both"):
            raise TypeError("ACGANTrainer: the discriminator needs a class head "
                            "(ACGANDiscriminator)")
        self.class_weight = class_weight
        super().__init__(generator, discriminator, g_optimizer, d_optimizer,
                         num_classes=num_classes, **kwargs)
        if self.gp_weight:  # the objective's own default (wgan-gp)
            raise ValueError("ACGANTrainer: objectives with a gradient penalty are not supported")

    def d_loss(self, real_in, fake_in, labels):
        """L_D above on D's inputs, and what the D step logs: (loss, (real_out, fake_out,
        real_classes, fake_classes, class_loss))."""
        real_out, real_classes = self.D.both(real_in)
        fake_out, fake_classes = self.D.both(fake_in)
        class_loss = cross_entropy(real_classes, labels) + cross_entropy(fake_classes, labels)
        loss = self.discriminator_loss(real_out, fake_out) + self.class_weight * class_loss
        return loss, (real_out, fake_out, real_classes, fake_classes, class_loss)

    def d_step(self, real, fake, labels=None):
        self.d_optimizer.zero_grad()
        real_in, fake_in = self._with_noise(real), self._with_noise(fake.detach())
        loss, (real_out, fake_out, real_classes, fake_classes, class_loss) = \
            self.d_loss(real_in, fake_in, labels)
        log = self._fetch({"D(x)": self._mean_output(real_out),
                           "D(G(z))": self._mean_output(fake_out),
                           "class_acc_real": _accuracy(real_classes, labels),
                           "class_acc_fake": _accuracy(fake_classes, labels),
                           "class_loss_D": class_loss, "loss_D": loss}, "loss_D")
        loss.backward()
        self.d_optimizer.step()
        if self.clip_value:
            clip_weights(self.D, self.clip_value)
        return log

    def generator_loss(self, fake_in, real, labels=None):
        fake_out, fake_classes = self.D.both(fake_in)
        real_out = self.D(self._with_noise(real)) if self.objective.g_needs_real else None
        return (self.objective.g_loss(fake_out, real_out)
                + self.class_weight * cross_entropy(fake_classes, labels))
