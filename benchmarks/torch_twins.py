"""PyTorch twins of the GAN zoo's models, for benchmarks/zoo_step.py (torch is a benchmark
tool only: minigan never imports it).

`twin(module)` walks a minigan model. Its standard layers (minigan.nn, whose names and
arguments are PyTorch's) become the PyTorch layers built from the same arguments, with
`torch.nn.utils.spectral_norm` where minigan has its own; each of the zoo's own modules
becomes a `Twin` that holds the converted children, parameters and buffers under the same
names and runs the forward written below in PyTorch, line for line the model's. The two
state dicts then have the same keys, and `twin` copies every value across, so the twin
computes the same function from the same weights (zoo_step.py checks that it does).
"""
import math

import numpy as np
import torch
import torch.nn as tn
import torch.nn.functional as F

from minigan import backend


def _bias(m):
    return m._parameters.get("bias") is not None


LAYERS = {  # minigan.nn layer name -> its PyTorch layer, from the same arguments
    "Conv2d": lambda m: tn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                  m.padding, m.dilation, m.groups, _bias(m), m.padding_mode),
    "ConvTranspose2d": lambda m: tn.ConvTranspose2d(m.in_channels, m.out_channels,
                                                    m.kernel_size, m.stride, m.padding,
                                                    m.output_padding, m.groups, _bias(m),
                                                    m.dilation),
    "Linear": lambda m: tn.Linear(m.in_features, m.out_features, _bias(m)),
    "Embedding": lambda m: tn.Embedding(m.num_embeddings, m.embedding_dim),
    "BatchNorm2d": lambda m: tn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine,
                                            m.track_running_stats),
    "LayerNorm": lambda m: tn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine),
    "ReLU": lambda m: tn.ReLU(),
    "Tanh": lambda m: tn.Tanh(),
    "LeakyReLU": lambda m: tn.LeakyReLU(m.negative_slope),
    "GELU": lambda m: tn.GELU(approximate=m.approximate),
    "Identity": lambda m: tn.Identity(),
    "Upsample": lambda m: tn.Upsample(m.size, m.scale_factor, m.mode, m.align_corners),
    "AvgPool2d": lambda m: tn.AvgPool2d(m.kernel_size, m.stride, m.padding, m.ceil_mode,
                                        m.count_include_pad, m.divisor_override),
    "MaxPool2d": lambda m: tn.MaxPool2d(m.kernel_size, m.stride, m.padding, m.dilation,
                                        ceil_mode=m.ceil_mode),
    "Flatten": lambda m: tn.Flatten(m.start_dim, m.end_dim),
    "Unflatten": lambda m: tn.Unflatten(m.dim, m.unflattened_size),
    "Sequential": lambda m: tn.Sequential(*[twin(c, copy=False) for c in m]),
    "ModuleList": lambda m: tn.ModuleList([twin(c, copy=False) for c in m]),
}

FORWARDS = {}  # "file.Class" of a zoo module -> its forward in PyTorch, (self, *inputs)


def forward_of(*names):
    def register(function):
        for name in names:
            FORWARDS[name] = function
        return function
    return register


class Twin(tn.Module):
    """A zoo module in PyTorch: the same children, parameters, buffers and plain settings
    (ints, floats, strings, tuples) under the same names; ``forward`` from `FORWARDS`."""

    def __init__(self, module, forward):
        super().__init__()
        self._forward = forward
        for name, value in vars(module).items():
            if not name.startswith("_") and name != "training" and \
                    isinstance(value, (int, float, str, tuple, list, type(None))):
                setattr(self, name, value)
        for name, p in module._parameters.items():
            self.register_parameter(name, None if p is None else tn.Parameter(_torch(p)))
        for name, b in module._buffers.items():
            self.register_buffer(name, None if b is None else _torch(b))
        for name, child in module._modules.items():
            setattr(self, name, None if child is None else twin(child, copy=False))

    def forward(self, *inputs, **options):
        return self._forward(self, *inputs, **options)

    def extra_repr(self):
        return f"twin of {self._forward.__name__}"


def _torch(tensor):
    return torch.from_numpy(np.array(backend.to_numpy(tensor.data)))


def _key(cls):
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


