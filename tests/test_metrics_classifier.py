"""The cat-attribute classifier: its shapes, its features for other losses, saving and loading,
and a short training run of examples/cats_classifier.py that learns fur colour."""
import json
import pathlib

import numpy as np
import pytest

import minigan
from minigan.data.cats import CAT_ATTRIBUTES
from minigan.metrics import CatAttributeClassifier, load_cat_classifier, save_cat_classifier


@pytest.mark.parametrize("size", [16, 32, 64])
def test_shapes_of_logits_and_features(device, size):
    model = CatAttributeClassifier(widths=(4, 6, 8, 8)).to(device)
    x = minigan.randn(3, 3, size, size, device=device)
    logits = model(x)
    assert {k: v.shape for k, v in logits.items()} == \
        {name: (3, len(classes)) for name, classes in CAT_ATTRIBUTES.items()}
    features = model.features(x)
    assert [f.shape for f in features] == [(3, 4, size, size), (3, 6, size // 2, size // 2),
                                           (3, 8, size // 4, size // 4),
                                           (3, 8, size // 8, size // 8)]
    assert all(f.device == device for f in features)
    assert model.embedding(x).shape == (3, 8)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(minigan.randn(3, 1, size, size, device=device))


def test_features_carry_gradients_to_the_image():
    # Style transfer and SRGAN's content loss backpropagate through the features to pixels.
    model = CatAttributeClassifier(widths=(4, 4, 4, 4)).eval()
    x = minigan.randn(2, 3, 16, 16, requires_grad=True)
    sum(f.mean() for f in model.features(x)).backward()
    assert x.grad is not None and np.abs(x.grad.numpy()).sum() > 0


def test_save_and_load_give_the_same_predictions(tmp_path, device):
    model = CatAttributeClassifier({"fur": ["a", "b"], "eyes": ["c", "d", "e"]}, (4, 4, 8, 8))
    model.train()
    for p in model.parameters():  # non-default weights, and running statistics that moved
        p.data[...] = np.random.default_rng(p.size).normal(size=p.shape)
    model(minigan.randn(4, 3, 16, 16))
    model.eval()
    path = tmp_path / "classifier.npz"
    save_cat_classifier(model, path, accuracy={"fur": 0.5})
    loaded = load_cat_classifier(path, device=device)
    assert not loaded.training and loaded.attributes == model.attributes
    x = minigan.randn(2, 3, 16, 16)
    expected = model(x)
    got = loaded(minigan.Tensor(minigan.to_device(x.data, device)))
    for name in expected:
        # float32 sums of 100s of terms in another order on a GPU: ~1e-5 relative apart
        np.testing.assert_allclose(got[name].numpy(), expected[name].numpy(), rtol=1e-4, atol=1e-4)
    assert minigan.load(path)["accuracy"] == {"fur": 0.5}
    minigan.save({"weights": np.zeros(2)}, tmp_path / "other.npz")
    with pytest.raises(ValueError, match="no classifier"):
        load_cat_classifier(tmp_path / "other.npz")


def test_the_example_learns_fur_colour(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import cats_classifier
    out = tmp_path / "run"
    result = cats_classifier.main(["--image-size", "16", "--num-images", "256", "--test-images",
                                   "200", "--steps", "30", "--widths", "8", "16", "16", "16",
                                   "--lr", "1e-2", "--batch-size", "32", "--out", str(out)])
    report = json.loads((out / "accuracy.json").read_text())
    assert report["held_out_accuracy"] == result
    # Fur colour is the easiest attribute: well above the majority class (about 0.2) on cats
    # never seen in training, after 30 steps.
    assert result["fur"] > 0.45, result
    model = load_cat_classifier(out / "classifier.npz")
    assert model.widths == (8, 16, 16, 16)


@pytest.mark.parametrize("failure", ["interrupt", "nan"])
def test_the_example_saves_on_ctrl_c_and_stops_on_nan(tmp_path, monkeypatch, failure):
    monkeypatch.syspath_prepend(str(pathlib.Path(__file__).resolve().parent.parent))
    from examples import cats_classifier
    calls, plain = [], cats_classifier.loss_and_accuracy

    def breaks_at_step_3(model, x, y):
        calls.append(model.training)
        loss, correct = plain(model, x, y)
        if len(calls) == 3 and failure == "interrupt":
            raise KeyboardInterrupt
        return (loss * float("nan") if failure == "nan" else loss), correct
    monkeypatch.setattr(cats_classifier, "loss_and_accuracy", breaks_at_step_3)
    out = tmp_path / "run"
    argv = ["--image-size", "16", "--num-images", "64", "--test-images", "32", "--steps", "50",
            "--widths", "4", "4", "4", "4", "--batch-size", "16", "--out", str(out)]
    if failure == "nan":
        with pytest.raises(SystemExit, match="loss became nan at step 1; nothing saved"):
            cats_classifier.main(argv)
        assert not out.exists()
    else:
        result = cats_classifier.main(argv)  # measured and saved as a finished run is
        assert json.loads((out / "accuracy.json").read_text())["held_out_accuracy"] == result
        assert load_cat_classifier(out / "classifier.npz").widths == (4, 4, 4, 4)
        assert calls == [True] * 3 + [False]  # stopped where it was interrupted, then measured
