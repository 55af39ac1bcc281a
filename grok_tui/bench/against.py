"""`grok-tui bench --against PATH`: the engine beside danielmamay/grokking's own code.

Their code, not a copy: `training.main` of a checkout at PATH runs as they wrote it
(their data split, model, AdamW, LinearLR warm-up, step and evaluation at steps 1, 10
and every 100), with the HEAD command line's defaults (x / y mod 97, 2 layers, d 128,
4 heads, batch 512, lr 1e-3, wd 1) on the CPU. Two things are replaced, neither inside a
step: `wandb` by a stand-in whose `log` does nothing (their evaluations still run and
read their numbers back with `.item()`), and `tqdm` by a pacer that lets their loop go
on for a round's steps and then waits. Their `main` runs in a thread of this process for
that reason; each thread sets the same torch thread count.

The engine trains the same configuration (plan.DANIELMAMAY, the shipped
danielmamay-default preset) as `loop.train` drives it, evaluating every 100 steps.
Rounds alternate who goes first; a figure is training steps per wall second with the
evaluations at each side's schedule, and the ratio is the median of the rounds' ratios.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import statistics
import sys
import threading
import time
import types
from argparse import Namespace
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch

from grok_tui.bench.loops import EngineLoop
from grok_tui.bench.plan import DANIELMAMAY, make_preset

THEIR_FILES = ("grokking/training.py", "grokking/model.py", "grokking/data.py")
THEIR_MODULES = ("training", "model", "data")
# danielmamay/grokking HEAD's cli.py defaults (x / y mod 97 ...), on the CPU
THEIR_ARGS = {
    "operation": "x/y",
    "training_fraction": 0.5,
    "prime": 97,
    "num_layers": 2,
    "dim_model": 128,
    "num_heads": 4,
    "batch_size": 512,
    "learning_rate": 1e-3,
    "weight_decay": 1.0,
    "num_steps": 10**9,  # never reached: the pacer decides how far they go
    "device": "cpu",
}
EVAL_EVERY = 100  # theirs: `step in (1, 10) or step % 100 == 0`; ours: the preset's


class AgainstError(Exception):
    """A checkout that cannot be run, said in one line."""


def check_checkout(path: Path) -> Path:
    """The checkout's grokking/ folder, or AgainstError naming what is missing."""
    missing = [name for name in THEIR_FILES if not (path / name).is_file()]
    if missing:
        raise AgainstError(
            f"{path} is not a danielmamay/grokking checkout: no {', '.join(missing)}"
        )
    return path / "grokking"


def _wandb_stand_in() -> types.ModuleType:
    """What their main uses of wandb: init(config=...), run, config, log (a no-op)."""
    module = types.ModuleType("wandb")

    def init(project: str | None = None, config: dict[str, Any] | None = None, **_: Any) -> Any:
        module.config = Namespace(**(config or {}))
        module.run = object()
        return module.run

    module.init = init  # type: ignore[attr-defined]
    module.log = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    module.run = None  # type: ignore[attr-defined]
    return module


def import_theirs(grokking_dir: Path) -> types.ModuleType:
    """Their training module, imported from grokking_dir with wandb stood in for."""
    saved = {
        name: sys.modules.pop(name) for name in (*THEIR_MODULES, "wandb") if name in sys.modules
    }
    sys.modules["wandb"] = _wandb_stand_in()
    if "tqdm" not in sys.modules:
        with contextlib.suppress(ImportError):
            # their dependency, not ours: by name, so that no import statement declares it
            importlib.import_module("tqdm")  # replaced by the pacer below
    stand_in = None
    if "tqdm" not in sys.modules:  # for their import only; gone from sys.modules after
        stand_in = types.ModuleType("tqdm")
        stand_in.tqdm = lambda iterable, **_: iterable  # type: ignore[attr-defined]
        sys.modules["tqdm"] = stand_in
    sys.path.insert(0, str(grokking_dir))
    try:
        training = importlib.import_module("training")  # theirs, from grokking_dir
    except ModuleNotFoundError as exc:
        raise AgainstError(
            f"their code imports {exc.name}, which this Python lacks (pip install {exc.name})"
        ) from None
    finally:
        sys.path.remove(str(grokking_dir))
        for name in THEIR_MODULES:  # bound in their training module; gone from ours
            sys.modules.pop(name, None)
        sys.modules.pop("wandb", None)
        if stand_in is not None:
            sys.modules.pop("tqdm", None)
        sys.modules.update(saved)
    if not callable(getattr(training, "main", None)):
        raise AgainstError(f"{grokking_dir / 'training.py'} has no main(args)")
    return training


class TheirLoop:
    """Their main, paused between rounds: run(n) lets exactly n of their steps go."""

    def __init__(self, training: types.ModuleType, threads: int, seed: int = 0) -> None:
        self.training = training
        self.threads = threads
        self.left = 0
        self.stopping = False
        self.error: BaseException | None = None
        self.resume = threading.Semaphore(0)
        self.paused = threading.Semaphore(0)
        training.tqdm = self._pace  # their `for step in tqdm(range(num_steps))`
        training.wandb = _wandb_stand_in()
        torch.manual_seed(seed)  # their split and weights come from the global generator
        self.thread = threading.Thread(target=self._main, name="danielmamay", daemon=True)
        printed = io.StringIO()  # their "Device: cpu" lines
        with contextlib.redirect_stdout(printed):
            self.thread.start()
            self.paused.acquire()  # set up, at their first step
        self._raise()

    def _main(self) -> None:
        try:
            torch.set_num_threads(self.threads)
            self.training.main(Namespace(**THEIR_ARGS))
        except BaseException as exc:  # shown in the bench's own thread
            self.error = exc
        finally:
            self.paused.release()

    def _pace(self, iterable: Iterable[int], **_: Any) -> Iterator[int]:
        for step in iterable:
            if self.left == 0:
                self.paused.release()
                self.resume.acquire()
                if self.stopping:
                    return
                torch.set_num_threads(self.threads)
            self.left -= 1
            yield step

    def _raise(self) -> None:
        if self.error is not None:
            raise AgainstError(f"their training loop failed: {self.error!r}"[:300])

    def run(self, n_steps: int) -> None:
        self.left = n_steps
        self.resume.release()
        self.paused.acquire()
        self._raise()

    def close(self) -> None:
        self.stopping = True
        self.resume.release()
        self.thread.join(timeout=10)


