"""`SRGANTrainer`: super-resolution as a conditional GAN (Ledig et al. 2017).

The batches are high-resolution images y; the trainer makes their low-resolution inputs
x = avgpool_s(y) (each s x s block of pixels averaged: a box filter, the antialiased
"area" downsampling), and G(x) must be y again. One step:

    D step:  L_D = d_loss(D(y), D(G(x).detach()))                        (as any GAN)
    G step:  L_G = mean((G(x) - y)^2)                    content: pixel MSE
                 + w_f sum_l mean((F_l(G(x)) - F_l(y))^2)   optional feature ("perceptual")
                 + 1e-3 g_loss(D(G(x)))                  adversarial, weighted 1e-3 as in
                                                         the paper

MSE alone is minimised by the *mean* of all the sharp images that shrink to x, which is
blurry; the adversarial term pulls G(x) back onto the set of sharp images D accepts, and the
feature loss (the paper's VGG loss; here any module with ``features(x)``, e.g. the
cat-attribute classifier) matches edges and textures rather than exact pixel values.
Everything else (objectives, penalties, the NaN check, checkpoints) is `GANTrainer`'s.
See docs/15_super_resolution.md.
"""
from ..autograd import no_grad
from ..ops import avg_pool2d, concat, mse_loss
from ..ops.resample import interpolate
from .style_transfer import content_loss
from .trainer import GANTrainer


class SRGANTrainer(GANTrainer):
    """``generator``: low resolution -> ``scale`` x larger (e.g. `SRGANGenerator`); the
    discriminator sees high-resolution images.

    adversarial_weight  weight of G's GAN loss against the content loss (1e-3, the paper's)
    feature_extractor   a module with ``features(x)`` for the feature loss (None: pixels only);
                        it is frozen and put in eval mode
    feature_weight      weight of the feature loss
    sample_images       a fixed batch of high-resolution images for `sample`'s progress grid
    Other arguments are `GANTrainer`'s (objective, n_critic, r1_gamma, ...).
    """

    def __init__(self, generator, discriminator, g_optimizer, d_optimizer, scale=4,
                 adversarial_weight=1e-3, feature_extractor=None, feature_weight=1.0,
                 sample_images=None, **kwargs):
        super().__init__(generator, discriminator, g_optimizer, d_optimizer, num_samples=0,
                         **kwargs)
        self.scale, self.adversarial_weight = scale, adversarial_weight
        self.feature_extractor, self.feature_weight = feature_extractor, feature_weight
        if feature_extractor is not None:
            feature_extractor.eval()
            feature_extractor.requires_grad_(False)
        self.sample_images = sample_images
        self._g_parts = None

    def downsample(self, high):
        """The low-resolution input: every scale x scale block averaged."""
        return avg_pool2d(high, self.scale)

    def generator_loss(self, fake_in, real, labels=None):
        content = mse_loss(fake_in, real)
        adversarial = super().generator_loss(fake_in, real, labels)
        self._g_parts = {"content_mse": content, "adversarial": adversarial}
        loss = content + self.adversarial_weight * adversarial
        if self.feature_extractor is not None and self.feature_weight:
            with no_grad():
                targets = self.feature_extractor.features(real)
            features = content_loss(self.feature_extractor.features(fake_in), targets)
            self._g_parts["feature"] = features
            loss = loss + self.feature_weight * features
        return loss

    def train_step(self, next_batch):
        """n_critic D updates, then one G update, on high-resolution batches."""
        for i in range(self.n_critic):
            real, _ = self._as_batch(next_batch())
            small = self.downsample(real)
            if i == self.n_critic - 1:  # this output is reused by the G step: keep its graph
                fake = self.G(small)
            else:
                with no_grad():
                    fake = self.G(small)
            log = self.d_step(real, fake)
        log.update(self.g_step(fake, real))
        # content and adversarial parts, fetched in one transfer after the update
        log.update(self._fetch(self._g_parts, "content_mse"))
        return self._end_step(log)

    def super_resolve(self, small):
        """G(small) in eval mode, without a graph (for evaluation)."""
        was_training = self.G.training
        self.G.eval()
        with no_grad():
            out = self.G(small)
        self.G.train(was_training)
        return out

    def sample(self, noise=None, labels=None, use_ema=True):
        """Three rows for the progress grid: the inputs (enlarged by repeating pixels), G's
        outputs, and the high-resolution originals, for ``sample_images`` (or ``noise``, a
        batch of high-resolution images, if given)."""
        high = self.sample_images if noise is None else noise
        if high is None:
            raise ValueError("SRGANTrainer.sample: no sample_images were given")
        small = self.downsample(high)
        net = self.ema.module if (use_ema and self.ema is not None) else self.G
        was_training = net.training
        net.eval()
        with no_grad():
            out = net(small)
        net.train(was_training)
        blocky = interpolate(small, scale_factor=self.scale, mode="nearest")
        return concat([blocky, out, high], 0)
