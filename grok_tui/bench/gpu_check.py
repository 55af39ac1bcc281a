"""`grok-tui gpu-check` (`make gpu-check`): one command that proves the CUDA path on a GPU box.

Each part runs as its own process (through rundirs/launch.py), so a CUDA error in one part
is a failed line in the report and not a lost report:

1. ``pytest -m gpu``: the GPU tests (every model family forward and backward on CUDA,
   bf16 and fp64, resume on CUDA, fused optimizers without a host sync...);
2. ``grok-tui bench --device cuda``: the engine against a common loop, eager, replayed
   from a CUDA graph and compiled;
3. the quickstart on CUDA, from command to grok (``stop_after_grok = 0``);
4. the default transformer (p = 97, 2 layers, d_model 128, batch 512, evaluation every
   100 steps) for 20,000 steps: steps per second, evaluation included;
5. ``grok-tui bench --scaling 1,8,64,256``: the wall time of a step of vectorised groups
   of the quickstart MLP (fp32) and the default transformer (tf32 and fp32) against one.

It writes ``gpu-check/report.md`` and ``gpu-check/report.json`` (device, torch and CUDA
versions, every figure, each target and whether it was met) and exits 1 when a part
failed. Without CUDA it says so in one line and exits 2 at once. Nothing here is timed
in the test suite: the tests run it with a fake runner on the CPU.
"""

from __future__ import annotations

import json
import platform
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grok_tui import files
from grok_tui.rundirs import launch, store

EXIT_OK, EXIT_FAILED, EXIT_NO_CUDA = 0, 1, 2
DEFAULT_TRANSFORMER_STEPS = 20_000
# (figure, target, higher is better): what one H100 should reach (the product's targets)
TARGETS = {
    "default_transformer_steps_per_s": (1500.0, True),
    "quickstart_seconds_to_grok": (10.0, False),
    # a group of 64 takes at most this many times the wall time of one (issue: vectorised runs)
    "group_mlp_fp32_64_time_ratio": (1.5, False),
    "group_transformer_tf32_64_time_ratio": (2.0, False),
}
PART_TIMEOUT_S = {
    "gpu tests": 240,
    "bench": 240,
    "quickstart": 120,
    "default transformer": 180,
    "group scaling": 240,
}
SCALING_SIZES = "1,8,64,256"

DEFAULT_TRANSFORMER = """\
name = "gpu-check-default-transformer"
description = "The default transformer: (x + y) mod 97, 2 layers, d_model 128, batch 512."

[model]
type = "transformer"

[train]
steps = {steps}
eval_every = 100
checkpoint_every = {steps}
device = "{device}"
"""

Runner = Callable[[Sequence[str], Path, float], tuple[int, float]]


@dataclass
class Part:
    """One part of the check: what ran, how it ended, what it measured."""

    name: str
    command: list[str]
    exit_code: int | None = None
    wall_s: float | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.error is None


def cuda_problem() -> str | None:
    """Why this machine cannot run the check (None when a CUDA device is there)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return "torch is not installed"
    if not torch.cuda.is_available():
        build = (
            f"a CPU build of torch ({torch.__version__})" if not torch.version.cuda else "no GPU"
        )
        return f"no CUDA device here ({build}); gpu-check runs on a GPU box"
    return None


def device_facts(device: str) -> dict[str, Any]:
    import torch

    index = torch.device(device).index or 0
    properties = torch.cuda.get_device_properties(index)
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(index),
        "memory_gib": round(properties.total_memory / 2**30, 1),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host": platform.node(),
    }


def _grok_tui(*args: str) -> list[str]:
    return [sys.executable, "-m", "grok_tui", *args]


def run_parts(out_dir: Path, device: str, run: Runner, steps: int) -> list[Part]:
    """Run every part in order (a failed part does not stop the next ones)."""
    runs_dir = out_dir / "runs"
    preset_path = out_dir / "default-transformer.toml"
    files.write_text_atomic(preset_path, DEFAULT_TRANSFORMER.format(steps=steps, device=device))
    parts = [
        Part("gpu tests", [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"]),
        Part("bench", _grok_tui("bench", "--device", device, "--json", str(out_dir / "bench.json"))),
        Part(
            "quickstart",
            _grok_tui(
                "--run", str(launch.PACKAGE_ROOT_PATH / "presets" / "quickstart.toml"),
                "--device", device, "--set", "train.stop_after_grok=0",
                "--runs-dir", str(runs_dir / "quickstart"),
            ),
        ),
        Part(
            "default transformer",
            _grok_tui("--run", str(preset_path), "--runs-dir", str(runs_dir / "transformer")),
        ),
        Part(
            "group scaling",
            _grok_tui(
                "bench", "--scaling", SCALING_SIZES, "--device", device,
                "--json", str(out_dir / "scaling.json"),
            ),
        ),
    ]  # fmt: skip
    for part in parts:
        log = out_dir / f"{part.name.replace(' ', '-')}.log"
        part.exit_code, part.wall_s = run(part.command, log, PART_TIMEOUT_S[part.name])
        try:
            part.figures = read_figures(part.name, log, runs_dir, out_dir)
        except (OSError, ValueError, KeyError) as exc:
            part.error = f"no figures: {exc}"
        if part.name == "quickstart" and part.exit_code == 0:
            part.figures["quickstart_seconds_to_grok"] = part.wall_s
    return parts


def _summary(runs_dir: Path) -> dict[str, Any]:
    (run,) = store.iter_run_dirs(runs_dir)
    return run.summary()


def read_figures(name: str, log: Path, runs_dir: Path, out_dir: Path) -> dict[str, Any]:
    """What a part measured, from its log, its JSON or its run's summary.json."""
    if name == "gpu tests":
        text = files.read_bytes(log, files.MAX_METRICS_BYTES).decode("utf-8", "replace")
        counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|skipped)", text)}
        return {"gpu_tests_" + k: v for k, v in counts.items()}
    if name == "group scaling":
        rows = json.loads(files.read_text(out_dir / "scaling.json", files.MAX_JSON_BYTES))["rows"]
        figures: dict[str, Any] = {}
        for row in rows:
            key = f"group_{row['workload']}_{row['precision']}_{row['n']}"
            figures[f"{key}_time_ratio"] = row.get("time_ratio")
            figures[f"{key}_member_steps_per_s"] = row.get("member_steps_per_s")
            figures[f"{key}_cuda_graphs"] = row.get("cuda_graphs")
        return figures
    if name == "bench":
        result = json.loads(files.read_text(out_dir / "bench.json", files.MAX_JSON_BYTES))
        return {
            f"bench_{loop.replace(' ', '_').replace('+', '_')}_steps_per_s": info["steps_per_s"]
            for loop, info in result["loops"].items()
        }
    folder = runs_dir / ("quickstart" if name == "quickstart" else "transformer")
    summary = _summary(folder)
    if name == "quickstart":
        return {
            "quickstart_fit_step": summary.get("fit_step"),
            "quickstart_grok_step": summary.get("grok_step"),
            "quickstart_train_seconds": summary.get("elapsed_s"),
        }
    return {
        "default_transformer_steps": summary.get("step"),
        "default_transformer_steps_per_s": summary.get("steps_per_s"),
        "default_transformer_seconds": summary.get("elapsed_s"),
    }


