"""Live logging (grok_tui/training/trackers.py): each tracker read back with its own tools, offline;
a tracker that fails, hangs or is not installed never stops or holds up the run."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from grok_tui.cli import main
from grok_tui.config import PresetError, load_preset
from grok_tui.rundirs import store
from grok_tui.training import trackers
from grok_tui.training.runner import execute, load_resume


def tiny(path: Path, *trackers_: str) -> Any:
    names = ", ".join(f'"{n}"' for n in trackers_)
    return load_preset(path, [f"train.log_to=[{names}]"])


def accumulator(run: store.RunDir) -> Any:
    event_accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator",
        reason="TensorBoard's reader: pip install tensorboard",
    )
    acc = event_accumulator.EventAccumulator(str(run.path / trackers.TB_DIR))
    acc.Reload()
    return acc


def steps_of(acc: Any, tag: str) -> list[int]:
    return [event.step for event in acc.Scalars(tag)]


class StopAt:
    """A stop flag that turns true after ``calls`` steps."""

    def __init__(self, calls: int) -> None:
        self.calls, self.n, self.signal_name = calls, 0, ""

    def __call__(self) -> bool:
        self.n += 1
        return self.n > self.calls


def test_tensorboard_reads_the_scalars_as_they_are_written(tiny_preset_path, runs_dir):
    preset = tiny(tiny_preset_path, "tensorboard")
    run = store.create_run(preset, runs_dir)
    seen_live: list[list[int]] = []

    class LookDuringTheRun:  # at step 40, TensorBoard already has steps 0..30 (or 40)
        def on_start(self, info: Any) -> None: ...
        def on_checkpoint(self, state: Any) -> None: ...
        def on_end(self, summary: Any) -> None: ...

        def on_record(self, record: dict[str, Any], summary: Any) -> None:
            if record["step"] == 40:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    steps = steps_of(accumulator(run), "train/acc")
                    if steps[-1:] in ([30], [40]):
                        break
                    time.sleep(0.02)
                seen_live.append(steps)

    run.set_note("a note for the end")
    code, summary = execute(preset, run, sinks=[LookDuringTheRun()])
    assert code == 0
    assert seen_live and seen_live[0][:4] == [0, 10, 20, 30]
    acc = accumulator(run)
    records = run.records()
    assert steps_of(acc, "train/acc") == [r["step"] for r in records] == list(range(0, 61, 10))
    assert [e.value for e in acc.Scalars("test/loss")] == pytest.approx(
        [r["test_loss"] for r in records], rel=1e-6
    )
    for tag in ("optim/lr", "weights/param_norm", "progress/epoch", "speed/steps_per_s"):
        assert tag in acc.Tags()["scalars"], tag
    assert acc.Scalars("summary/best_test_acc")[0].value == pytest.approx(summary["best_test_acc"])
    # the preset as text, the end (status, events, the note) as text, the hparams plugin's
    preset_text = acc.Tensors("preset")[0].tensor_proto.string_val[0].decode()
    assert 'log_to = [\n        "tensorboard",' in preset_text or "log_to" in preset_text
    end_text = acc.Tensors("summary")[0].tensor_proto.string_val[0].decode()
    assert "**completed** at step 60" in end_text and "a note for the end" in end_text
    from tensorboard.plugins.hparams import metadata

    start = metadata.parse_session_start_info_plugin_data(
        acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
    )
    assert start.hparams["optim.lr"].number_value == pytest.approx(3e-3)
    assert start.hparams["model.type"].string_value == "mlp"
    assert start.hparams["model.widths"].string_value == "[32]"
    assert start.group_name == run.run_id
    end = metadata.parse_session_end_info_plugin_data(
        acc.SummaryMetadata(metadata.SESSION_END_INFO_TAG).plugin_data.content
    )
    assert end.status == 1  # STATUS_SUCCESS


def test_a_resumed_run_continues_its_tensorboard_curves_without_doubles(tiny_preset_path, runs_dir):
    preset = tiny(tiny_preset_path, "tensorboard")
    run = store.create_run(preset, runs_dir)
    code, _ = execute(preset, run, stop=StopAt(45))  # type: ignore[arg-type]
    assert code == 130
    preset2, checkpoint = load_resume(run)
    assert checkpoint is not None and checkpoint["step"] == 45
    assert execute(preset2, run, resume=checkpoint)[0] == 0
    assert len(list((run.path / trackers.TB_DIR).iterdir())) == 2  # one file a session
    assert steps_of(accumulator(run), "train/acc") == list(range(0, 61, 10))


def test_the_event_files_are_valid_tfrecords_without_tensorboard(tiny_preset_path, runs_dir):
    from tests.support.tfevents import read_events

    preset = tiny(tiny_preset_path, "tensorboard")
    run = store.create_run(preset, runs_dir)
    execute(preset, run)
    (path,) = (run.path / trackers.TB_DIR).iterdir()
    events = read_events(path)  # every checksum verified
    assert b"brain.Event:2" in events[0]
    assert sum(b"train/acc" in e for e in events) == 7
    assert struct.unpack("<d", events[1][1:9])[0] > 1e9  # a wall time


def test_unknown_trackers_are_one_clear_line(tiny_preset_path, runs_dir, capsys):
    with pytest.raises(PresetError, match="'wandbb' is not a tracker; each must be one of"):
        load_preset(tiny_preset_path, ['train.log_to=["wandbb"]'])
    assert trackers.parse_log_to("TensorBoard, wandb,wandb") == ["tensorboard", "wandb"]
    with pytest.raises(ValueError, match="did you mean wandb"):
        trackers.parse_log_to("tensorboard,wandbb")
    args = ["run", str(tiny_preset_path), "--runs-dir", str(runs_dir), "--log-to", "mlfow"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert "'mlfow' is not a tracker (did you mean mlflow?)" in capsys.readouterr().err


def test_run_log_to_sets_the_preset_and_resume_log_to_adds_for_the_session(
    tiny_preset_path, runs_dir, capsys
):
    args = ["run", str(tiny_preset_path), "--runs-dir", str(runs_dir), "--log-to", "tensorboard"]
    assert main([*args, "--set", "train.steps=20"]) == 0
    (run,) = store.iter_run_dirs(runs_dir)
    assert run.load_preset().train.log_to == ["tensorboard"]
    assert accumulator(run).Scalars("train/acc")[-1].step == 20
    assert "live logging to tensorboard" in capsys.readouterr().err

    plain = store.create_run(load_preset(tiny_preset_path), runs_dir)
    execute(plain.load_preset(), plain, stop=StopAt(25))  # type: ignore[arg-type]
    assert main(["resume", str(plain.path), "--log-to", "tensorboard"]) == 0
    assert plain.load_preset().train.log_to == []  # the frozen preset stays as it was
    assert steps_of(accumulator(plain), "train/acc") == [30, 40, 50, 60]


def test_a_tracker_that_raises_is_turned_off_and_the_run_goes_on(
    tiny_preset_path, runs_dir, monkeypatch, capsys
):
    calls = []

    def broken(self: Any, record: Any, summary: Any) -> None:
        calls.append(record["step"])
        raise ConnectionError("tracking server unreachable\nsecond line")

    monkeypatch.setattr(trackers.TensorBoardSink, "record", broken)
    preset = tiny(tiny_preset_path, "tensorboard")
    run = store.create_run(preset, runs_dir)
    code, summary = execute(preset, run)
    assert (code, summary["status"]) == (0, "completed")
    assert len(run.records()) == 7
    assert calls == [0]  # off after the first failure
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        "warning: tensorboard failed (ConnectionError: tracking server unreachable); "
        "the run goes on without it"
    ]


def test_a_tracker_that_hangs_never_holds_up_the_steps(
    tiny_preset_path, runs_dir, monkeypatch, capsys
):
    release = threading.Event()
    monkeypatch.setattr(
        trackers.TensorBoardSink, "record", lambda self, record, summary: release.wait(30)
    )
    monkeypatch.setenv(trackers.FINISH_WAIT_ENV, "0.3")
    preset = tiny(tiny_preset_path, "tensorboard")
    run = store.create_run(preset, runs_dir)
    started = time.monotonic()
    code, _ = execute(preset, run)
    took = time.monotonic() - started
    release.set()
    assert code == 0 and len(run.records()) == 7
    assert took < 10  # 7 records behind a 30 s wait each
    assert "tensorboard did not finish within 0 s; left behind" in capsys.readouterr().err


def test_a_missing_library_is_one_line_at_the_start(
    tiny_preset_path, runs_dir, monkeypatch, capsys
):
    real = trackers.importlib.util.find_spec
    monkeypatch.setattr(
        trackers.importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("wandb", "mlflow") else real(name, *a),
    )
    preset = tiny(tiny_preset_path, "wandb", "mlflow", "tensorboard")
    run = store.create_run(preset, runs_dir)
    assert execute(preset, run)[0] == 0
    err = capsys.readouterr().err.splitlines()
    assert "wandb is not installed: pip install wandb (the run goes on without it)" in err
    assert "mlflow is not installed: pip install mlflow (the run goes on without it)" in err
    assert "live logging to tensorboard" in err
    assert steps_of(accumulator(run), "train/acc")[-1] == 60


def wandb_records(path: Path) -> list[Any]:
    """The records of a W&B transaction log (run-ID.wandb): LevelDB log blocks of W&B's
    protobuf Records, decoded with wandb's own message classes."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    block, at, records, pending = 32768, 7, [], b""
    while at + 7 <= len(data):
        if block - at % block < 7:  # a block's tail too short for a header: padding
            at += block - at % block
            continue
        length, kind = struct.unpack("<H", data[at + 4 : at + 6])[0], data[at + 6]
        if kind == 0 and length == 0:
            break
        pending += data[at + 7 : at + 7 + length]
        at += 7 + length
        if kind in (1, 4):  # FULL or LAST
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


