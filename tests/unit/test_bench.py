"""`grok-tui bench --quick`: runs, compares like with like, writes its numbers; --startup.

A benchmark is not a timed test: nothing here asserts a speed ratio.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
import torch

from grok_tui import cli
from grok_tui.bench.loops import CommonTransformer
from grok_tui.config import TransformerConfig

# Its module-scoped fixture is built once: every test of the module on one test worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("bench")]


@pytest.fixture(scope="module")
def quick_bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    """`grok-tui bench --quick` once for the module: its JSON and what it printed."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    # one round: the tests check what is written, not how steady the figures are
    argv = ["bench", "--quick", "--rounds", "1", "--device", "cpu", "--json", str(out)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert cli.main(argv) == 0
    return json.loads(out.read_text()), printed.getvalue()


def test_quick_bench_writes_every_number(quick_bench):
    result, printed = quick_bench

    loops = result["loops"]
    assert set(loops) == {
        "transformer engine",
        "transformer baseline",
        "mlp engine",
        "mlp baseline",
    }
    for info in loops.values():
        assert info["steps_per_s"] > 0
        assert all(rate > 0 for rate in info["rounds_steps_per_s"])
    for model in ("transformer", "mlp"):
        engine, baseline = loops[f"{model} engine"], loops[f"{model} baseline"]
        assert engine["param_count"] == baseline["param_count"] > 0
        assert f"{engine['param_count']:,}" in printed

    assert result["matmul_gflops"] > 0
    flops = result["transformer_flops"]
    assert 0 < flops["train_step"] < flops["nominal_full_model_train_step"]
    assert flops["achieved_fraction"] > 0
    # model FLOPs count the nominal work, which the engine's shortcuts skip part of
    assert flops["model_flops_fraction"] > flops["achieved_fraction"]
    assert "MFU" in printed
    assert set(result["speedup"]) == {"transformer", "mlp"}

    last = printed.strip().splitlines()[-1]
    s = result["speedup"]
    assert last == f"speedup: transformer={s['transformer']:.2f}x mlp={s['mlp']:.2f}x"


def test_baseline_models_match_the_engine_models_in_size():
    task_sizes = {"vocab_size": 99, "seq_len": 4, "n_classes": 97}
    from grok_tui.training.models import Transformer, count_parameters

    cfg = TransformerConfig()
    ours = Transformer(cfg, **task_sizes)
    common = CommonTransformer(cfg, *task_sizes.values())
    assert count_parameters(ours) == count_parameters(common)
    tokens = torch.randint(0, 97, (8, 4))
    assert common(tokens).shape == (4, 8, 97)  # (T, B, classes): every position unembedded


def test_analytic_flops_match_the_flop_counter(quick_bench):
    """The engine's counted matmul FLOPs agree with the formula (within the few MFLOP of
    single-query attention the counter does not see): as the bench counted them, on the
    report's transformer (engine_transformer_flops; the step does not depend on eval_every)."""
    counted = quick_bench[0]["transformer_flops"]
    assert abs(counted["train_step"] - counted["analytic_train_step"]) <= (
        0.01 * counted["analytic_train_step"]
    )
    assert counted["train_step"] < 0.65 * counted["nominal_full_model_train_step"]
    # nominal: about 5 GFLOP per step for the report's transformer at batch 512
    assert 4.5e9 < counted["nominal_full_model_train_step"] < 5.5e9


def test_startup_timing_starts_the_tui_in_a_terminal(capsys):
    """`grok-tui bench --startup`: the TUI started in a pseudo-terminal, every figure printed:
    the presets listed, and each screen switch (each screen showed: no nan)."""
    assert cli.main(["bench", "--startup", "--runs", "2", "--repeat", "1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("median: first frame ") and "nan" not in last
    for figure in ["presets listed", "F4 History", "F3 Live", "F6 Queue", "F2 Presets", "Compare"]:
        assert f"{figure} " in last and "load average" in last


def test_the_startup_bench_reads_text_through_the_terminal_codes():
    """What the bench looks for on screen is the text without styles and moves."""
    from grok_tui.bench.startup import screen_text

    sent = b"\x1b[1;1H\x1b[1m\xe2\x9c\x93 \x1b[0mquick\x1b[38;2;1;2;3mstart\x1b]0;t\x07 2 of 2 runs"
    assert screen_text(sent) == "\u2713 quickstart 2 of 2 runs"


@pytest.mark.parametrize(
    "argv",
    [
        ["--runs", "5"],
        ["--startup", "--quick"],
        ["--startup", "--device", "cpu"],
        ["--startup", "--repeat", "0"],
    ],
)
def test_training_and_startup_options_do_not_mix(argv):
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", *argv])
    assert exc.value.code == 2