def verdicts(parts: Sequence[Part]) -> dict[str, dict[str, Any]]:
    """Each target with the measured figure and whether it was met (None: not measured)."""
    figures = {k: v for part in parts for k, v in part.figures.items()}
    out = {}
    for name, (target, higher) in TARGETS.items():
        value = figures.get(name)
        met = None if value is None else (value >= target if higher else value <= target)
        out[name] = {"target": target, "higher_is_better": higher, "value": value, "met": met}
    return out


def write_report(out_dir: Path, facts: dict[str, Any], parts: Sequence[Part]) -> dict[str, Any]:
    """report.json (every number) and report.md (the same for people); the JSON dict."""
    report = {
        "facts": facts,
        "parts": [asdict(p) | {"ok": p.ok} for p in parts],
        "targets": verdicts(parts),
        "ok": all(p.ok for p in parts),
        "not_measured": [],
    }
    files.write_text_atomic(out_dir / "report.json", json.dumps(report, indent=2) + "\n")
    lines = [
        f"# gpu-check: {facts.get('device_name', '?')}",
        "",
        f"torch {facts.get('torch')} · CUDA {facts.get('cuda')} · Python {facts.get('python')}"
        f" · {facts.get('memory_gib')} GiB · host {facts.get('host')}",
        "",
        "| part | result | wall (s) | figures |",
        "|---|---|---|---|",
    ]
    for p in parts:
        result = "ok" if p.ok else f"FAILED (exit {p.exit_code}){': ' + p.error if p.error else ''}"
        shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in p.figures.items())
        lines.append(f"| {p.name} | {result} | {_fmt(p.wall_s)} | {shown} |")
    lines += ["", "| target | value | goal | met |", "|---|---|---|---|"]
    for name, v in report["targets"].items():
        goal = f"{'>=' if v['higher_is_better'] else '<='} {_fmt(v['target'])}"
        met = "not measured" if v["met"] is None else ("yes" if v["met"] else "NO")
        lines.append(f"| {name} | {_fmt(v['value'])} | {goal} | {met} |")
    if report["not_measured"]:
        lines += ["", "Not measured:", *(f"- {item}" for item in report["not_measured"])]
    lines.append("")
    files.write_text_atomic(out_dir / "report.md", "\n".join(lines))
    return report


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
    return "-" if value is None else str(value)


def gpu_check_command(
    out_dir: Path,
    device: str = "cuda",
    *,
    steps: int = DEFAULT_TRANSFORMER_STEPS,
    run: Runner | None = None,
    facts: dict[str, Any] | None = None,
) -> int:
    """The whole check; ``run`` and ``facts`` are for tests (a fake runner, no CUDA)."""
    if run is None:
        problem = cuda_problem()
        if problem:
            print(f"gpu-check: {problem}", file=sys.stderr)
            return EXIT_NO_CUDA
        run = launch.run_command
        facts = device_facts(device)
    files.make_dirs(out_dir)
    parts = run_parts(out_dir, device, run, steps)
    report = write_report(out_dir, facts or {}, parts)
    print(files.read_text(out_dir / "report.md", files.MAX_JSON_BYTES))
    print(f"wrote {out_dir / 'report.md'} and {out_dir / 'report.json'}")
    return EXIT_OK if report["ok"] else EXIT_FAILED