@pytest.mark.slow
def test_wandb_offline_writes_its_run_under_the_run_directory(
    tiny_preset_path, runs_dir, monkeypatch, tmp_path
):
    pytest.importorskip("wandb", reason="the W&B client: pip install wandb")
    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    preset = tiny(tiny_preset_path, "wandb")
    run = store.create_run(preset, runs_dir)
    run.set_note("wandb's note")
    code, summary = execute(preset, run)
    assert code == 0
    (folder,) = (run.path / "wandb").glob(f"offline-run-*-{run.run_id}")
    records = wandb_records(folder / f"run-{run.run_id}.wandb")
    kinds = [r.WhichOneof("record_type") for r in records]
    start, *updates = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert "completed" in updates[-1].tags and updates[-1].notes == "wandb's note"
    assert (start.run_id, start.display_name, start.project) == (
        run.run_id,
        run.run_id,
        trackers.PROJECT,
    )
    config = {item.key: item.value_json for item in start.config.update}
    assert config["optim.lr"] == "0.003" and config["model.type"] == '"mlp"'
    history = [r.history for r in records if r.WhichOneof("record_type") == "history"]
    assert [h.step.num for h in history] == list(range(0, 61, 10))
    history = [
        {item.key or "/".join(item.nested_key): item.value_json for item in h.item} for h in history
    ]
    assert all("train/acc" in h and "test/loss" in h for h in history)
    summary_items = {
        item.key: item.value_json
        for r in records
        if r.WhichOneof("record_type") == "summary"
        for item in r.summary.update
    }
    assert summary_items["status"] == '"completed"'
    assert summary_items["note"] == '"wandb\'s note"'
    assert float(summary_items["best_test_acc"]) == summary["best_test_acc"]
    assert "exit" in kinds


