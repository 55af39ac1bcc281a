"""gpu-check's orchestration and report, with a fake runner (no GPU in CI)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch

from grok_tui.bench import gpu_check
from grok_tui.cli import main
from grok_tui.config import load_preset
from grok_tui.rundirs import store
from tests.conftest import REPO

FACTS = {"device_name": "Fake GPU", "torch": "2.x", "cuda": "12.x", "python": "3", "host": "h"}


def fake_runner(fail: str | None = None):
    """Plays each part: writes what the real command would leave behind."""

    def run(command: Sequence[str], log: Path, timeout: float) -> tuple[int, float]:
        args = list(command)
        if "pytest" in args:
            log.write_text("..........\n12 passed, 3 deselected in 4.2s\n")
            return 0, 4.2
        if "--scaling" in args:
            out = Path(args[args.index("--json") + 1])
            rows = [
                {"workload": w, "precision": p, "n": n, "time_ratio": r, "member_steps_per_s": s}
                for w, p, n, r, s in [
                    ("mlp", "fp32", 1, 1.0, 900.0),
                    ("mlp", "fp32", 64, 1.3, 44_000.0),
                    ("transformer", "tf32", 1, 1.0, 600.0),
                    ("transformer", "tf32", 64, 2.4, 16_000.0),
                ]
            ]
            out.write_text(json.dumps({"device": "cuda", "rows": rows}))
            return 0, 30.0
        if "bench" in args:
            out = Path(args[args.index("--json") + 1])
            loops = {
                "transformer engine": {"steps_per_s": 2100.0},
                "mlp engine": {"steps_per_s": 5000.0},
                "transformer engine+graphs": {"steps_per_s": 3900.0},
            }
            out.write_text(json.dumps({"loops": loops}))
            return 0, 60.0
        runs_dir = Path(args[args.index("--runs-dir") + 1]) if "--runs-dir" in args else None
        if runs_dir is not None:
            if fail and fail in str(runs_dir):
                log.write_text("error: CUDA out of memory\n")
                return 1, 1.0
            preset = load_preset(REPO / "presets" / "quickstart.toml")
            run_dir = store.create_run(preset, runs_dir)
            quick = "quickstart" in str(runs_dir)
            store.update_summary(
                run_dir.path,
                status="completed",
                step=1500 if quick else 20_000,
                fit_step=800 if quick else None,
                grok_step=1500 if quick else None,
                steps_per_s=1800.0,
                elapsed_s=3.1 if quick else 11.1,
            )
            return 0, 7.5 if quick else 13.0
        raise AssertionError(args)

    return run


def test_a_passing_check_writes_both_reports_with_every_figure(tmp_path, capsys):
    out = tmp_path / "gpu-check"
    code = gpu_check.gpu_check_command(out, "cuda", run=fake_runner(), facts=FACTS)
    assert code == 0
    report = json.loads((out / "report.json").read_text())
    assert report["ok"] and report["facts"]["device_name"] == "Fake GPU"
    figures = {k: v for part in report["parts"] for k, v in part["figures"].items()}
    assert figures["gpu_tests_passed"] == 12
    assert figures["bench_transformer_engine_steps_per_s"] == 2100.0
    assert figures["quickstart_grok_step"] == 1500 and figures["quickstart_seconds_to_grok"] == 7.5
    assert figures["default_transformer_steps_per_s"] == 1800.0
    assert report["targets"]["default_transformer_steps_per_s"]["met"] is True
    assert report["targets"]["quickstart_seconds_to_grok"]["met"] is True
    markdown = (out / "report.md").read_text()
    assert "# gpu-check: Fake GPU" in markdown and "| default transformer | ok |" in markdown
    assert figures["group_mlp_fp32_64_time_ratio"] == 1.3
    assert figures["group_transformer_tf32_64_member_steps_per_s"] == 16_000.0
    assert report["targets"]["group_mlp_fp32_64_time_ratio"]["met"] is True
    assert report["targets"]["group_transformer_tf32_64_time_ratio"]["met"] is False  # 2.4 > 2
    assert "| group scaling | ok |" in markdown
    assert figures["bench_transformer_engine_graphs_steps_per_s"] == 3900.0
    assert "Not measured" not in markdown  # every part of the issue has its figure
    preset = load_preset(out / "default-transformer.toml")
    assert (preset.model.type, preset.data.p, preset.train.batch_size) == ("transformer", 97, 512)
    assert (preset.model.layers, preset.model.d_model, preset.train.eval_every) == (2, 128, 100)


def test_a_failed_part_is_reported_and_fails_the_check(tmp_path):
    out = tmp_path / "gpu-check"
    code = gpu_check.gpu_check_command(
        out, "cuda", run=fake_runner(fail="transformer"), facts=FACTS
    )
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    failed = [p["name"] for p in report["parts"] if not p["ok"]]
    assert failed == ["default transformer"]  # the parts after a failure still ran
    assert report["targets"]["default_transformer_steps_per_s"]["met"] is None
    assert "| default transformer | FAILED (exit 1)" in (out / "report.md").read_text()


def test_without_cuda_it_says_so_and_exits_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["gpu-check", "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpu-check: no CUDA device here") and len(err.splitlines()) == 1
    assert not (tmp_path / "g").exists()
