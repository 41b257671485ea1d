"""GAN networks: DCGAN shapes at 32x32 and 64x64, the DCGAN initialisation, the MLP and
conditional pairs for toy data (docs/08_gan_basics.md). Tiny widths keep these fast."""
import numpy as np
import pytest

import minigan
from minigan import nn
from minigan.gan import (DCGANGenerator, DCGANDiscriminator, dcgan_init, MLPGenerator,
                         MLPDiscriminator, ConditionalMLPGenerator, ConditionalMLPDiscriminator)


@pytest.mark.parametrize("image_size", [32, 64])
def test_dcgan_shapes(image_size):
    minigan.manual_seed(0)
    G = DCGANGenerator(nz=8, ngf=2, image_size=image_size, channels=3)
    D = DCGANDiscriminator(ndf=2, image_size=image_size, channels=3)
    images = G(minigan.randn(2, 8))
    assert images.shape == (2, 3, image_size, image_size)
    assert np.abs(images.numpy()).max() <= 1.0  # Tanh output
    assert G(minigan.randn(2, 8, 1, 1)).shape == images.shape  # PyTorch's (N, nz, 1, 1) too
    assert D(images).shape == (2,)
    widest = 2 * (8 if image_size == 64 else 4)
    assert D.features(images).shape == (2, widest, 4, 4)
    assert G.main[0].weight.shape == (8, widest, 4, 4)  # nz -> widest layer, 1x1 -> 4x4


def test_dcgan_discriminator_has_no_batch_norm_on_its_first_layer():
    D = DCGANDiscriminator(ndf=2, image_size=32)
    assert isinstance(D.body[0], nn.Conv2d) and isinstance(D.body[1], nn.LeakyReLU)
    assert D.body[1].negative_slope == 0.2
    assert isinstance(D.body[3], nn.BatchNorm2d)


def test_dcgan_variants_spectral_norm_and_minibatch_std():
    D = DCGANDiscriminator(ndf=2, image_size=32, channels=1, spectral_norm=True, minibatch_std=True)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert "head.weight_orig" in D.state_dict()
    assert D(minigan.randn(3, 1, 32, 32)).shape == (3,)


def test_discriminators_with_several_outputs_give_critic_features():
    """out_features=F: F numbers per example, (N, F), as MMD-GAN's critic f(x); the same
    body, and a batch of one keeps its batch axis."""
    D = DCGANDiscriminator(ndf=2, image_size=32, out_features=5)
    assert D(minigan.randn(3, 3, 32, 32)).shape == (3, 5)
    assert D(minigan.randn(1, 3, 32, 32)).shape == (1, 5)
    assert D.head.weight.shape == (5, 8, 4, 4)
    mlp = MLPDiscriminator(hidden=16, minibatch_std=True, out_features=4)
    assert mlp(minigan.randn(6, 2)).shape == (6, 4)


def test_dcgan_rejects_odd_image_sizes():
    with pytest.raises(ValueError, match="power of two"):
        DCGANGenerator(image_size=48)


def test_dcgan_init_statistics():
    minigan.manual_seed(0)
    G = DCGANGenerator(nz=16, ngf=8, image_size=32).apply(dcgan_init)
    D = DCGANDiscriminator(ndf=8, image_size=32, spectral_norm=True).apply(dcgan_init)
    conv = G.main[0].weight.numpy()                     # 16 * 32 * 16 = 8192 values
    assert abs(conv.mean()) < 0.002 and conv.std() == pytest.approx(0.02, rel=0.05)
    assert D.head.weight_orig.numpy().std() == pytest.approx(0.02, rel=0.1)
    bn = G.main[1]
    assert bn.weight.numpy().mean() == pytest.approx(1.0, abs=0.01)
    assert 0.005 < bn.weight.numpy().std() < 0.04
    assert np.all(bn.bias.numpy() == 0)


def test_mlp_pair_shapes_and_features():
    G, D = MLPGenerator(nz=3, hidden=16), MLPDiscriminator(hidden=16, minibatch_std=True)
    points = G(minigan.randn(5, 3))
    assert points.shape == (5, 2)
    assert D(points).shape == (5,) and D.features(points).shape == (5, 16)
    with pytest.raises(ValueError, match="norm"):
        MLPGenerator(norm="layer")


def test_conditional_pair_takes_labels():
    G = ConditionalMLPGenerator(num_classes=8, nz=2, hidden=16)
    D = ConditionalMLPDiscriminator(num_classes=8, hidden=16)
    labels = minigan.tensor(np.array([0, 3, 7]))
    points = G(minigan.randn(3, 2), labels)
    assert points.shape == (3, 2) and D(points, labels).shape == (3,)
    # Same noise, different class: a different sample.
    z = minigan.randn(1, 2)
    a = G(z, minigan.tensor(np.array([0]))).numpy()
    b = G(z, minigan.tensor(np.array([1]))).numpy()
    assert not np.allclose(a, b)
