"""Mode-seeking loss (MSGAN; Mao, Lee, Tseng, Ma & Yang 2019): reward G for diverse outputs.

A collapsed generator maps different latent codes z_1, z_2 to the same output. MSGAN adds
to G's loss the inverse of how far apart two outputs are, relative to how far apart their
codes are (Mao et al. 2019):

    L_ms = 1 / ( d(G(z_1), G(z_2)) / d(z_1, z_2) + eps ),     d = mean absolute difference,
    L_G  = L_G^ori + lambda_ms L_ms

so G pays most where the ratio is small: where nearby-and-far codes collapse to one mode.
`ModeSeekingTrainer` adds it to G's loss, pairing the two halves of each fake batch.
See ``docs/08_gan_objectives.md``.
"""
from ..ops import abs, mean
from .trainer import GANTrainer


def mode_seeking_loss(fake1, fake2, z1, z2, eps=1e-5):
    """L_ms = 1 / (mean|G(z_1) - G(z_2)| / mean|z_1 - z_2| + eps) for two batches of fakes
    made from two batches of codes (any matching shapes). The codes are constants here."""
    if fake1.shape != fake2.shape or z1.shape != z2.shape:
        raise ValueError(f"mode_seeking_loss: the two fake batches {fake1.shape}, "
                         f"{fake2.shape} and the two code batches {z1.shape}, {z2.shape} must "
                         f"match in pairs")
    ratio = mean(abs(fake1 - fake2)) / mean(abs(z1.detach() - z2.detach()))
    return 1.0 / (ratio + eps)


class ModeSeekingTrainer(GANTrainer):
    """`GANTrainer` with ``ms_weight * mode_seeking_loss`` added to G's loss, the first half
    of each fake batch against the second half (and their codes z)."""

    def __init__(self, *args, ms_weight=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.ms_weight = ms_weight

    def noise(self, n):
        self.last_noise = super().noise(n)  # the z of the fakes the G step will see
        return self.last_noise

    def generator_loss(self, fake_in, real, labels=None):
        loss = super().generator_loss(fake_in, real, labels)
        half, z = fake_in.shape[0] // 2, self.last_noise
        return loss + self.ms_weight * mode_seeking_loss(fake_in[:half], fake_in[half:2 * half],
                                                         z[:half], z[half:2 * half])