def _timed(run: Callable[[int], None], steps: int) -> tuple[float, float]:
    """Steps per wall second and CPU seconds (every thread of the process) of one round."""
    cpu, start = time.process_time(), time.perf_counter()
    run(steps)
    return steps / (time.perf_counter() - start), time.process_time() - cpu


def side_by_side(
    checkout: Path,
    threads: Iterable[int],
    rounds: int,
    steps: int,
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Alternating rounds of the engine and their loop at each thread count."""
    training = import_theirs(check_checkout(checkout))
    result: dict[str, Any] = {"checkout": str(checkout), "steps_per_round": steps, "threads": {}}
    result["load_before"] = os.getloadavg()
    for n in threads:
        torch.set_num_threads(n)
        torch.manual_seed(0)
        engine = EngineLoop(make_preset(DANIELMAMAY, EVAL_EVERY), torch.device("cpu"))
        theirs = TheirLoop(training, n)
        loops = {"engine": engine.run, "danielmamay": theirs.run}
        rates: dict[str, list[float]] = {name: [] for name in loops}
        cpu: dict[str, list[float]] = {name: [] for name in loops}
        try:
            for r in range(rounds + 1):  # round 0 warms up, untimed
                order = list(loops) if r % 2 == 0 else list(loops)[::-1]
                for name in order:
                    rate, seconds = _timed(loops[name], steps)
                    if r > 0:
                        rates[name].append(rate)
                        cpu[name].append(seconds / steps)
                if r > 0:
                    log(
                        f"  {n} thread{'s' if n > 1 else ''}, round {r}: engine "
                        f"{rates['engine'][-1]:.1f}  danielmamay {rates['danielmamay'][-1]:.1f}"
                        f" steps/s  ({rates['engine'][-1] / rates['danielmamay'][-1]:.2f}x)"
                    )
        finally:
            theirs.close()
        ratios = [a / b for a, b in zip(rates["engine"], rates["danielmamay"], strict=True)]
        result["threads"][str(n)] = {
            "steps_per_s": {k: statistics.median(v) for k, v in rates.items()},
            "rounds_steps_per_s": rates,
            "cpu_s_per_step": {k: statistics.median(v) for k, v in cpu.items()},
            "ratio": statistics.median(ratios),
            "rounds_ratio": ratios,
            "torch_threads": torch.get_num_threads(),
        }
    result["load_after"] = os.getloadavg()
    return result


def format_side_by_side(result: dict[str, Any]) -> str:
    """The table: steps/s and CPU ms per step of both, the ratio, the load."""
    lines = [
        "",
        f"side by side with danielmamay/grokking at {result['checkout']}"
        f" ({result['steps_per_round']} steps a round, evaluations at each side's schedule)",
        f"{'threads':>7} {'engine':>9} {'theirs':>9} {'ratio':>7} {'rounds':>13}"
        f" {'engine CPU':>11} {'their CPU':>10}",
    ]
    for n, row in result["threads"].items():
        s, c, rr = row["steps_per_s"], row["cpu_s_per_step"], row["rounds_ratio"]
        lines.append(
            f"{n:>7} {s['engine']:>9.1f} {s['danielmamay']:>9.1f} {row['ratio']:>6.2f}x"
            f" {min(rr):>5.2f}-{max(rr):<5.2f}x {1e3 * c['engine']:>8.1f} ms"
            f" {1e3 * c['danielmamay']:>7.1f} ms"
        )
    before = " ".join(f"{v:.2f}" for v in result["load_before"])
    after = " ".join(f"{v:.2f}" for v in result["load_after"])
    lines.append(
        "(steps/s: median of the rounds; ratio: median of the rounds' ratios; CPU: CPU"
        f" seconds of every thread per step; load average before {before}, after {after})"
    )
    return "\n".join(lines)


def against_command(
    checkout: Path, threads: list[int], *, rounds: int | None, quick: bool, json_path: Path | None
) -> int:
    """`grok-tui bench --against PATH`: the rounds as they go, the table, the JSON."""
    from grok_tui import files

    try:
        check_checkout(checkout)
        result = side_by_side(
            checkout,
            threads,
            rounds=rounds or (2 if quick else 5),
            steps=20 if quick else 2 * EVAL_EVERY,
            log=lambda s: print(s, flush=True),
        )
    except AgainstError as exc:
        print(f"grok-tui bench: --against: {exc}", file=sys.stderr)
        return 2
    print(format_side_by_side(result), flush=True)
    if json_path is not None:
        files.make_dirs(json_path.parent)
        files.write_text_atomic(json_path, json.dumps(result, indent=2) + "\n")
    return 0
