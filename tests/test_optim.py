"""minigan.optim: SGD and Adam follow PyTorch's update formulas exactly, keep dtypes, never
touch gradients, move with the model, and a saved optimizer resumes training bit for bit.

Each optimizer is checked against a plain NumPy re-derivation of its formula (always) and
against torch.optim itself (when torch is installed).
"""
import copy

import numpy as np
import pytest

import minigan as mg
import minigan.nn as nn
import minigan.optim as optim

GRADS = [np.random.default_rng(k).normal(size=(3, 2)) for k in range(4)]
START = np.random.default_rng(9).normal(size=(3, 2))


def run_minigan(make, grads=GRADS, device="cpu"):
    """Apply ``grads`` one step each to a float64 parameter starting at START."""
    p = nn.Parameter(mg.Tensor(START.copy(), device=device))
    opt = make([p])
    history = []
    for g in grads:
        p.grad = mg.Tensor(g, device=device)
        opt.step()
        history.append(p.numpy().copy())  # numpy() shares memory on the cpu, as in PyTorch
    return history


# ------------------------------------------------------------------ NumPy references
def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf, history = START.copy(), None, []
    for g in GRADS:
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        history.append(p)
    return history


def adam_reference(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
    (b1, b2), p, history = betas, START.copy(), []
    m, v, v_max = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(GRADS, start=1):
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (v_max if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(p)
    return history


SGD_CASES = [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.5, dampening=0.3),
             dict(lr=0.1, momentum=0.9, nesterov=True), dict(lr=0.1, momentum=0.9, weight_decay=0.01)]
ADAM_CASES = [dict(lr=0.01), dict(lr=0.1, betas=(0.5, 0.999)), dict(lr=0.01, weight_decay=0.1),
              dict(lr=0.05, amsgrad=True), dict(lr=0.01, eps=1e-3)]


@pytest.mark.parametrize("options", SGD_CASES)
def test_sgd_matches_the_formula(options, device):
    mine = run_minigan(lambda ps: optim.SGD(ps, **options), device=device)
    for got, expected in zip(mine, sgd_reference(**options)):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("options", ADAM_CASES)
def test_adam_matches_the_formula(options, device):
    mine = run_minigan(lambda ps: optim.Adam(ps, **options), device=device)
    for got, expected in zip(mine, adam_reference(**options)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, options", [("SGD", o) for o in SGD_CASES] +
                                           [("Adam", o) for o in ADAM_CASES])
def test_matches_torch_optim_step_for_step(name, options):
    torch = pytest.importorskip("torch")
    mine = run_minigan(lambda ps: getattr(optim, name)(ps, **options))
    p = torch.nn.Parameter(torch.tensor(START.copy()))
    opt = getattr(torch.optim, name)([p], **options)
    for g, got in zip(GRADS, mine):
        p.grad = torch.tensor(g)
        opt.step()
        np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_training_a_small_model_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)), rng.normal(size=(16, 1))
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    opt = optim.Adam(model.parameters(), lr=0.05, betas=(0.5, 0.999))
    their_opt = torch.optim.Adam(theirs.parameters(), lr=0.05, betas=(0.5, 0.999))
    for _ in range(5):
        opt.zero_grad()
        mg.nn.functional.mse_loss(model(mg.Tensor(x)), mg.Tensor(y)).backward()
        opt.step()
        their_opt.zero_grad()
        torch.nn.functional.mse_loss(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        their_opt.step()
    for (name, mine), theirs_value in zip(model.state_dict().items(), theirs.state_dict().values()):
        np.testing.assert_allclose(mine.numpy(), theirs_value.numpy(), rtol=1e-10, err_msg=name)


# ------------------------------------------------------------------- dtypes and grads
@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=np.float64(0.1), momentum=np.float64(0.9), weight_decay=0.1),
    lambda ps: optim.Adam(ps, lr=np.float64(0.1), betas=(np.float64(0.5), 0.9), weight_decay=0.1,
                          amsgrad=True),
])
def test_float32_stays_float32(make, device):
    p = nn.Parameter(mg.ones(3, device=device))
    opt = make([p])
    for _ in range(2):
        p.grad = mg.ones(3, device=device)
        opt.step()
    assert p.dtype == np.float32 and p.device == device
    for value in opt.state[p].values():
        if isinstance(value, mg.Tensor):
            assert value.dtype == np.float32 and value.device == device


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                  lambda ps: optim.Adam(ps, lr=0.1, weight_decay=0.1)])
def test_gradients_are_never_modified(make):
    a, b = nn.Parameter(mg.ones(3)), nn.Parameter(mg.ones(3))
    shared = mg.tensor([1.0, 2.0, 3.0])
    a.grad = b.grad = shared  # backward can hand two parameters the same gradient tensor
    opt = make([a, b])
    for _ in range(2):
        opt.step()
    np.testing.assert_array_equal(shared.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_parameter_objects_are_updated_in_place():
    model = nn.Linear(2, 1)
    weight, array = model.weight, model.weight.data
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(mg.randn(3, 2)).sum().backward()
    opt.step()
    assert model.weight is weight and model.weight.data is array


def test_parameters_without_grad_are_skipped():
    a, b = nn.Parameter(mg.ones(2)), nn.Parameter(mg.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = mg.ones(2)
    opt.step()
    assert np.all(b.numpy() == 1) and b not in opt.state and np.all(a.numpy() < 1)


# ---------------------------------------------------------------------- param groups
def test_param_groups_have_their_own_options():
    a, b = nn.Parameter(mg.ones(1)), nn.Parameter(mg.ones(1))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    a.grad = b.grad = mg.ones(1)
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [0.9, 0.5])
    c = nn.Parameter(mg.ones(1))
    opt.add_param_group({"params": c, "lr": 1.0})
    assert opt.param_groups[2]["params"] == [c] and opt.param_groups[2]["momentum"] == 0.0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_bad_arguments_are_clear_errors():
    p = nn.Parameter(mg.ones(1))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="invalid lr"):
        optim.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([p * 2.0])