def twin(module, dtype=torch.float32, copy=True):
    """The PyTorch twin of a minigan module in ``dtype``, with its weights copied
    (``copy=True``)."""
    kind = type(module)
    # A forward registered for a base class serves a subclass only if it does not
    # override forward (SAGANGenerator is SNGANGenerator with other children).
    found = next((FORWARDS[_key(c)] for c in kind.__mro__
                  if _key(c) in FORWARDS and kind.forward is c.forward), None)
    if found is not None:
        result = Twin(module, found)
    elif kind.__name__ in LAYERS and kind.__module__.startswith("minigan.nn"):
        result = LAYERS[kind.__name__](module)
    else:
        raise NotImplementedError(f"no PyTorch twin for {_key(kind)} yet")
    if hasattr(module, "_spectral_norm"):
        name, iterations, eps, dim = module._spectral_norm
        result = tn.utils.spectral_norm(result, name, iterations, eps, dim)
    if copy:
        copy_weights(module, result.to(dtype))
    return result


def copy_weights(module, twin_module):
    """Every parameter and buffer of ``module`` into ``twin_module`` (the same keys)."""
    ours, theirs = module.state_dict(), twin_module.state_dict()
    if set(ours) != set(theirs):
        raise ValueError(f"state dict keys differ: only minigan {sorted(set(ours) - set(theirs))}"
                         f", only torch {sorted(set(theirs) - set(ours))}")
    with torch.no_grad():
        for key, value in ours.items():
            theirs[key].copy_(_torch(value).reshape(theirs[key].shape))


# ------------------------------------------------------------ DCGAN, SNGAN (ResNet), SAGAN
@forward_of("dcgan.DCGANGenerator")
def dcgan_generator(s, z):
    return s.main(z.reshape(z.shape[0], s.nz, 1, 1))


@forward_of("dcgan._Discriminator")  # DCGAN's and StyleGAN's discriminators
def body_head_discriminator(s, x):
    h = s.body(x)
    if s.mbstd is not None:
        h = s.mbstd(h)
    return s.head(h).reshape(x.shape[0])


@forward_of("tricks.MinibatchStdDev")
def minibatch_stddev(s, x):
    s_ = torch.sqrt(x.var(0, unbiased=False) + s.eps).mean().reshape((1,) * x.ndim)
    return torch.cat([x, s_.expand((x.shape[0], 1) + tuple(x.shape[2:]))], 1)


@forward_of("sngan.GeneratorBlock", "sngan.DiscriminatorBlock")
def residual_block(s, x):
    return s.residual(x) + s.shortcut(x)


@forward_of("sngan.SNGANGenerator")
def sngan_generator(s, z):
    h = s.linear(z.reshape(z.shape[0], s.nz)).reshape(z.shape[0], s.ngf, 4, 4)
    return s.output(s.blocks(h))


@forward_of("sngan.SNGANDiscriminator")
def sngan_discriminator(s, x):
    return s.linear(F.relu(s.blocks(x)).sum((2, 3))).reshape(x.shape[0])


@forward_of("sagan.SelfAttention2d")
def self_attention(s, x):
    N, C, H, W = x.shape
    k, v = s.key(x), s.value(x)
    if s.pool is not None:
        k, v = s.pool(k), s.pool(v)
    positions = lambda t: t.flatten(2).transpose(1, 2)  # noqa: E731  (N, C, H, W) -> (N, P, C)
    o = F.scaled_dot_product_attention(positions(s.query(x)), positions(k), positions(v),
                                       scale=1.0)
    o = o.transpose(1, 2).reshape(N, o.shape[2], H, W)
    return s.gamma * s.out(o) + x


# ------------------------------------------------------------------------------------ ViT
@forward_of("vit.L2MultiheadAttention")
def l2_attention(s, x):
    N, T, E = x.shape
    heads = lambda t: t.reshape(N, T, s.num_heads, s.head_dim).permute(0, 2, 1, 3)  # noqa: E731
    q, v = heads(s.qk(x)), heads(s.v(x))
    squared = (q * q).sum(-1, keepdim=True)
    distance = squared - 2.0 * q @ q.transpose(-1, -2) + squared.transpose(-1, -2)
    weights = torch.softmax(distance * (-1.0 / math.sqrt(s.head_dim)), -1)
    return s.out_proj((weights @ v).permute(0, 2, 1, 3).reshape(N, T, E))


@forward_of("vit.TransformerBlock")
def transformer_block(s, x):
    if not isinstance(s.attn, Twin):
        raise NotImplementedError("twin of TransformerBlock: only with l2_attention=True")
    x = x + s.attn(s.norm1(x))
    return x + s.mlp(s.norm2(x))


