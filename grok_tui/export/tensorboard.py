"""TensorBoard event files written directly: no tensorflow, tensorboard or protobuf needed.

An event file is a sequence of records, each ``length (uint64 LE) · masked CRC32C of the
length · data · masked CRC32C of the data``, where data is a serialised ``Event``
protocol buffer. The three messages used are small enough to encode here by hand:

    Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
    Summary { repeated Value value = 1; }
    Value   { string tag = 1; float simple_value = 2; }

One scalar per numeric field of each record, tagged ``train/acc``, ``test/loss``... so
that TensorBoard groups train and test curves; a run becomes one sub-directory.
"""

from __future__ import annotations

import math
import socket
import struct
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from grok_tui import files, store

# record field -> TensorBoard tag (others: their own name under "other/")
TAGS = {
    "train_acc": "train/acc",
    "test_acc": "test/acc",
    "train_loss": "train/loss",
    "test_loss": "test/loss",
    "param_norm": "weights/param_norm",
    "grad_norm": "weights/grad_norm",
    "lr": "optim/lr",
    "steps_per_s": "speed/steps_per_s",
}
NOT_SCALARS = ("step", "elapsed_s", "epoch")


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), the checksum of TFRecord files."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 two's complement, as protobuf writes negatives
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + payload


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _field(number, 2, _varint(len(payload)) + payload)


def encode_event(
    wall_time: float,
    step: int = 0,
    *,
    scalars: Mapping[str, float] | None = None,
    file_version: str | None = None,
) -> bytes:
    """One serialised Event: a file header (file_version) or a step's scalars."""
    out = _field(1, 1, struct.pack("<d", wall_time)) + _field(2, 0, _varint(step))
    if file_version is not None:
        out += _length_delimited(3, file_version.encode())
    if scalars:
        values = b"".join(
            _length_delimited(
                1, _length_delimited(1, tag.encode()) + _field(2, 5, struct.pack("<f", value))
            )
            for tag, value in scalars.items()
        )
        out += _length_delimited(5, values)
    return out


def frame(data: bytes) -> bytes:
    """A TFRecord: what TensorBoard reads one event from."""
    length = struct.pack("<Q", len(data))
    return (
        length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))
    )


def scalars_of(record: Mapping[str, Any]) -> dict[str, float]:
    """The record's finite numbers, by TensorBoard tag."""
    out = {}
    for key, value in record.items():
        if key in NOT_SCALARS or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[TAGS.get(key, f"other/{key}")] = float(value)
    return out


def event_file_bytes(records: Iterable[Mapping[str, Any]], started: float) -> bytes:
    """A whole event file: the version header, then one event per record."""
    chunks = [frame(encode_event(started, file_version="brain.Event:2"))]
    for record in records:
        step = record.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            continue
        elapsed = record.get("elapsed_s")
        wall = started + (elapsed if isinstance(elapsed, int | float) else 0.0)
        chunks.append(frame(encode_event(wall, step, scalars=scalars_of(record))))
    return b"".join(chunks)


def _started(summary: Mapping[str, Any]) -> float:
    text = summary.get("started_at") or summary.get("created_at")
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return time.time()


def write_tensorboard(run: store.RunDir, log_dir: str | Path) -> Path:
    """Write ``run``'s records as ``LOG_DIR/RUN_ID/events.out.tfevents...``; the file.

    A run's sub-directory is replaced on each export (one file, never a stale second one).
    """
    folder = Path(log_dir) / run.run_id
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):
        old.unlink()
    started = _started(run.summary())
    name = f"events.out.tfevents.{int(started)}.{socket.gethostname()}.grok-tui"
    path = folder / name
    files.write_atomic(path, event_file_bytes(run.records(), started))
    return path