def test_zero_grad():
    p = nn.Parameter(mg.ones(2))
    opt = optim.SGD([p], lr=0.1)
    p.grad = mg.ones(2)
    opt.zero_grad(set_to_none=False)
    assert np.all(p.grad.numpy() == 0)
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_the_loss():
    p = nn.Parameter(mg.tensor([2.0]))
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss
    assert opt.step(closure).item() == 4.0 and p.item() == 1.0


# --------------------------------------------------------------------------- devices
def test_optimizer_state_moves_with_the_model(device):
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(mg.randn(3, 2)).sum().backward()
    opt.step()
    model.to(device)
    assert opt.to(device) is opt
    assert all(t.device == device for s in opt.state.values() for t in s.values()
               if isinstance(t, mg.Tensor))
    model(mg.randn(3, 2, device=device)).sum().backward()
    opt.step()
    assert model.weight.device == device


def test_state_left_behind_follows_the_parameter_lazily(device):
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(mg.randn(3, 2)).sum().backward()
    opt.step()
    model.to(device)  # the optimizer was not told
    model.zero_grad()
    model(mg.randn(3, 2, device=device)).sum().backward()
    opt.step()
    assert opt.state[model.weight]["momentum_buffer"].device == device


# -------------------------------------------------------------- state dict and resume
def make_run(device, seed=0):
    mg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.2),
                          nn.Linear(8, 1)).to(device)
    opt = optim.Adam([{"params": model[0].parameters(), "lr": 0.02},
                      {"params": list(model[1].parameters()) + list(model[3].parameters())}],
                     lr=0.01, betas=(0.5, 0.999), amsgrad=True)
    return model, opt


def train(model, opt, steps, device, start):
    for k in range(start, start + steps):
        rng = np.random.default_rng(k)
        x = mg.Tensor(rng.normal(size=(8, 3)).astype(np.float32), device=device)
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("through_file", [False, True])
def test_resumed_training_is_bit_identical(device, through_file, tmp_path):
    straight, opt = make_run(device)
    train(straight, opt, 6, device, start=0)

    model, opt = make_run(device)
    train(model, opt, 3, device, start=0)
    checkpoint = {"model": model.state_dict(), "opt": opt.state_dict()}
    if through_file:
        mg.save(checkpoint, tmp_path / "ckpt.npz")
        checkpoint = mg.load(tmp_path / "ckpt.npz")
    else:
        checkpoint = copy.deepcopy(checkpoint)
    resumed, resumed_opt = make_run(device, seed=1)  # different init: all must come from the file
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["opt"])
    assert resumed_opt.param_groups[0]["lr"] == 0.02
    train(resumed, resumed_opt, 3, device, start=3)

    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert resumed[0].weight.device == device


def test_sgd_momentum_resumes_exactly(device):
    def run(steps_before_reload):
        p = nn.Parameter(mg.Tensor(START.astype(np.float32), device=device))
        opt = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True)
        for k, g in enumerate(GRADS):
            if k == steps_before_reload:
                saved = copy.deepcopy(opt.state_dict())
                opt = optim.SGD([p], lr=0.5)
                opt.load_state_dict(saved)
            p.grad = mg.Tensor(g.astype(np.float32), device=device)
            opt.step()
        return p.numpy()
    np.testing.assert_array_equal(run(2), run(len(GRADS)))


def test_state_dict_layout_matches_pytorch():
    a, b = nn.Parameter(mg.ones(2)), nn.Parameter(mg.ones(3))
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}])
    a.grad = mg.ones(2)
    opt.step()
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.1 and list(state["state"]) == [0]
    assert state["state"][0]["step"] == 1 and set(state["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}


def test_load_state_dict_rejects_a_different_layout():
    a, b = nn.Parameter(mg.ones(2)), nn.Parameter(mg.ones(3))
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="doesn't match"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)


def test_loaded_state_is_not_shared_with_the_dict():
    p = nn.Parameter(mg.ones(2))
    opt = optim.Adam([p], lr=0.1)
    p.grad = mg.ones(2)
    opt.step()
    saved = {"state": {0: {"step": 1, "exp_avg": np.ones(2), "exp_avg_sq": np.ones(2)}},
             "param_groups": opt.state_dict()["param_groups"]}
    opt.load_state_dict(saved)
    assert opt.state[p]["exp_avg"].dtype == np.float32  # cast to the parameter's dtype
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], np.ones(2))


def test_repr_lists_groups():
    opt = optim.SGD([nn.Parameter(mg.ones(1))], lr=0.1)
    assert repr(opt).startswith("SGD (\nParameter Group 0\n    dampening: 0\n")
