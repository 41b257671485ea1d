"""Image-to-image GANs (minigan/gan/pix2pix.py, cyclegan.py, image_pool.py, models/unet.py,
patchgan.py, resnet.py; examples/cats_pix2pix.py and cats_cyclegan.py) keep their promises:
the shapes of the networks, the cycle loss that vanishes exactly when both generators are
the identity, the history buffer's rules, gradients of the composed losses to second order,
short training on every device, and examples that resume bit for bit.
"""
import pathlib
import sys

import numpy as np
import pytest
from PIL import Image

import minigan
from minigan import nn, optim
from minigan.data import PairedBatches, UnpairedBatches, ImageBatches, edge_maps, procedural_cats
from minigan.gan import (CycleGANTrainer, ImagePool, PatchGANDiscriminator, Pix2PixTrainer,
                         ResnetGenerator, UNetGenerator, cycle_consistency_loss, identity_loss,
                         linear_decay, lsgan_generator_loss, pix2pix_generator_loss)
from minigan.gan.models.patchgan import receptive_field
from minigan.testing.gradcheck import gradcheck, gradgradcheck
from strategies import make_tensor


# ------------------------------------------------------------------------------ networks
@pytest.mark.parametrize("size", [32, 64])
def test_unet_and_patchgan_shapes(size):
    x = minigan.randn(2, 1, size, size)
    G = UNetGenerator(in_channels=1, out_channels=3, ngf=4, image_size=size)
    y = G(x)
    assert y.shape == (2, 3, size, size)
    assert float(y.data.min()) >= -1 and float(y.data.max()) <= 1  # tanh output
    assert len(G.downs) == int(np.log2(size))  # all the way down to 1x1
    for n_layers, patches in [(1, size // 2 - 2), (2, size // 4 - 2), (3, size // 8 - 2)]:
        D = PatchGANDiscriminator(3, ndf=4, n_layers=n_layers, condition_channels=1)
        assert D(y, x).shape == (2, 1, patches, patches)
        assert D.receptive_field == {1: 16, 2: 34, 3: 70}[n_layers]
    with pytest.raises(ValueError, match="condition"):
        D(y)  # a conditional D without its condition


def test_receptive_field_is_what_a_logit_sees():
    """Perturb one input pixel: exactly the logits whose patch covers it change. The patch
    of a logit is receptive_field pixels wide, so along a row the affected logits span
    (receptive_field + stride - 1) / stride positions at most (stride: the total, 2^n)."""
    D = PatchGANDiscriminator(1, ndf=2, n_layers=2).double()
    D.eval()  # batch norm with running statistics: a per-channel affine map, local
    x = np.random.default_rng(0).normal(size=(1, 1, 64, 64))
    base = D(minigan.tensor(x)).data
    x[0, 0, 32, 32] += 1.0
    changed = np.abs(D(minigan.tensor(x)).data - base)[0, 0] > 0
    rows = np.flatnonzero(changed.any(axis=1))
    assert receptive_field(2) // 4 <= len(rows) <= -(-receptive_field(2) // 4)


def test_resnet_generator_shapes_and_padding():
    G = ResnetGenerator(ngf=4, n_blocks=2)
    for size in (32, 64):
        assert G(minigan.randn(2, 3, size, size)).shape == (2, 3, size, size)
    with pytest.raises(ValueError, match="multiples of 4"):
        G(minigan.randn(1, 3, 30, 30))


# -------------------------------------------------------------------------------- losses
class _Shift(nn.Module):
    """A generator that is not the identity: adds a constant."""

    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return x + self.c


def test_cycle_loss_is_exactly_zero_for_identity_generators(device):
    rng = np.random.default_rng(0)
    a = make_tensor(rng.normal(size=(2, 3, 8, 8)), device)
    b = make_tensor(rng.normal(size=(3, 3, 8, 8)), device)  # unpaired: other sizes allowed
    loss, fake_a, fake_b = cycle_consistency_loss(nn.Identity(), nn.Identity(), a, b)
    assert float(loss.data) == 0.0 and float(identity_loss(nn.Identity(), nn.Identity(), a, b)
                                             .data) == 0.0
    host = minigan.to_numpy
    assert np.array_equal(host(fake_b.data), host(a.data))
    assert np.array_equal(host(fake_a.data), host(b.data))
    # G_AB adds 0.5, G_BA subtracts 0.25: each cycle is off by 0.25 everywhere
    loss = cycle_consistency_loss(_Shift(0.5), _Shift(-0.25), a, b)[0]
    assert np.isclose(float(loss.data), 0.5)
    # a real (random) ResNet generator is far from the identity
    G = ResnetGenerator(ngf=2, n_blocks=1).to(device=device, dtype="float64")
    assert float(cycle_consistency_loss(G, G, a, b)[0].data) > 0.1


def _tiny_unet(device):
    minigan.manual_seed(0)
    return UNetGenerator(3, 3, ngf=2, image_size=8, dropout=0.0).to(device=device,
                                                                      dtype="float64")


def test_pix2pix_loss_gradients(device):
    """L1 + GAN through a tiny U-Net and a conditional PatchGAN (batch norm in training
    mode), first and second order, with respect to the input and the target."""
    G = _tiny_unet(device)
    D = PatchGANDiscriminator(3, ndf=2, n_layers=1, condition_channels=3).to(device=device,
                                                                             dtype="float64")
    rng = np.random.default_rng(1)
    x = make_tensor(rng.uniform(-1, 1, size=(2, 3, 8, 8)), device)
    y = make_tensor(rng.uniform(-1, 1, size=(2, 3, 8, 8)), device)

    def loss(x, y):
        fake = G(x)
        return pix2pix_generator_loss(D(fake, x), fake, y, l1_weight=100.0)[0]

    gradcheck(loss, [x, y], max_elements=32)
    gradgradcheck(loss, [x, y], max_elements=16)


def test_cyclegan_loss_gradients(device):
    """Cycle + identity + least-squares GAN terms through tiny ResNet generators (reflection
    padding, instance norm) and PatchGANs, first and second order."""
    minigan.manual_seed(0)
    g_ab, g_ba = (ResnetGenerator(ngf=2, n_blocks=1).to(device=device, dtype="float64")
                  for _ in range(2))
    d_a, d_b = (PatchGANDiscriminator(3, ndf=2, n_layers=1, norm="instance")
                .to(device=device, dtype="float64") for _ in range(2))
    rng = np.random.default_rng(2)
    a = make_tensor(rng.uniform(-1, 1, size=(1, 3, 8, 8)), device)
    # b as a constant: a's gradient already runs through both generators and both Ds (a ->
    # G_AB -> G_BA, a -> G_AB -> D_B, a -> G_BA), and each check costs ~20 evaluations
    b = make_tensor(rng.uniform(-1, 1, size=(1, 3, 8, 8)), device, requires_grad=False)

    def loss(a, b):
        cycle, fake_a, fake_b = cycle_consistency_loss(g_ab, g_ba, a, b)
        gan = lsgan_generator_loss(d_b(fake_b)) + lsgan_generator_loss(d_a(fake_a))
        return gan + 10.0 * cycle + 5.0 * identity_loss(g_ab, g_ba, a, b)

    gradcheck(loss, [a, b], max_elements=32)
    gradgradcheck(loss, [a, b], max_elements=16)


# ---------------------------------------------------------------------------- image pool
def _numbered(start, n, device="cpu"):
    """n images (1, 2, 2) whose pixels all equal their number: easy to tell apart."""
    values = np.arange(start, start + n, dtype=np.float64)[:, None, None, None]
    return make_tensor(np.broadcast_to(values, (n, 1, 2, 2)).copy(), device)


def _numbers(batch):
    return [int(v) for v in minigan.to_numpy(batch.data)[:, 0, 0, 0]]


def test_image_pool_returns_new_images_while_filling_then_swaps_half(device):
    pool = ImagePool(pool_size=10, seed=0)
    assert _numbers(pool.query(_numbered(0, 6, device))) == list(range(6))
    assert _numbers(pool.query(_numbered(6, 4, device))) == list(range(6, 10))  # now full
    returned_old = 0
    for new in range(10, 410):  # one image at a time
        got = _numbers(pool.query(_numbered(new, 1, device)))[0]
        stored = [int(minigan.to_numpy(image)[0, 0, 0]) for image in pool.images]
        if got != new:  # an older image, swapped out of the pool for the new one
            returned_old += 1
            assert got < new and got not in stored and new in stored
        else:
            assert new not in stored
        assert len(stored) == 10
    assert 0.41 < returned_old / 400 < 0.59  # 400 coin flips: 0.5 +- 3.6 standard deviations


def test_image_pool_of_size_zero_passes_images_through():
    out = ImagePool(pool_size=0).query(_numbered(0, 3))
    assert _numbers(out) == [0, 1, 2] and not out.requires_grad


def _run_pool(pool, batches):
    return [_numbers(pool.query(_numbered(start, 4))) for start in batches]


def test_image_pool_is_deterministic_and_resumes_from_its_state(tmp_path):
    starts = range(0, 80, 4)
    first, second = ImagePool(8, seed=3), ImagePool(8, seed=3)
    assert _run_pool(first, starts) == _run_pool(second, starts)
    assert _run_pool(ImagePool(8, seed=4), starts) != _run_pool(ImagePool(8, seed=3), starts)
    # stopped after 10 batches, saved, loaded into a fresh pool: the same 10 batches after
    straight = ImagePool(8, seed=3)
    expected = _run_pool(straight, starts)
    stopped = ImagePool(8, seed=3)
    _run_pool(stopped, starts[:10])
    minigan.save({"pool": stopped.state_dict()}, tmp_path / "pool.npz")
    resumed = ImagePool(8, seed=99)
    resumed.load_state_dict(minigan.load(tmp_path / "pool.npz")["pool"])
    assert _run_pool(resumed, starts[10:]) == expected[10:]
    with pytest.raises(ValueError, match="pool of 8"):
        ImagePool(5).load_state_dict(stopped.state_dict())


# ------------------------------------------------------------------------------ training
def _changed(before, net):
    return any(not np.array_equal(b, minigan.to_numpy(p.data))
               for b, p in zip(before, net.parameters()))


def _snapshot(net):
    return [minigan.to_numpy(p.data).copy() for p in net.parameters()]


def test_pix2pix_trains_two_steps(device):
    cats = procedural_cats(8, image_size=16, seed=0)
    edges = edge_maps(cats)
    batches = PairedBatches(edges, cats, batch_size=4, flip=True, device=device)
    minigan.manual_seed(0)
    G = UNetGenerator(ngf=4, image_size=16).to(device)
    D = PatchGANDiscriminator(3, ndf=4, n_layers=1, condition_channels=3).to(device)
    x, y = next(iter(PairedBatches(edges, cats, batch_size=4, shuffle=False, device=device)))
    trainer = Pix2PixTrainer(G, D, optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                             optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999)),
                             sample_pairs=(x, y))
    before_g, before_d = _snapshot(G), _snapshot(D)
    history = trainer.fit(batches, 2)
    assert trainer.step == 2 and len(history) == 2
    for log in history:
        assert {"loss_D", "loss_G", "loss_G_GAN", "L1", "D(x,y)", "D(x,G(x))"} <= log.keys()
        assert np.isclose(log["loss_G"], log["loss_G_GAN"] + 100.0 * log["L1"])
        assert all(np.isfinite(v) for v in log.values())
    assert _changed(before_g, G) and _changed(before_d, D)
    grid = trainer.sample()
    assert grid.shape == (12, 3, 16, 16) and grid.device == device
    assert np.array_equal(minigan.to_numpy(grid.data[:4]), minigan.to_numpy(x.data))  # inputs
    assert np.array_equal(minigan.to_numpy(grid.data[8:]), minigan.to_numpy(y.data))  # targets
    assert G.training  # sampling ran in eval mode and left G as it was


