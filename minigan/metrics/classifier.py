"""A small CNN that names a cat's attributes: the judge for generated cats, and a feature
extractor trained with minigan itself (standing in for ImageNet's Inception and VGG nets).

    model = load_cat_classifier("runs/cats_classifier/classifier.npz")
    logits = model(images)   # {"fur": (N, 9), "pattern": (N, 5), "eyes": (N, 6), "pose": (N, 3)}
    acts = model.features(images)   # [(N, w, H, W), (N, 2w, H/2, W/2), ...]: one per conv block

Shapes, for images (N, 3, S, S) in [-1, 1] (S = 32 or 64; any size divisible by 8 works):

    block k (k = 0..3): Conv2d 3x3 -> BatchNorm2d -> ReLU, at S / 2^k with widths[k] channels,
                        then MaxPool2d(2) between blocks (none after the last)
    head: global average pool -> (N, widths[-1]) -> one Linear per attribute -> logits

The global average pool makes the heads independent of the image size. The labels come from
`procedural_cats(..., attributes=True)`; examples/cats_classifier.py trains it. See
``docs/13_evaluating_gans.md``.
"""
from .. import serialization
from ..data.cats import CAT_ATTRIBUTES
from ..nn import (Module, Sequential, ModuleList, Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear)
from ..ops import mean


class CatAttributeClassifier(Module):
    """Images (N, channels, H, W) in [-1, 1] -> a dict of logits, one (N, K) per attribute.

    attributes  {name: [class names]} (default: `CAT_ATTRIBUTES`, all four)
    widths      channels of the conv blocks (each block halves the resolution after it)
    """

    def __init__(self, attributes=None, widths=(16, 32, 64, 64), channels=3):
        super().__init__()
        self.attributes = {k: list(v) for k, v in (attributes or CAT_ATTRIBUTES).items()}
        self.widths, self.channels = tuple(widths), channels
        blocks, width = [], channels
        for out in widths:
            blocks.append(Sequential(Conv2d(width, out, 3, 1, 1, bias=False), BatchNorm2d(out),
                                     ReLU()))
            width = out
        self.blocks = ModuleList(blocks)
        self.pool = MaxPool2d(2)
        self.heads = ModuleList([Linear(width, len(names)) for names in self.attributes.values()])

    def features(self, x):
        """The activations after each conv block (after its ReLU, before pooling): a list of
        (N, widths[k], H / 2^k, W / 2^k), early ones local (edges, colours), late ones global."""
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"CatAttributeClassifier: expected images (N, {self.channels}, H, W), "
                             f"got shape {x.shape}")
        acts = []
        for k, block in enumerate(self.blocks):
            x = block(self.pool(x) if k else x)
            acts.append(x)
        return acts

    def embedding(self, x):
        """(N, widths[-1]): the globally pooled last features, the heads' input (use these for
        FID/KID: `fid_from_features(model.embedding(a).numpy(), ...)`)."""
        return mean(self.features(x)[-1], dim=(2, 3))

    def forward(self, x):
        h = self.embedding(x)
        return {name: head(h) for name, head in zip(self.attributes, self.heads)}

    def config(self):
        """What `load_cat_classifier` needs to rebuild the network before loading weights."""
        return {"attributes": self.attributes, "widths": list(self.widths),
                "channels": self.channels}


def save_cat_classifier(model, path, **extra):
    """``minigan.save`` of the weights, the architecture and any ``extra`` notes (accuracy...)."""
    serialization.save({"config": model.config(), "state": model.state_dict(), **extra}, path)


def load_cat_classifier(path, device=None):
    """The classifier saved by `save_cat_classifier` (examples/cats_classifier.py), in eval
    mode (batch norm uses its running statistics), on ``device`` (default: the CPU)."""
    saved = serialization.load(path)
    if not isinstance(saved, dict) or "config" not in saved or "state" not in saved:
        raise ValueError(f"load_cat_classifier: {path} holds no classifier (expected 'config' "
                         f"and 'state', as written by save_cat_classifier)")
    config = saved["config"]
    model = CatAttributeClassifier(config["attributes"], tuple(config["widths"]),
                                   config["channels"])
    model.load_state_dict(saved["state"])
    if device is not None:
        model.to(device)
    return model.eval()
