"""GAN architectures, one family per file (see docs/index.md for the pages that explain them)."""
from .dcgan import DCGANGenerator, DCGANDiscriminator, dcgan_init
from .mlp import MLPGenerator, MLPDiscriminator
from .srgan import SRGANGenerator, ResidualBlock
from .vae import VAE, VAEEncoder, reparameterize, kl_divergence, gaussian_nll, negative_elbo