def test_paired_batches_flip_input_and_target_together():
    cats = procedural_cats(4, image_size=8, seed=1)
    x, y = next(iter(PairedBatches(cats[:, :, ::-1], cats, batch_size=4, flip=True, seed=0)))
    plain_x, plain_y = next(iter(PairedBatches(cats[:, :, ::-1], cats, batch_size=4, seed=0)))
    # the input is the target mirrored, flipped or not: the pairs stayed pairs
    assert np.array_equal(x.data, y.data[..., ::-1])
    assert not np.array_equal(x.data, plain_x.data)  # some were flipped (seed 0)


def test_cyclegan_trains_two_steps(device):
    a_images = procedural_cats(8, image_size=16, seed=0)
    b_images = procedural_cats(6, image_size=16, seed=1)[..., ::-1]  # "another domain": BGR
    batches = UnpairedBatches(ImageBatches(a_images, 4, seed=0, device=device),
                              ImageBatches(b_images, 4, seed=1, device=device))
    minigan.manual_seed(0)
    g_ab, g_ba = (ResnetGenerator(ngf=4, n_blocks=1).to(device) for _ in range(2))
    d_a, d_b = (PatchGANDiscriminator(3, ndf=4, n_layers=1, norm="instance").to(device)
                for _ in range(2))
    sample = next(iter(UnpairedBatches(ImageBatches(a_images, 4, shuffle=False, device=device),
                                       ImageBatches(b_images, 4, shuffle=False, device=device))))
    trainer = CycleGANTrainer(
        g_ab, g_ba, d_a, d_b,
        optim.Adam(list(g_ab.parameters()) + list(g_ba.parameters()), lr=2e-4),
        optim.Adam(list(d_a.parameters()) + list(d_b.parameters()), lr=2e-4),
        sample_batches=sample, pool_size=6)
    nets = trainer.networks()
    before = {name: _snapshot(net) for name, net in nets.items()}
    history = trainer.fit(batches, 3)  # b has one batch per epoch: the b stream starts again
    assert trainer.step == 3 and batches.epoch == 1
    for log in history:
        assert list(log)[:4] == ["loss_D", "loss_G", "loss_G_GAN", "cycle"]
        assert np.isclose(log["loss_G"], log["loss_G_GAN"] + 10 * log["cycle"]
                          + 5 * log["identity"])
        assert all(np.isfinite(v) for v in log.values())
    assert all(_changed(before[name], net) for name, net in nets.items())
    assert len(trainer.pool_a.images) == 6 and len(trainer.pool_b.images) == 6
    grid = trainer.sample()
    assert grid.shape == (24, 3, 16, 16) and grid.device == device
    assert np.array_equal(minigan.to_numpy(grid.data[:4]), minigan.to_numpy(sample[0].data))
    assert np.array_equal(minigan.to_numpy(grid.data[12:16]), minigan.to_numpy(sample[1].data))


