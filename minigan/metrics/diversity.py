"""Diversity judged by a classifier: classify generated images and look at the classes.

For a classifier's probabilities p(y | x) over K classes on N generated images x, with the
mean class distribution p(y) = (1/N) sum_x p(y | x):

    class entropy     H(p(y)) = -sum_y p(y) log p(y): log K when every class is generated
                      equally often (diverse), 0 when all images fall in one class (collapsed)
    confidence        E_x max_y p(y | x): is each image clearly *some* class?
    image entropy     E_x H(p(y | x)): low when each image is clearly one class
    inception score   exp(E_x KL(p(y | x) || p(y))) = exp(H(p(y)) - E_x H(p(y | x))): between
                      1 and K, high only when the images are both confidently classified and
                      spread over the classes (Salimans et al. 2016, with our classifier in
                      place of Inception-v3)

A collapsed generator scores class entropy and inception score near 0 and 1, however sharp
its one cat is. See ``docs/13_evaluating_gans.md``.
"""
import math

from .. import backend
from ..autograd import Tensor, no_grad
from ..backend import np
from ..ops import softmax


def _probabilities(images, classifier, attribute, batch_size):
    """p(y | x) for every image as a host array (N, K) per attribute: {name or None: probs}."""
    parameters = list(getattr(classifier, "parameters", lambda: [])())
    device = parameters[0].device if parameters else None
    was_training = getattr(classifier, "training", False)
    if hasattr(classifier, "eval"):
        classifier.eval()  # batch norm with its running statistics: an image's class is its own
    probs = {}
    try:
        with no_grad():
            for start in range(0, images.shape[0], batch_size):
                x = images[start:start + batch_size]
                if not isinstance(x, Tensor):
                    x = Tensor(backend.to_device(x, device or backend.device_of(x)))
                logits = classifier(x)
                if not isinstance(logits, dict):
                    if attribute is not None:
                        raise ValueError(f"classifier_diversity: attribute={attribute!r}, but "
                                         f"the classifier returns one set of logits, not a dict")
                    logits = {None: logits}
                elif attribute is not None:
                    if attribute not in logits:
                        raise ValueError(f"classifier_diversity: the classifier has no attribute "
                                         f"{attribute!r}; it has {sorted(logits)}")
                    logits = {attribute: logits[attribute]}
                for name, scores in logits.items():
                    p = softmax(scores, dim=1)
                    probs.setdefault(name, []).append(backend.to_numpy(p.data))
    finally:
        if hasattr(classifier, "train"):
            classifier.train(was_training)
    return {name: np.concatenate(parts).astype(np.float64) for name, parts in probs.items()}


def _xlogy(x, y):
    """x log y, with 0 log 0 = 0 (a class never predicted adds nothing)."""
    return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def _entropy(p):
    return -_xlogy(p, p).sum(axis=-1)


def diversity_scores(probs):
    """The scores of the module docstring from probabilities (N, K) (rows summing to 1)."""
    mean = probs.mean(axis=0)
    k = probs.shape[1]
    # KL(p(y|x) || p(y)) per image; p(y) >= p(y|x) / N > 0 wherever p(y|x) > 0.
    kl = (_xlogy(probs, probs) - _xlogy(probs, mean)).sum(axis=1)
    class_entropy = float(_entropy(mean))
    return {"class_entropy": class_entropy,
            "max_entropy": math.log(k),
            "evenness": class_entropy / math.log(k) if k > 1 else 1.0,
            "confidence": float(probs.max(axis=1).mean()),
            "image_entropy": float(_entropy(probs).mean()),
            "inception_score": float(np.exp(kl.mean())),
            "class_distribution": [float(v) for v in mean]}


def classifier_diversity(images, classifier, attribute=None, batch_size=256):
    """How varied ``images`` (N, C, H, W) in [-1, 1], a Tensor or array, look to
    ``classifier``: a callable returning logits (N, K), or a dict of them (one per attribute,
    as `CatAttributeClassifier`). Returns the dict of `diversity_scores`; for a dict-returning
    classifier with ``attribute=None``, a dict of those per attribute. The classifier runs in
    eval mode, without a graph, ``batch_size`` images at a time."""
    if images.shape[0] < 1:
        raise ValueError("classifier_diversity: needs at least one image")
    if batch_size < 1:
        raise ValueError(f"classifier_diversity: batch_size must be at least 1, got {batch_size}")
    probs = _probabilities(images, classifier, attribute, batch_size)
    if list(probs) == [None]:
        return diversity_scores(probs[None])
    if attribute is not None:
        return diversity_scores(probs[attribute])
    return {name: diversity_scores(p) for name, p in probs.items()}
