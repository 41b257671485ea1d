"""A variational autoencoder (Kingma and Welling 2014) built from the DCGAN pair, to set beside
the GANs: its decoder *is* `DCGANGenerator`, its encoder is `DCGANDiscriminator` with a head
giving 2 nz numbers instead of one logit. It lives with the GAN architectures because it is
in the zoo to be compared with them, part for part (docs/15_vae_vs_gan.md).

    encoder:  x -> (mu, log sigma^2), each (N, nz): q(z | x) = N(mu, diag sigma^2)
    sample:   z = mu + sigma * eps,  eps ~ N(0, I)   (reparameterisation: z is a
              differentiable function of mu and sigma, and the randomness is an input)
    decoder:  z -> x_hat = G(z), the mean of p(x | z) = N(x_hat, s^2 I)

Training maximises the evidence lower bound, per image (D pixels, nz latent dimensions):

    log p(x) >= ELBO = E_q[log p(x | z)] - KL(q(z | x) || N(0, I))
    -log p(x | z) = sum (x - x_hat)^2 / (2 s^2) + (D / 2) log(2 pi s^2)    (Gaussian likelihood)
    KL = 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)                  (closed form)

with one z per image (a one-sample Monte Carlo estimate of the expectation). The likelihood is
Gaussian with a fixed s (0.1 on minigan's [-1, 1] pixel scale by default) rather than
Bernoulli: pixels are continuous intensities, not coin flips, and s sets the balance between
sharp reconstructions (small s) and a tidy latent space (large s).
"""
import math

from ...creation import randn
from ...nn import Module, Conv2d
from ...ops import exp, reshape, sum
from .dcgan import DCGANDiscriminator, DCGANGenerator, _stages


class VAEEncoder(DCGANDiscriminator):
    """DCGAN's discriminator body; its head outputs mu and log sigma^2 (2 nz channels)."""

    def __init__(self, nz=100, ndf=64, image_size=64, channels=3):
        super().__init__(ndf=ndf, image_size=image_size, channels=channels)
        self.nz = nz
        self.head = Conv2d(ndf * 2 ** _stages(image_size), 2 * nz, 4, 1, 0)  # 4x4 -> 1x1

    def forward(self, x):
        """x (N, C, H, W) -> mu, logvar, each (N, nz)."""
        h = reshape(self.head(self.features(x)), (x.shape[0], 2 * self.nz))
        return h[:, :self.nz], h[:, self.nz:]


def reparameterize(mu, logvar, noise=None, generator=None):
    """z = mu + exp(logvar / 2) * eps, with eps ~ N(0, I) drawn from ``generator`` on mu's
    device, or the given ``noise``."""
    if noise is None:
        noise = randn(*mu.shape, dtype=mu.dtype, device=mu.device, generator=generator)
    return mu + exp(0.5 * logvar) * noise


def kl_divergence(mu, logvar):
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per example: (N, nz) -> (N,)."""
    return 0.5 * sum(mu * mu + exp(logvar) - logvar - 1.0, dim=1)


def gaussian_nll(reconstruction, x, sigma):
    """-log N(x; reconstruction, sigma^2 I) per example, summed over its pixels: (N, ...) -> (N,)."""
    n = x.shape[0]
    pixels = x.size // n
    error = reshape(x - reconstruction, (n, pixels))
    return sum(error * error, dim=1) / (2 * sigma ** 2) + 0.5 * pixels * math.log(2 * math.pi
                                                                               * sigma ** 2)


def negative_elbo(reconstruction, x, mu, logvar, sigma=0.1):
    """The VAE loss: the batch mean of -ELBO = -log p(x | z) + KL, in nats per image; returns
    (loss, reconstruction term, KL term), each a scalar Tensor."""
    nll = gaussian_nll(reconstruction, x, sigma).mean()
    kl = kl_divergence(mu, logvar).mean()
    return nll + kl, nll, kl


class VAE(Module):
    """`VAEEncoder` and a `DCGANGenerator` decoder of the same size and nz."""

    def __init__(self, nz=100, ngf=64, ndf=64, image_size=64, channels=3):
        super().__init__()
        self.nz = nz
        self.encoder = VAEEncoder(nz, ndf, image_size, channels)
        self.decoder = DCGANGenerator(nz, ngf, image_size, channels)

    def forward(self, x, noise=None, generator=None):
        """x -> (reconstruction, mu, logvar), with one reparameterised z per image."""
        mu, logvar = self.encoder(x)
        z = reparameterize(mu, logvar, noise=noise, generator=generator)
        return self.decoder(z), mu, logvar
