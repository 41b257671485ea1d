"""Diversity judged by a classifier: the scores follow their formulas, and they tell a collapsed
generator from a diverse one (docs/13_evaluating_gans.md)."""
import math

import numpy as np
import pytest

import minigan
from minigan import backend
from minigan.data import procedural_cats
from minigan.data.cats import CAT_ATTRIBUTES, FUR
from minigan.metrics import classifier_diversity, diversity_scores
from minigan.nn import Module


class FurOracle(Module):
    """A fixed classifier of 16x16 cats: the fur class whose colour is nearest to the mean
    colour of the forehead (rows 5-6, columns 7-8). No training, so the test is quick and
    its verdicts are the same on every machine."""

    def forward(self, x):
        colour = (x[:, :, 5:7, 7:9].mean(dim=(2, 3)) + 1) * 127.5                 # (N, 3) RGB
        table = minigan.Tensor(backend.to_device(np.array(list(FUR.values()), float),
                                                 x.device, x.dtype))           # (K, 3)
        distance = ((colour.unsqueeze(1) - table.unsqueeze(0)) ** 2).sum(2)   # (N, K)
        return distance * -0.01


def as_input(images, device):
    """uint8 NHWC -> float (N, 3, H, W) in [-1, 1] on device."""
    x = images.transpose(0, 3, 1, 2).astype(np.float64) / 127.5 - 1
    return backend.to_device(x, device)


def onehot_logits(classes, k, scale=50.0):
    return np.eye(k)[classes] * scale


def identity(x):
    return x if isinstance(x, minigan.Tensor) else minigan.Tensor(x)


def test_scores_on_hand_made_predictions():
    k = 4
    # Confident and spread evenly: the best possible scores.
    best = classifier_diversity(onehot_logits(np.arange(40) % k, k), identity)
    assert best["class_entropy"] == pytest.approx(math.log(k), abs=1e-6)
    assert best["evenness"] == pytest.approx(1.0, abs=1e-6)
    assert best["confidence"] == pytest.approx(1.0, abs=1e-6)
    assert best["image_entropy"] == pytest.approx(0.0, abs=1e-6)
    assert best["inception_score"] == pytest.approx(k, rel=1e-6)
    assert best["class_distribution"] == pytest.approx([0.25] * 4)
    # Confident but all one class: collapsed.
    collapsed = classifier_diversity(onehot_logits(np.zeros(40, int), k), identity)
    assert collapsed["class_entropy"] == pytest.approx(0.0, abs=1e-6)
    assert collapsed["inception_score"] == pytest.approx(1.0, abs=1e-6)
    # Spread but unsure: every image is a coin toss between all classes.
    unsure = classifier_diversity(np.zeros((40, k)), identity)
    assert unsure["class_entropy"] == pytest.approx(math.log(k))
    assert unsure["image_entropy"] == pytest.approx(math.log(k))
    assert unsure["confidence"] == pytest.approx(1 / k)
    assert unsure["inception_score"] == pytest.approx(1.0)


def test_inception_score_is_the_exp_of_the_mutual_information():
    # exp(E_x KL(p(y|x) || p(y))) = exp(H(p(y)) - E_x H(p(y|x))), computed here the second way.
    logits = np.random.default_rng(0).normal(0, 2, (30, 5))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    entropy = lambda p: -(p * np.log(p)).sum(-1)  # noqa: E731
    expected = math.exp(entropy(probs.mean(0)) - entropy(probs).mean())
    scores = diversity_scores(probs)
    assert scores["inception_score"] == pytest.approx(expected, rel=1e-10)
    assert classifier_diversity(logits, identity, batch_size=7)["inception_score"] == \
        pytest.approx(expected, rel=1e-10)


def test_a_collapsed_generator_scores_clearly_worse(device):
    images, labels = procedural_cats(240, image_size=16, seed=0, attributes=True)
    oracle = FurOracle()
    diverse = classifier_diversity(as_input(images, device), oracle)
    # The same cat repeated: a generator that learned one cat.
    same = classifier_diversity(as_input(images[[0] * 240], device), oracle)
    # Different cats, all of one class: collapsed onto black coats (solid or tabby: the other
    # patterns put white on the forehead, where the oracle looks).
    black = images[(labels["fur"] == CAT_ATTRIBUTES["fur"].index("black"))
                   & (labels["pattern"] <= CAT_ATTRIBUTES["pattern"].index("tabby"))]
    assert len(black) > 10 and len(np.unique(black, axis=0)) == len(black)
    one_class = classifier_diversity(as_input(black, device), oracle)
    assert diverse["class_entropy"] > 0.8 * math.log(len(FUR))
    assert diverse["inception_score"] > 3
    for collapsed in (same, one_class):
        assert collapsed["class_entropy"] < 0.5 * diverse["class_entropy"]
        assert collapsed["inception_score"] < 0.5 * diverse["inception_score"]
    # One image: p(y) = p(y|x), so the mean distribution is no more spread than each image's.
    assert same["class_entropy"] == pytest.approx(same["image_entropy"], rel=1e-9)
    assert same["inception_score"] == pytest.approx(1.0, rel=1e-12)
    # The oracle agrees with the labels often enough to be a fair judge.
    guesses = oracle(minigan.Tensor(as_input(images, "cpu"))).numpy().argmax(1)
    assert (guesses == labels["fur"]).mean() > 0.5


class TwoHeads(Module):
    def forward(self, x):
        return {"a": x, "b": -x}


def test_a_classifier_with_several_attributes():
    logits = onehot_logits(np.arange(12) % 3, 3)
    both = classifier_diversity(logits, TwoHeads())
    assert set(both) == {"a", "b"}
    assert both["a"]["inception_score"] == pytest.approx(3, rel=1e-6)
    assert classifier_diversity(logits, TwoHeads(), attribute="b") == both["b"]
    with pytest.raises(ValueError, match="no attribute 'c'"):
        classifier_diversity(logits, TwoHeads(), attribute="c")
    with pytest.raises(ValueError, match="one set of logits"):
        classifier_diversity(logits, identity, attribute="a")
    with pytest.raises(ValueError, match="batch_size"):
        classifier_diversity(logits, identity, batch_size=0)


def test_the_classifier_is_judged_in_eval_mode_and_left_as_it_was():
    modes = []

    class Spy(Module):
        def forward(self, x):
            modes.append(self.training)
            return identity(x)

    spy = Spy().train()
    classifier_diversity(np.zeros((5, 2)), spy, batch_size=2)
    assert modes == [False, False, False] and spy.training
