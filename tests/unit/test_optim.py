"""Optimizers, the learning-rate schedule and the Grokfast gradient filters."""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch import nn

from grok_tui.config import GrokfastConfig, OptimConfig
from grok_tui.training.optim import (
    EMAFilter,
    MAFilter,
    build_grad_filter,
    build_optimizer,
    build_scheduler,
    lr_factor,
)


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def roundtrip(state):
    """Through bytes, as a checkpoint: must load with weights_only=True."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize(
    ("cfg", "cls", "expected"),
    [
        (
            OptimConfig(name="adamw", lr=3e-3, weight_decay=0.5, betas=(0.8, 0.9), eps=1e-7),
            torch.optim.AdamW,
            {"lr": 3e-3, "weight_decay": 0.5, "betas": (0.8, 0.9), "eps": 1e-7},
        ),
        (
            OptimConfig(name="adam", lr=1e-2, weight_decay=0.1),
            torch.optim.Adam,
            {
                "lr": 1e-2,
                "weight_decay": 0.1,
                "betas": (0.9, 0.98),
                "decoupled_weight_decay": False,
            },
        ),
        (
            OptimConfig(name="sgd", lr=0.1, weight_decay=1e-4, momentum=0.9, nesterov=True),
            torch.optim.SGD,
            {"lr": 0.1, "weight_decay": 1e-4, "momentum": 0.9, "nesterov": True},
        ),
        (
            OptimConfig(name="nadam", lr=2e-3, weight_decay=0.01, betas=(0.85, 0.95)),
            torch.optim.NAdam,
            {"lr": 2e-3, "weight_decay": 0.01, "betas": (0.85, 0.95)},
        ),
        (
            OptimConfig(name="rmsprop", lr=1e-3, weight_decay=0.2, momentum=0.5, eps=1e-6),
            torch.optim.RMSprop,
            {"lr": 1e-3, "weight_decay": 0.2, "momentum": 0.5, "eps": 1e-6},
        ),
        (
            OptimConfig(name="adagrad", lr=5e-2, weight_decay=0.3),
            torch.optim.Adagrad,
            {"lr": 5e-2, "weight_decay": 0.3},
        ),
    ],
    ids=["adamw", "adam", "sgd", "nadam", "rmsprop", "adagrad"],
)
def test_optimizer_has_the_named_class_and_hyperparameters(cfg, cls, expected):
    model = small_model()
    optimizer = build_optimizer(model, cfg)
    assert type(optimizer) is cls
    (group,) = optimizer.param_groups
    for key, value in expected.items():
        assert group[key] == value, key
    if cfg.name in ("adam", "adamw", "sgd"):  # torch >= 2.4 has fused CPU kernels for these
        assert group["fused"] is True and not group["foreach"]
    else:
        assert group["foreach"] is True  # multi-tensor kernels
    assert len(group["params"]) == len(list(model.parameters()))  # decay on everything


def test_fused_step_equals_the_foreach_step():
    """The fused kernel is a faster route to the same update."""
    cfg = OptimConfig(name="adamw", lr=1e-2, weight_decay=0.5)
    fused_model, foreach_model = small_model(), small_model()
    foreach_model.load_state_dict(fused_model.state_dict())
    fused = build_optimizer(fused_model, cfg)
    foreach = torch.optim.AdamW(
        foreach_model.parameters(), lr=1e-2, weight_decay=0.5, betas=cfg.betas, foreach=True
    )
    x = torch.randn(8, 3)
    for _ in range(3):
        for model, optimizer in ((fused_model, fused), (foreach_model, foreach)):
            optimizer.zero_grad()
            model(x).pow(2).mean().backward()
            optimizer.step()
    for a, b in zip(fused_model.parameters(), foreach_model.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_optimizer_step_updates_parameters():
    model = small_model()
    optimizer = build_optimizer(model, OptimConfig(name="adamw"))
    before = [p.detach().clone() for p in model.parameters()]
    model(torch.randn(8, 3)).pow(2).mean().backward()
    optimizer.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_warmup_follows_torch_linear_lr():
    cfg = OptimConfig(lr=1.0, warmup_steps=8)
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    reference = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=8)
    for step in range(12):
        assert lr_factor(step, cfg, total_steps=100) == pytest.approx(
            optimizer.param_groups[0]["lr"]
        )
        optimizer.step()
        reference.step()
    assert lr_factor(0, cfg, 100) == pytest.approx(0.1)
    assert lr_factor(4, cfg, 100) == pytest.approx(0.55)


def test_warmup_from_zero_is_nandas_schedule():
    cfg = OptimConfig(lr=1.0, warmup_steps=10, warmup_start=0.0)
    assert [lr_factor(s, cfg, 100) for s in range(12)] == pytest.approx(
        [min(s / 10, 1) for s in range(12)]
    )


def test_no_warmup_starts_at_full_lr():
    assert lr_factor(0, OptimConfig(warmup_steps=0), total_steps=10) == 1.0


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_decay_runs_from_lr_to_min_lr_after_warmup(schedule):
    cfg = OptimConfig(lr=1e-3, min_lr=1e-4, warmup_steps=10, schedule=schedule)
    assert lr_factor(10, cfg, total_steps=110) == pytest.approx(1.0)
    assert lr_factor(60, cfg, total_steps=110) == pytest.approx(0.55)  # halfway: both give the mean
    assert lr_factor(110, cfg, total_steps=110) == pytest.approx(0.1)
    assert lr_factor(500, cfg, total_steps=110) == pytest.approx(0.1)
    factors = [lr_factor(s, cfg, total_steps=110) for s in range(10, 111)]
    assert all(a >= b for a, b in zip(factors, factors[1:], strict=False))


def test_cosine_and_linear_differ_between_endpoints():
    cosine = OptimConfig(warmup_steps=0, schedule="cosine")
    linear = OptimConfig(warmup_steps=0, schedule="linear")
    assert lr_factor(25, linear, 100) == pytest.approx(0.75)
    assert lr_factor(25, cosine, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


def test_constant_schedule_stays_at_lr():
    cfg = OptimConfig(lr=1e-3, min_lr=1e-5, warmup_steps=5, schedule="constant")
    assert [lr_factor(s, cfg, 50) for s in (5, 30, 50, 80)] == [1.0] * 4


def test_scheduler_sets_the_learning_rate_per_step():
    cfg = OptimConfig(lr=0.5, warmup_steps=4, schedule="linear", min_lr=0.05)
    optimizer = build_optimizer(small_model(), cfg)
    scheduler = build_scheduler(optimizer, cfg, total_steps=20)
    for step in range(25):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.5 * lr_factor(step, cfg, 20))
        optimizer.step()
        scheduler.step()


def test_scheduler_state_restores_on_resume():
    cfg = OptimConfig(lr=0.5, warmup_steps=4, schedule="cosine", min_lr=0.05)
    optimizer = build_optimizer(small_model(), cfg)
    scheduler = build_scheduler(optimizer, cfg, total_steps=30)
    for _ in range(9):
        optimizer.step()
        scheduler.step()
    saved = roundtrip({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})

    resumed_opt = build_optimizer(small_model(), cfg)
    resumed = build_scheduler(resumed_opt, cfg, total_steps=30)
    resumed_opt.load_state_dict(saved["optimizer"])
    resumed.load_state_dict(saved["scheduler"])
    assert resumed.last_epoch == 9
    for _ in range(5):
        assert resumed_opt.param_groups[0]["lr"] == pytest.approx(optimizer.param_groups[0]["lr"])
        for opt, sched in ((optimizer, scheduler), (resumed_opt, resumed)):
            opt.step()
            sched.step()


def params_with_grads(*grads: list[float]) -> list[torch.Tensor]:
    params = []
    for g in grads:
        p = nn.Parameter(torch.zeros(len(g), dtype=torch.float64))
        p.grad = torch.tensor(g, dtype=torch.float64)
        params.append(p)
    return params


def set_grads(params: list[torch.Tensor], *grads: list[float]) -> None:
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g, dtype=torch.float64)


def test_ema_filter_matches_hand_computation():
    # alpha 0.9, lamb 2; ema starts at the first gradient, then ema = 0.9 ema + 0.1 g.
    ema_filter = EMAFilter(alpha=0.9, lamb=2.0)
    (param,) = params_with_grads([1.0, -2.0])
    expected = [
        ([1.0, -2.0], [1.0, -2.0]),  # ema = g
        ([3.0, 0.0], [1.2, -1.8]),
        ([0.5, 1.0], [1.13, -1.52]),
    ]
    for grad, ema in expected:
        set_grads([param], grad)
        ema_filter.apply([param])
        by_hand = [g + 2.0 * e for g, e in zip(grad, ema, strict=True)]
        torch.testing.assert_close(param.grad, torch.tensor(by_hand, dtype=torch.float64))


@pytest.mark.parametrize("make", [lambda: EMAFilter(0.98, 0.0), lambda: MAFilter(2, 0.0)])
def test_a_filter_with_lamb_0_leaves_the_gradient_as_it_is(make):
    # grokfast-matched-wd's baseline arm is the filter at lamb 0: the step must be Adam's own
    grad_filter = make()
    params = params_with_grads([0.3, -1.7, 1e-9], [2.5])
    for grads in ([[0.3, -1.7, 1e-9], [2.5]], [[-4.0, 0.1, 7.0], [0.0]], [[1.0, 1.0, 1.0], [-3.0]]):
        set_grads(params, *grads)
        grad_filter.apply(params)
        for p, g in zip(params, grads, strict=True):
            assert torch.equal(p.grad, torch.tensor(g, dtype=torch.float64))


def test_ma_filter_adds_the_window_mean_once_the_window_is_full():
    window, lamb = 3, 0.5
    ma = MAFilter(window=window, lamb=lamb)
    history = [[1.0, 2.0], [3.0, -1.0], [5.0, 0.0], [-2.0, 4.0], [0.0, 6.0]]
    (param,) = params_with_grads(history[0])
    for step, g in enumerate(history):
        set_grads([param], g)
        ma.apply([param])
        g = torch.tensor(g, dtype=torch.float64)
        if step < window - 1:
            expected = g  # window not yet full: unchanged
        else:
            recent = torch.tensor(history[step - window + 1 : step + 1], dtype=torch.float64)
            expected = g + lamb * recent.mean(dim=0)
        torch.testing.assert_close(param.grad, expected)


def test_ma_filter_value_by_hand():
    ma = MAFilter(window=2, lamb=1.0)
    (param,) = params_with_grads([2.0])
    ma.apply([param])
    assert param.grad.tolist() == [2.0]
    set_grads([param], [4.0])
    ma.apply([param])
    assert param.grad.tolist() == [7.0]  # 4 + (2 + 4) / 2
    set_grads([param], [0.0])
    ma.apply([param])
    assert param.grad.tolist() == [2.0]  # 0 + (4 + 0) / 2: the 2 left the window


def test_filter_refuses_parameters_without_gradients():
    with pytest.raises(ValueError, match="grad"):
        EMAFilter(0.9, 1.0).apply([nn.Parameter(torch.zeros(2))])


@pytest.mark.parametrize("make", [lambda: EMAFilter(0.8, 1.5), lambda: MAFilter(3, 1.5)])
def test_filter_state_roundtrip_continues_identically(make):
    original, restored = make(), make()
    params = params_with_grads([0.0, 0.0], [0.0])
    generator = torch.Generator().manual_seed(0)
    for _ in range(4):
        set_grads(params, *(torch.randn(len(p), generator=generator).tolist() for p in params))
        original.apply(params)
    restored.load_state_dict(roundtrip(original.state_dict()))
    for _ in range(3):
        grads = [torch.randn(len(p), generator=generator, dtype=torch.float64) for p in params]
        outputs = []
        for flt in (original, restored):
            set_grads(params, *(g.tolist() for g in grads))
            flt.apply(params)
            outputs.append([p.grad.clone() for p in params])
        for a, b in zip(*outputs, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_filter_refuses_state_of_the_other_kind():
    with pytest.raises(ValueError, match="not an EMA"):
        EMAFilter(0.9, 1.0).load_state_dict(MAFilter(2, 1.0).state_dict())


@pytest.mark.parametrize("make", [lambda: EMAFilter(0.9, 2.0), lambda: MAFilter(2, 2.0)])
def test_filter_never_reads_values_back_to_the_host(make):
    # Meta tensors have no values: any .item() or bool() on them raises.
    params = [nn.Parameter(torch.empty(5, 3, device="meta")) for _ in range(2)]
    flt = make()
    for _ in range(3):
        for p in params:
            p.grad = torch.empty_like(p)
        flt.apply(params)


def test_build_grad_filter_follows_config():
    assert build_grad_filter(OptimConfig()) is None
    ema = build_grad_filter(OptimConfig(grokfast=GrokfastConfig(kind="ema", alpha=0.95, lamb=3.0)))
    assert isinstance(ema, EMAFilter) and (ema.alpha, ema.lamb) == (0.95, 3.0)
    ma = build_grad_filter(OptimConfig(grokfast=GrokfastConfig(kind="ma", window=7, lamb=1.0)))
    assert isinstance(ma, MAFilter) and (ma.window, ma.lamb) == (7, 1.0)


@pytest.mark.gpu  # deselected by default; on a GPU box: pytest -m gpu
def test_adamw_is_fused_on_cuda_and_filter_does_not_synchronise():
    model = small_model().cuda()
    optimizer = build_optimizer(model, OptimConfig(name="adamw"))
    assert optimizer.param_groups[0]["fused"] is True
    model(torch.randn(8, 3, device="cuda")).sum().backward()
    params = list(model.parameters())
    torch.cuda.set_sync_debug_mode("error")
    try:
        for flt in (EMAFilter(0.9, 2.0), MAFilter(2, 2.0)):
            flt.apply(params)
            flt.apply(params)
    finally:
        torch.cuda.set_sync_debug_mode("default")