@forward_of("vit.ViTDiscriminator")
def vit_discriminator(s, x):
    N = x.shape[0]
    h = s.patch_embed(x).reshape(N, s.dim, -1).permute(0, 2, 1)
    if s.pool == "cls":
        h = torch.cat([s.cls_token.expand(N, 1, s.dim), h], 1)
    h = h + s.pos_embed
    for block in s.blocks:
        h = block(h)
    h = s.norm(h)
    return s.head(h[:, 0] if s.pool == "cls" else h.mean(1)).reshape(N)


# --------------------------------------------------------------------------------- BigGAN
def _labels_or_zeros(labels, like):
    return torch.zeros(like.shape[0], dtype=torch.long) if labels is None else labels


@forward_of("biggan.ConditionalBatchNorm2d")
def conditional_batch_norm(s, x, c):
    return s.bn(x) * (1.0 + s.gain(c))[:, :, None, None] + s.bias(c)[:, :, None, None]


@forward_of("biggan.GeneratorBlock")
def biggan_generator_block(s, x, c):
    h = s.conv1(s.up(F.relu(s.bn1(x, c))))
    h = s.conv2(F.relu(s.bn2(h, c)))
    return h + s.shortcut(s.up(x))


@forward_of("biggan.BigGANGenerator")
def biggan_generator(s, z, labels=None):
    z = z.reshape(z.shape[0], s.nz)
    chunks = z.split(s.chunk, 1)
    embedding = s.shared(_labels_or_zeros(labels, z))
    h = s.linear(chunks[0]).reshape(z.shape[0], s.ngf, 4, 4)
    for block, chunk in zip(s.blocks, chunks[1:]):
        h = block(h, torch.cat([embedding, chunk], 1))
    return s.output(h)


@forward_of("biggan.ProjectionHead")
def projection_head(s, features, labels):
    projection = (s.embed(labels) * features).sum(1)
    return s.psi(features).reshape(features.shape[0]) + projection


@forward_of("biggan.BigGANDiscriminator")
def biggan_discriminator(s, x, labels=None):
    return s.head(F.relu(s.blocks(x)).sum((2, 3)), _labels_or_zeros(labels, x))


def orthogonal_regularization(G, beta):
    """biggan.orthogonal_regularization on the twin: the Conv2d and Linear weights."""
    total = 0.0
    for layer in G.modules():
        if isinstance(layer, (tn.Conv2d, tn.Linear)):
            w = getattr(layer, "weight_orig", layer.weight).flatten(1)
            gram = (w @ w.t()) * (1.0 - torch.eye(w.shape[0], dtype=w.dtype))
            total = total + (gram * gram).sum()
    return beta * total


# --------------------------------------------------------------------- ProGAN and MSG-GAN
@forward_of("progan.PixelNorm")
def pixel_norm(s, x):
    return x / torch.sqrt((x * x).mean(1, keepdim=True) + s.eps)


@forward_of("progan.EqualizedConv2d")
def equalized_conv(s, x):
    return F.conv2d(x, s.weight * s.scale, s.bias, s.stride, s.padding)


@forward_of("progan.EqualizedLinear")
def equalized_linear(s, x):
    return F.linear(x, s.weight * s.scale, s.bias)


def _fade_in(old, new, alpha):
    return (1.0 - alpha) * old + alpha * new


@forward_of("progan.ProGANGenerator")
def progan_generator(s, z):
    h = z.reshape(z.shape[0], s.nz)
    for block in s.blocks[:-1]:
        h = block(h)
    new = s.to_rgb[-1](s.blocks[-1](h))
    if s.stage == 0 or s.alpha >= 1.0:
        return new
    return _fade_in(F.interpolate(s.to_rgb[-2](h), scale_factor=2, mode="nearest"), new, s.alpha)


@forward_of("progan.ProGANDiscriminator")
def progan_discriminator(s, x):
    h = s.from_rgb[s.stage](x)
    for i in range(s.stage, 0, -1):
        h = s.blocks[i](h)
        if i == s.stage and s.alpha < 1.0:
            h = _fade_in(s.from_rgb[i - 1](F.avg_pool2d(x, 2)), h, s.alpha)
    return s.head(s.blocks[0](h)).reshape(x.shape[0])


