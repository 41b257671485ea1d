"""GAN architectures, one family per file (see docs/index.md for the pages that explain them)."""
from .dcgan import DCGANGenerator, DCGANDiscriminator, dcgan_init
from .mlp import MLPGenerator, MLPDiscriminator
from .progan import (ProGANGenerator, ProGANDiscriminator, ProGANTrainer, PixelNorm,
                     EqualizedConv2d, EqualizedLinear)
from .msg import MSGGenerator, MSGDiscriminator, MSGGANTrainer
from .conditional_dcgan import (ConditionalDCGANGenerator, ConditionalDCGANDiscriminator,
                                ACGANDiscriminator, label_channels, projection)
from .stylegan import (StyleGANGenerator, StyleGANDiscriminator, StyleGANTrainer,
                       ModulatedConv2d, modulated_conv2d, MappingNetwork, truncate, mix_styles)
from .unet import UNetGenerator
from .patchgan import PatchGANDiscriminator, receptive_field, patch_layers_for
from .resnet import ResnetGenerator, ResnetBlock
from .srgan import SRGANGenerator, ResidualBlock
from .vae import VAE, VAEEncoder, reparameterize, kl_divergence, gaussian_nll, negative_elbo
from .dagan import DAGANGenerator, DAGANDiscriminator
