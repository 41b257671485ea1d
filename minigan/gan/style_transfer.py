"""Neural style transfer (Gatys, Ecker and Bethge 2016): optimise the pixels of an image so
that a fixed network sees the *content* of one image and the *style* of another in it.

A network's activations F_l (N, C_l, H_l, W_l) at layer l describe an image at that scale:

    content:  L_content = sum_l mean((F_l(x) - F_l(content))^2)          where things are
    style:    G_l = F_l F_l^T / (C_l H_l W_l)   (C_l x C_l: which features fire together,
              summed over all positions, so *where* is forgotten: texture, colour, strokes)
              L_style = sum_l mean((G_l(x) - G_l(style))^2)
    smoothness (Johnson et al. 2016):  L_tv = mean((x[i+1, j] - x[i, j])^2) + mean((x[i, j+1] - x[i, j])^2)

    L(x) = a L_content + b L_style + c L_tv,   minimised over the pixels x by Adam.

Nothing is trained but the image: minigan's autograd carries dL/dx back through the frozen
network to the pixels, exactly as it carries gradients to weights. The features come from any
module with ``features(x) -> list of Tensors``: the cat-attribute classifier, or a network
with *random* weights (`RandomFeatures`): random convolutions already capture textures
(Ustyuzhaninov, Brendel, Gatys and Bethge 2017; Ulyanov's random-network audio style
transfer, 2016), though trained features transfer style with more structure.

The same `content_loss` on a network's features is SRGAN's "perceptual" loss (gan/srgan.py).
It lives here, with the GAN toolkit, because it serves the image-generation zoo (issue 16):
SRGAN and the docs page on style transfer; it adds no new autograd machinery of its own.
See docs/15_style_transfer.md.
"""
import math

from .. import backend
from ..autograd import Tensor, no_grad
from ..nn import Module, Sequential, Conv2d, ReLU, AvgPool2d, Parameter, init
from ..ops import matmul, mean, mse_loss, reshape, transpose
from ..optim import Adam


def gram_matrix(features):
    """(N, C, H, W) -> (N, C, C): G_ij = sum_k F_ik F_jk / (C H W), k over the H W positions."""
    if features.ndim != 4:
        raise ValueError(f"gram_matrix: expected features (N, C, H, W), got shape "
                         f"{features.shape}")
    n, c, h, w = features.shape
    flat = reshape(features, (n, c, h * w))
    return matmul(flat, transpose(flat, 1, 2)) / (c * h * w)


def _as_list(x):
    return [x] if isinstance(x, Tensor) else list(x)


def content_loss(features, targets):
    """sum over layers of mean((F_l - P_l)^2): the image's features against the target's."""
    features, targets = _as_list(features), _as_list(targets)
    if len(features) != len(targets):
        raise ValueError(f"content_loss: {len(features)} feature maps but {len(targets)} targets")
    return sum(mse_loss(f, t) for f, t in zip(features, targets))


def style_loss(features, target_grams):
    """sum over layers of mean((G(F_l) - A_l)^2), A_l the style image's Gram matrices (N may
    differ: one style image broadcasts over a batch)."""
    features, target_grams = _as_list(features), _as_list(target_grams)
    if len(features) != len(target_grams):
        raise ValueError(f"style_loss: {len(features)} feature maps but {len(target_grams)} "
                         f"Gram matrices")
    return sum(mean((gram_matrix(f) - a) ** 2) for f, a in zip(features, target_grams))


def total_variation_loss(x):
    """mean squared difference of vertical neighbours + of horizontal neighbours, (N, C, H, W):
    small for smooth images, so it damps the high-frequency noise pixel optimisation makes."""
    if x.ndim != 4 or min(x.shape[-2:]) < 2:
        raise ValueError(f"total_variation_loss: expected images (N, C, H, W) with H, W >= 2, "
                         f"got shape {x.shape}")
    vertical = x[:, :, 1:, :] - x[:, :, :-1, :]
    horizontal = x[:, :, :, 1:] - x[:, :, :, :-1]
    return mean(vertical * vertical) + mean(horizontal * horizontal)


class RandomFeatures(Module):
    """Conv 3x3 + ReLU stages with random (never trained) weights, each after the first
    halving the size by average pooling; ``features(x)`` is the list of every stage's output.
    Build it after ``minigan.manual_seed(s)`` for the same weights every time."""

    def __init__(self, widths=(32, 64, 128), channels=3):
        super().__init__()
        stages, previous = [], channels
        for i, width in enumerate(widths):
            pool = [AvgPool2d(2)] if i else []
            conv = Conv2d(previous, width, 3, 1, 1)
            # He initialisation keeps the activations' scale from stage to stage, so every
            # stage's Gram matrices count in the style loss (PyTorch's default shrinks them)
            init.kaiming_normal_(conv.weight, nonlinearity="relu")
            init.zeros_(conv.bias)
            stages.append(Sequential(*pool, conv, ReLU()))
            previous = width
        self.stages = Sequential(*stages)
        self.requires_grad_(False)  # a fixed measuring instrument, never trained

    def features(self, x):
        out = []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out

    def forward(self, x):
        return self.features(x)[-1]


def _pick(features, layers):
    return features if layers is None else [features[i] for i in layers]


def transfer_style(content, style, extractor, steps=200, lr=0.02, content_weight=1.0,
                   style_weight=1e6, tv_weight=0.5, content_layers=(-1,), style_layers=None,
                   init=None, callback=None):
    """Optimise an image (start: ``init``, or the content image) for ``steps`` Adam steps.

    content, style: images (1, C, H, W) in [-1, 1] (the style image may have another size).
    extractor: a module with ``features(x)``; it is frozen and put in eval mode.
    content_layers, style_layers: indices into the features list (None: all of them).
    callback(step, log, image), if given, runs after every step. Returns the image (a Tensor
    without a graph, clipped to [-1, 1]) and the list of per-step logs. A NaN or infinite
    loss raises FloatingPointError before the step that would spread it to the image.
    """
    extractor.eval()
    extractor.requires_grad_(False)
    with no_grad():
        content_targets = _pick(extractor.features(content), content_layers)
        style_grams = [gram_matrix(f) for f in _pick(extractor.features(style), style_layers)]
    start = content if init is None else init
    with backend.device_context(start.device):  # the copy is made where the image lives
        image = Parameter(start.data.copy())
    optimizer = Adam([image], lr=lr)
    history = []
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        features = extractor.features(image)
        parts = {"content": content_loss(_pick(features, content_layers), content_targets),
                 "style": style_loss(_pick(features, style_layers), style_grams),
                 "tv": total_variation_loss(image)}
        loss = (content_weight * parts["content"] + style_weight * parts["style"]
                + tv_weight * parts["tv"])
        value = loss.item()
        if not math.isfinite(value):  # a step on it would make every pixel NaN
            raise FloatingPointError(f"transfer_style: the loss is {value} at step {step}; "
                                     "try a lower lr or style_weight")
        loss.backward()
        optimizer.step()
        with no_grad():  # pixels stay displayable: the range tanh generators produce
            image.data = image.clip(-1.0, 1.0).data
        log = {"step": step, "loss": value, **{k: v.item() for k, v in parts.items()}}
        history.append(log)
        if callback is not None:
            callback(step, log, image)
    return image.detach(), history