@forward_of("msg.MSGGenerator")
def msg_generator(s, z):
    h, images = z.reshape(z.shape[0], s.nz), []
    for block, rgb in zip(s.blocks, s.to_rgb):
        h = block(h)
        images.append(rgb(h))
    return images


@forward_of("msg.MSGDiscriminator")
def msg_discriminator(s, images):
    top = len(s.widths) - 1
    h = s.blocks[top](s.from_rgb(images[top]))
    for i in range(top - 1, -1, -1):
        image = images[i] if s.phi is None else s.phi[i](images[i])
        h = s.blocks[i](torch.cat([h, image], 1))
    return s.head(h).reshape(images[0].shape[0])


# ------------------------------------------------------------------------------ StyleGAN
def scaled_leaky_relu(x):
    return F.leaky_relu(x, 0.2) * math.sqrt(2)


@forward_of("stylegan.ScaledLeakyReLU")
def scaled_leaky_relu_layer(s, x):
    return scaled_leaky_relu(x)


@forward_of("stylegan.EqualLinear")
def equal_linear(s, x):
    return F.linear(x, s.weight * s.scale, s.bias * s.lr_mul)


@forward_of("stylegan.EqualConv2d")
def equal_conv(s, x):
    return F.conv2d(x, s.weight * s.scale, s.bias, padding=s.padding)


@forward_of("stylegan.MappingNetwork")
def mapping_network(s, z):
    w = z / torch.sqrt((z * z).mean(1, keepdim=True) + 1e-8)
    for layer in s.layers:
        w = scaled_leaky_relu(layer(w))
    if s.training:
        with torch.no_grad():
            s.w_avg.copy_(s.w_avg * s.w_avg_beta + w.mean(0) * (1.0 - s.w_avg_beta))
    return w


@forward_of("stylegan.ModulatedConv2d")
def modulated_conv(s, x, w):
    N, C, H, W = x.shape
    weight = s.weight * s.scale
    OC, _, K, _ = weight.shape
    weight = weight.reshape(1, OC, C, K, K) * s.affine(w).reshape(N, 1, C, 1, 1)
    if s.demodulate:
        weight = weight / torch.sqrt((weight * weight).sum((2, 3, 4), keepdim=True) + 1e-8)
    y = F.conv2d(x.reshape(1, N * C, H, W), weight.reshape(N * OC, C, K, K), padding=s.padding,
                 groups=N)
    return y.reshape((N, OC) + tuple(y.shape[2:]))


# Where NoiseInjection's noise comes from: zoo_step.py's check puts minigan's draws here.
draw_noise = torch.randn


@forward_of("stylegan.NoiseInjection")
def noise_injection(s, x):
    N, C, H, W = x.shape
    noise = draw_noise(N, 1, H, W) if s.training else s.noise_const
    return x + s.weight.reshape(1, C, 1, 1) * noise


@forward_of("stylegan.StyledConv")
def styled_conv(s, x, w):
    if s.upsample:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    x = s.noise(s.conv(x, w))
    return scaled_leaky_relu(x + s.bias.reshape(1, -1, 1, 1))


@forward_of("stylegan.ToRGB")
def to_rgb(s, x, w):
    return s.conv(x, w) + s.bias.reshape(1, -1, 1, 1)


def stylegan_synthesis(s, ws):
    """StyleGANGenerator.synthesis on the twin: ws (N, num_ws, w_dim) -> images."""
    x = s.const.expand((ws.shape[0],) + tuple(s.const.shape[1:]))
    x = s.convs[0](x, ws[:, 0])
    image = s.to_rgbs[0](x, ws[:, 1])
    for k, rgb in enumerate(list(s.to_rgbs)[1:]):
        i = 2 * k + 1
        x = s.convs[i + 1](s.convs[i](x, ws[:, i]), ws[:, i + 1])
        image = F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False) + \
            rgb(x, ws[:, i + 2])
    return image


@forward_of("stylegan.StyleGANGenerator")
def stylegan_generator(s, z):
    w = s.mapping(z)
    return stylegan_synthesis(s, w[:, None].expand(w.shape[0], s.num_ws, w.shape[1]))


@forward_of("stylegan.DiscriminatorBlock")
def stylegan_discriminator_block(s, x):
    y = scaled_leaky_relu(s.conv1(x))
    y = scaled_leaky_relu(s.conv2(F.avg_pool2d(y, 2)))
    return (y + s.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)