# ------------------------------------------------------------------------------ examples
ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # examples/ is a folder of scripts, not an installed package
from examples import cats_cyclegan, cats_pix2pix  # noqa: E402

def assert_same_run(out_a, out_b):
    """Every array of the two checkpoints equal to the bit, and everything else too (step,
    history, batches, random states, pools' generators)."""
    with np.load(out_a / "checkpoint.npz") as a, np.load(out_b / "checkpoint.npz") as b:
        assert a.files == b.files
        for name in a.files:
            if name != "__minigan__":
                assert a[name].dtype == b[name].dtype and np.array_equal(a[name], b[name]), name
    state_a, state_b = (minigan.load(out / "checkpoint.npz") for out in (out_a, out_b))
    state_a["config"].pop("out"), state_b["config"].pop("out")
    assert _without_arrays(state_a) == _without_arrays(state_b)


def _without_arrays(tree):
    if isinstance(tree, dict):
        return {k: _without_arrays(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_without_arrays(v) for v in tree]
    return None if isinstance(tree, np.ndarray) else tree

TINY = ["--device", "cpu", "--image-size", "16", "--ngf", "4", "--ndf", "4",
        "--batch-size", "4", "--checkpoint-every", "1", "--sample-every", "2"]
PIX2PIX = TINY + ["--num-images", "24"]  # 8 to train on (two batches), 16 held out


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A folder of 20 "photos" for CycleGAN's domain B: procedural cats in other colours."""
    folder = tmp_path_factory.mktemp("photos")
    for i, image in enumerate(procedural_cats(20, image_size=16, seed=7)[..., ::-1]):
        Image.fromarray(np.ascontiguousarray(image)).save(folder / f"cat_{i}.png")
    return folder


def _cyclegan(photos):
    # 12 procedural cats (4 to train on, 8 held out), 20 photos (12 to train on)
    return TINY + ["--n-blocks", "1", "--num-images", "12", "--data", str(photos)]


@pytest.mark.parametrize("example", ["pix2pix", "cyclegan"])
def test_examples_resume_bit_for_bit(example, photos, tmp_path):
    """2 steps, then --resume to 4, equals 4 steps straight: models, optimizers, batches,
    random generators and (CycleGAN) the image pools."""
    module, flags = ((cats_pix2pix, PIX2PIX) if example == "pix2pix"
                     else (cats_cyclegan, _cyclegan(photos)))
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    summary = module.main(flags + ["--steps", "4", "--out", str(straight)])
    assert summary["status"] == "finished" and summary["step"] == 4
    for name in ["final.png", "progress.gif", "losses.png", "metrics.csv", "config.json",
                 "samples/step_000002.png", "samples/step_000004.png"]:
        assert (straight / name).is_file(), name
    assert module.main(flags + ["--steps", "2", "--out", str(resumed)])["step"] == 2
    assert module.main(["--resume", "--steps", "4", "--out", str(resumed)])["step"] == 4
    assert_same_run(straight, resumed)
    grid = Image.open(straight / "final.png")
    # Pix2Pix: 16 held-out pairs in two bands of input, output, target rows (6 rows of 8);
    # CycleGAN: 8 of each domain, a band per domain (6 rows of 8). 16 px + 2 px padding.
    assert grid.size == (8 * 18 + 2, 6 * 18 + 2)


@pytest.mark.parametrize("example", ["pix2pix", "cyclegan"])
def test_the_lr_decays_as_the_papers_across_an_interrupted_run(example, photos, tmp_path):
    """The default --decay-start 0.5 over 6 steps: the full lr for steps 0-3, then 2/3 and 1/3
    of it. A run stopped by Ctrl-C after step 4 (mid-decay) and resumed equals the straight
    run to the bit, the lrs and the schedulers' states included."""
    module, flags = ((cats_pix2pix, PIX2PIX) if example == "pix2pix"
                     else (cats_cyclegan, _cyclegan(photos)))
    flags = flags + ["--steps", "6", "--lr", "1e-3"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"

    def recorder(lrs, stop_at=None):
        def callback(trainer, log):  # after step s: the lrs of G and D for step s
            lrs.append([group["lr"] for opt in (trainer.g_optimizer, trainer.d_optimizer)
                        for group in opt.param_groups])
            if trainer.step == stop_at:
                raise KeyboardInterrupt  # as Ctrl-C: the loop saves and stops
        return callback

    straight_lrs, resumed_lrs = [], []
    module.main(flags + ["--out", str(straight)], callback=recorder(straight_lrs))
    summary = module.main(flags + ["--out", str(resumed)], callback=recorder(resumed_lrs, 4))
    assert summary["status"] == "interrupted" and summary["step"] == 4
    assert module.main(["--resume", "--out", str(resumed)],
                       callback=recorder(resumed_lrs))["step"] == 6
    rule = linear_decay(6, 0.5)
    assert [rule(s) for s in range(7)] == [1, 1, 1, 1, 2 / 3, 1 / 3, 0]
    assert straight_lrs == [[1e-3 * rule(s)] * 2 for s in range(1, 7)]
    assert resumed_lrs == straight_lrs
    assert_same_run(straight, resumed)
    assert minigan.load(resumed / "checkpoint.npz")["config"]["decay_start"] == 0.5
    with pytest.raises(SystemExit, match=r"--decay-start 1.0 \(checkpoint: 0.5\)"):
        module.main(["--resume", "--decay-start", "1", "--out", str(resumed)])


def test_decay_start_one_keeps_the_lr_and_the_flag_is_checked():
    assert [linear_decay(5, 1.0)(s) for s in range(5)] == [1.0] * 5
    with pytest.raises(SystemExit):  # argparse: must be in [0, 1]
        cats_pix2pix.parse_args(["--decay-start", "1.5"])


def test_examples_run_on_the_device(device, photos, tmp_path):
    flags = ["--device", device, "--steps", "1"]
    assert cats_pix2pix.main(PIX2PIX + flags + ["--out", str(tmp_path / "p")])["step"] == 1
    assert cats_cyclegan.main(_cyclegan(photos) + flags + ["--out", str(tmp_path / "c")])[
        "step"] == 1


def test_cyclegan_example_needs_photos(tmp_path):
    with pytest.raises(SystemExit, match="--data"):
        cats_cyclegan.main(TINY + ["--steps", "1", "--out", str(tmp_path)])
