"""`grok-tui bench --against PATH` and the step's breakdown: what they refuse, how they pace
another project's loop, and that the breakdown's parts add up to the time measured.

A benchmark is not a timed test: nothing here asserts a speed.
"""

from __future__ import annotations

import contextlib
import io
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from grok_tui import cli
from grok_tui.bench import against
from grok_tui.bench.breakdown import EVAL, MATMUL, PYTHON, breakdown, part_of
from grok_tui.bench.plan import DANIELMAMAY, make_preset
from grok_tui.config import load_preset
from tests.conftest import REPO

# A stand-in for their training.py: the loop shape of danielmamay HEAD's main (wandb.init,
# wandb.config, tqdm over the steps, wandb.log), with no torch work, recording its steps.
FAKE_TRAINING = """
    import wandb
    from tqdm import tqdm
    from data import helper
    STEPS = []

    def main(args):
        wandb.init(project="grokking", config=vars(args))
        assert wandb.run is not None
        config = wandb.config
        print(f"Device: {config.device}")
        for step in tqdm(range(config.num_steps)):
            STEPS.append(helper(step))
            if step % 100 == 0:
                wandb.log({"x": step}, step=step)
"""


def fake_checkout(root: Path, training: str = FAKE_TRAINING) -> Path:
    folder = root / "grokking"
    folder.mkdir(parents=True)
    (folder / "training.py").write_text(textwrap.dedent(training))
    (folder / "model.py").write_text("")
    (folder / "data.py").write_text("def helper(step):\n    return step\n")
    return root


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_against_refuses_a_folder_without_their_files_in_one_line(tmp_path):
    (tmp_path / "grokking").mkdir()
    (tmp_path / "grokking" / "model.py").write_text("")

    code, out, err = run_cli(["bench", "--against", str(tmp_path)])

    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "not a danielmamay/grokking checkout" in err
    assert "grokking/training.py" in err and "grokking/data.py" in err
    assert "grokking/model.py" not in err  # present: not named as missing


def test_against_names_a_module_their_code_lacks_in_one_line(tmp_path):
    checkout = fake_checkout(tmp_path, "import no_such_module_for_grok_tui\n")

    code, _, err = run_cli(["bench", "--against", str(checkout), "--threads", "1"])

    assert code == 2
    assert err.strip().splitlines() == [
        "grok-tui bench: --against: their code imports no_such_module_for_grok_tui, "
        "which this Python lacks (pip install no_such_module_for_grok_tui)"
    ]
    assert "data" not in sys.modules or not hasattr(sys.modules["data"], "helper")


@pytest.mark.parametrize("threads", ["0", "1,x", ",2"])
def test_threads_takes_positive_counts_and_goes_with_against(threads, tmp_path):
    with pytest.raises(SystemExit) as exit_info, contextlib.redirect_stderr(io.StringIO()):
        cli.main(["bench", "--against", str(tmp_path), "--threads", threads])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        cli.main(["bench", "--threads", "1"])


def test_their_loop_runs_exactly_the_steps_asked_and_leaves_no_modules_behind(tmp_path):
    before = set(sys.modules)
    training = against.import_theirs(against.check_checkout(fake_checkout(tmp_path)))
    assert {"training", "model", "data", "wandb"}.isdisjoint(set(sys.modules) - before)
    assert getattr(sys.modules.get("tqdm"), "__spec__", True) is not None  # no stand-in left

    loop = against.TheirLoop(training, threads=torch.get_num_threads())
    try:
        assert training.STEPS == []  # set up, paused before their first step
        loop.run(3)
        assert training.STEPS == [0, 1, 2]
        loop.run(150)  # through a wandb.log at step 100: the stand-in takes it
        assert list(range(153)) == training.STEPS
    finally:
        loop.close()
    assert not loop.thread.is_alive()


def test_their_failure_is_one_line_not_a_hang(tmp_path):
    failing = FAKE_TRAINING.replace("STEPS.append(helper(step))", "raise ValueError('boom')")
    training = against.import_theirs(against.check_checkout(fake_checkout(tmp_path, failing)))
    loop = against.TheirLoop(training, threads=torch.get_num_threads())
    with pytest.raises(against.AgainstError, match="boom"):
        loop.run(2)
    loop.close()


def test_the_side_by_side_trains_the_shipped_danielmamay_preset():
    shipped = load_preset(REPO / "presets" / "classic" / "danielmamay-default.toml")
    ours = make_preset(DANIELMAMAY, 100)
    assert ours.model == shipped.model
    assert ours.data == shipped.data
    assert ours.optim == shipped.optim
    assert ours.train.batch_size == shipped.train.batch_size == 512


def test_ops_go_to_their_parts():
    assert part_of("aten::mm", ["aten::linear"]) == MATMUL
    assert part_of("aten::mm", ["aten::linear", "grok_tui.evaluation"]) == EVAL
    assert part_of("aten::add_", ["Optimizer.step#AdamW.step"]) == "optimizer"
    assert part_of("aten::native_layer_norm_backward", []) == "LayerNorm"
    assert part_of("aten::bmm", ["aten::einsum"]) == "attention's small matrices"
    assert part_of("aten::add", []) == "elementwise, copies, sums"


@pytest.mark.slow  # a profiled stretch of training: seconds on a busy machine
def test_the_breakdown_parts_add_up_to_the_wall_time():
    spec = {
        **DANIELMAMAY,
        "data": {**DANIELMAMAY["data"], "p": 13},
        "model": {**DANIELMAMAY["model"], "d_model": 32, "heads": 2, "d_ff": 64},
    }
    preset = make_preset(spec, eval_every=3)  # batch 512 > 78 examples: full batch
    result = breakdown(preset, torch.device("cpu"), steps=6, warmup=1)

    parts = result["per_step_s"]
    assert sum(parts.values()) * result["steps"] == pytest.approx(result["wall_s"], rel=1e-6)
    assert all(seconds >= 0 for part, seconds in parts.items() if part != PYTHON)
    # the ops measured fit inside the wall time: what is left is not negative
    assert parts[PYTHON] >= -0.02 * result["wall_s"] / result["steps"]
    assert parts[MATMUL] > 0 and parts[EVAL] > 0 and parts["optimizer"] > 0
    assert sum(result["share"].values()) == pytest.approx(1.0)
