"""Resampling modules: `Upsample`, `PixelShuffle`, `PixelUnshuffle`, thin wrappers over
`minigan.ops.resample` (the maths and its gradients: ``docs/03_convolution.md``)."""
from . import functional as F
from .module import Module
from ..ops.resample import _check_mode, _factor


class Upsample(Module):
    """Resize to ``size`` or by ``scale_factor`` (`F.interpolate`): mode "nearest" or
    "bilinear". A generator may grow images with Upsample + Conv2d instead of
    ConvTranspose2d (fewer checkerboard artefacts)."""

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        _check_mode("Upsample", mode)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class PixelShuffle(Module):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r) (`F.pixel_shuffle`)."""

    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = _factor("PixelShuffle", "upscale_factor", upscale_factor)

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W) (`F.pixel_unshuffle`)."""

    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = _factor("PixelUnshuffle", "downscale_factor", downscale_factor)

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