@pytest.mark.slow
def test_mlflow_file_store_read_back_with_search_runs(tiny_preset_path, runs_dir, monkeypatch):
    mlflow = pytest.importorskip("mlflow", reason="the MLflow client: pip install mlflow")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    preset = tiny(tiny_preset_path, "mlflow")
    run = store.create_run(preset, runs_dir)
    assert execute(preset, run, stop=StopAt(25))[0] == 130  # type: ignore[arg-type]
    preset2, checkpoint = load_resume(run)
    run.set_note("mlflow's note")
    assert execute(preset2, run, resume=checkpoint)[0] == 0  # the same MLflow run continues
    mlflow.set_tracking_uri((runs_dir / "mlruns").absolute().as_uri())
    (found,) = mlflow.search_runs(experiment_names=[trackers.PROJECT], output_format="list")
    assert found.info.run_name == run.run_id and found.info.status == "FINISHED"
    assert found.data.params["optim.lr"] == "0.003"
    assert found.data.params["model.widths"] == "[32]"
    tags = found.data.tags
    assert tags[trackers.RUN_ID_TAG] == run.run_id and tags["grok_tui.status"] == "completed"
    assert tags["mlflow.note.content"] == "mlflow's note"
    assert tags["grok_tui.best_test_acc_step"] == str(run.summary()["best_test_acc_step"])
    client = mlflow.tracking.MlflowClient()
    history = client.get_metric_history(found.info.run_id, "train/acc")
    assert sorted({m.step for m in history}) == list(range(0, 61, 10))
    assert found.data.metrics["summary/best_test_acc"] == run.summary()["best_test_acc"]


@pytest.mark.slow  # trains a vectorised group of two in-process
def test_each_member_of_a_vectorised_group_logs_as_its_solo_run_would(
    tiny_preset_path, runs_dir, monkeypatch
):
    from grok_tui.training import runner

    monkeypatch.setattr(runner.StopFlag, "install", lambda self: None)
    members = [
        store.create_run(load_preset(tiny_preset_path, ["train.log_to=['tensorboard']", f"train.seed={seed}"]), runs_dir)
        for seed in (0, 1)
    ]  # fmt: skip
    assert main(["resume", *(str(m.path) for m in members)]) == 0
    for member in members:
        acc = accumulator(member)
        assert steps_of(acc, "test/acc") == [r["step"] for r in member.records()]
