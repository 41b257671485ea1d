"""The GAN toolkit: objectives, penalties, tricks, spectral norm, models and a trainer.

Read in this order: ``objectives.py`` (what each player minimises), ``penalties.py`` (keeping
D smooth), the other objectives (``fgan.py``, ``mmd.py``, ``energy.py`` for EBGAN and BEGAN,
``diffusion.py``), the remedies for mode collapse (``unrolled.py``, ``infogan.py``,
``mode_seeking.py``, ``pacgan.py``; ``remedies.py`` picks one), ``tricks.py``,
``spectral_norm.py``, ``virtual_batchnorm.py``, ``ema.py``, ``rejection.py``, ``models/``,
``conditional.py``, and ``trainer.py`` (the step; the remedies' trainers extend it) with
``loop.py`` (the run around it); then image-to-image translation: ``pix2pix.py``,
``image_pool.py`` and ``cyclegan.py``.
Beyond GANs proper: ``style_transfer.py``, ``srgan.py`` (super-resolution) and ``vae.py``
(the VAE to compare them with).
Docs: ``docs/08_gan_*.md``.
"""
from .objectives import (OBJECTIVES, Objective, get_objective, minimax_d_loss, minimax_g_loss,
                         nonsaturating_g_loss, lsgan_d_loss, lsgan_g_loss, wasserstein_d_loss,
                         wasserstein_g_loss, hinge_d_loss, hinge_g_loss, rasgan_d_loss,
                         rasgan_g_loss, ralsgan_d_loss, ralsgan_g_loss, logistic_d_loss,
                         logistic_g_loss)
from .penalties import clip_weights, gradient_penalty, r1_penalty, lazy_r1_gamma
from .fgan import F_DIVERGENCES, FDivergence, get_f_divergence, fgan_d_loss, fgan_g_loss
from .mmd import mixture_rbf_kernel, mmd2_unbiased, mmd_d_loss, mmd_g_loss
from .energy import (AutoencoderDiscriminator, ConvAutoencoderDiscriminator, ebgan_d_loss,
                     ebgan_g_loss, pulling_away_term, BEGANEquilibrium, EBGANTrainer,
                     BEGANTrainer)
from .diffusion import (DiffusionNoise, DiffusionGANTrainer, alpha_bar, diffuse,
                        sample_timesteps)
from .unrolled import (parameters_replaced, unroll_discriminator, unrolled_g_loss,
                       UnrolledGANTrainer)
from .infogan import (QHead, sample_codes, info_loss, mutual_information_bound,
                      InfoGANTrainer)
from .mode_seeking import mode_seeking_loss, ModeSeekingTrainer
from .pacgan import pack, PackedDiscriminator
from .tricks import (add_instance_noise, instance_noise_std, feature_matching_loss,
                     minibatch_stddev, MinibatchStdDev, HistoricalAverage, skip_d_update,
                     linear_decay)
from .spectral_norm import spectral_norm
from .virtual_batchnorm import VirtualBatchNorm, ReferenceBatch
from .ema import EMA
from .rejection import drs_logit, drs_acceptance, rejection_sample
from .models import (DCGANGenerator, DCGANDiscriminator, dcgan_init, MLPGenerator,
                     MLPDiscriminator, UNetGenerator, PatchGANDiscriminator, ResnetGenerator,
                     SRGANGenerator, VAE, VAEEncoder, reparameterize, kl_divergence,
                     gaussian_nll, negative_elbo)
from .conditional import ConditionalMLPGenerator, ConditionalMLPDiscriminator
from .models import (ConditionalDCGANGenerator, ConditionalDCGANDiscriminator,
                     ACGANDiscriminator)
from .acgan import ACGANTrainer
from .trainer import GANTrainer, NonFiniteLossError
from .image_pool import ImagePool
from .pix2pix import pix2pix_generator_loss, Pix2PixTrainer
from .cyclegan import (cycle_consistency_loss, identity_loss, lsgan_generator_loss,
                       CycleGANTrainer)
from .style_transfer import (gram_matrix, content_loss, style_loss, total_variation_loss,
                             RandomFeatures, transfer_style)
from .srgan import SRGANTrainer
from .vae import VAETrainer
from .models import DAGANGenerator, DAGANDiscriminator
from .dagan import DAGANTrainer
