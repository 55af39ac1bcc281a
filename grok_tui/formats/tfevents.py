"""TensorBoard event files encoded here: no tensorflow, tensorboard or protobuf needed.

An event file is a sequence of records, each ``length (uint64 LE) · masked CRC32C of the
length · data · masked CRC32C of the data``, where data is a serialised ``Event``
protocol buffer. The three messages used are small enough to encode here by hand:

    Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
    Summary { repeated Value value = 1; }
    Value   { string tag = 1; float simple_value = 2; }

One scalar per numeric field of each record, tagged ``train/acc``, ``test/loss``... so
that TensorBoard groups train and test curves. ``EventWriter`` appends event by event
for live logging (training/trackers.py), with three more messages: a text summary (the
text plugin: a string ``TensorProto``), the HParams plugin's session start and end
(``HParamsPluginData``, with the preset's fields as ``google.protobuf.Value`` s), and a
``SessionLog`` START where a resumed session restarts, so that TensorBoard drops what an
earlier session recorded past that step. A format, like csvfile.py: below both the
export (export/tensorboard.py) and the trainer's live logging, which share it.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from grok_tui import files

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
    # left out of an export (NOT_SCALARS), written live
    "epoch": "progress/epoch",
    "elapsed_s": "progress/elapsed_s",
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


def _double(number: int, value: float) -> bytes:
    return _field(number, 1, struct.pack("<d", value))


def _string(number: int, text: str | bytes) -> bytes:
    return _length_delimited(number, text.encode() if isinstance(text, str) else text)


def encode_event(
    wall_time: float,
    step: int = 0,
    *,
    scalars: Mapping[str, float] | None = None,
    file_version: str | None = None,
    values: Sequence[bytes] = (),
    session_start: bool = False,
) -> bytes:
    """One serialised Event: a file header (file_version), a step's scalars and other
    summary ``values`` (text_value, hparams_*_value), or a SessionLog START (a restart)."""
    out = _double(1, wall_time) + _field(2, 0, _varint(step))
    if file_version is not None:
        out += _length_delimited(3, file_version.encode())
    if scalars or values:
        encoded = b"".join(
            _length_delimited(
                1, _length_delimited(1, tag.encode()) + _field(2, 5, struct.pack("<f", value))
            )
            for tag, value in (scalars or {}).items()
        )
        out += _length_delimited(5, encoded + b"".join(_length_delimited(1, v) for v in values))
    if session_start:
        out += _length_delimited(7, _field(1, 0, _varint(1)))  # SessionLog { status: START }
    return out


def _plugin(name: str, content: bytes = b"") -> bytes:
    """Summary.Value.metadata: SummaryMetadata { plugin_data { plugin_name, content } }."""
    data = _string(1, name) + (_string(2, content) if content else b"")
    return _length_delimited(9, _length_delimited(1, data))


def text_value(tag: str, text: str) -> bytes:
    """A Summary.Value for the text plugin (rendered as Markdown): a scalar string tensor."""
    tensor = _field(1, 0, _varint(7)) + _length_delimited(2, b"") + _string(8, text)  # DT_STRING
    return _string(1, tag) + _plugin("text") + _length_delimited(8, tensor)


# The HParams plugin: its summaries carry an empty float tensor and the data in metadata.
HPARAMS_START_TAG = "_hparams_/session_start_info"
HPARAMS_END_TAG = "_hparams_/session_end_info"
_NULL_TENSOR = _field(1, 0, _varint(1)) + _length_delimited(2, _length_delimited(2, b""))
# SessionEndInfo.status: STATUS_UNKNOWN 0, STATUS_SUCCESS 1, STATUS_FAILURE 2, STATUS_RUNNING 3
HPARAMS_STATUS = {"completed": 1, "failed": 2, "diverged": 2}


def _proto_value(value: bool | int | float | str) -> bytes:
    """A google.protobuf.Value: bool, number (a double) or string."""
    if isinstance(value, bool):
        return _field(4, 0, _varint(int(value)))
    if isinstance(value, int | float):
        try:
            return _double(2, float(value))
        except OverflowError:  # an int beyond a double: its digits
            pass
    return _string(3, str(value))


def _hparams_value(tag: str, data: bytes) -> bytes:
    return _string(1, tag) + _plugin("hparams", data) + _length_delimited(8, _NULL_TENSOR)


def hparams_start_value(
    hparams: Mapping[str, bool | int | float | str], group: str, start_time: float
) -> bytes:
    """The HParams plugin's SessionStartInfo: this session's hyperparameters (by name)."""
    entries = b"".join(
        _length_delimited(1, _string(1, name) + _length_delimited(2, _proto_value(value)))
        for name, value in hparams.items()
    )
    info = entries + _string(4, group) + _double(5, start_time)
    return _hparams_value(HPARAMS_START_TAG, _length_delimited(3, info))


def hparams_end_value(status: str, end_time: float) -> bytes:
    """The HParams plugin's SessionEndInfo: success, failure or unknown (a stopped run)."""
    info = _field(1, 0, _varint(HPARAMS_STATUS.get(status, 0))) + _double(2, end_time)
    return _hparams_value(HPARAMS_END_TAG, _length_delimited(4, info))


def frame(data: bytes) -> bytes:
    """A TFRecord: what TensorBoard reads one event from."""
    length = struct.pack("<Q", len(data))
    return (
        length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))
    )


# The largest float32: TensorBoard's scalars are float32, a run's records are float64 (an
# fp64 run's loss may reach 1e300). A finite value beyond it is written as +-FLOAT32_MAX.
FLOAT32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]


def as_float32(value: float | int) -> tuple[float, bool]:
    """``value`` as TensorBoard can store it, and whether it had to be clamped (finite but
    beyond float32's range: it becomes +-FLOAT32_MAX)."""
    try:
        number = float(value)
        struct.pack("<f", number)
        return number, False
    except OverflowError:  # also an int too large for a float
        return (FLOAT32_MAX if value > 0 else -FLOAT32_MAX), True


def scalars_of(
    record: Mapping[str, Any],
    clamped: list[tuple[str, float | int]] | None = None,
    *,
    skip: Iterable[str] = NOT_SCALARS,
) -> dict[str, float]:
    """The record's finite numbers, by TensorBoard tag; those beyond float32's range are
    clamped to it (each added to ``clamped`` as (tag, value) when given). ``skip``: the
    fields that are not scalars (live logging writes epoch and elapsed_s too)."""
    out = {}
    skip = set(skip)
    for key, value in record.items():
        if key in skip or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        tag = TAGS.get(key, f"other/{key}")
        out[tag], beyond = as_float32(value)
        if beyond and clamped is not None:
            clamped.append((tag, value))
    return out


def event_file_bytes(
    records: Iterable[Mapping[str, Any]],
    started: float,
    *,
    clamped: list[tuple[int, str, float | int]] | None = None,
) -> bytes:
    """A whole event file: the version header, then one event per record. ``clamped``
    collects (step, tag, value) of each value written as +-FLOAT32_MAX."""
    chunks = [frame(encode_event(started, file_version="brain.Event:2"))]
    for record in records:
        step = record.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < 2**63:
            continue
        wall = _wall_time(started, record.get("elapsed_s"))
        beyond: list[tuple[str, float | int]] = []
        chunks.append(frame(encode_event(wall, step, scalars=scalars_of(record, beyond))))
        if clamped is not None:
            clamped.extend((step, tag, value) for tag, value in beyond)
    return b"".join(chunks)


def _wall_time(started: float, elapsed: Any) -> float:
    """When a record was made: the start plus its elapsed seconds (a crafted value that
    is not a finite number of seconds counts as none)."""
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float):
        return started
    try:
        wall = started + float(elapsed)
    except OverflowError:
        return started
    return wall if math.isfinite(wall) else started


class EventWriter:
    """An event file written event by event, as a run evaluates (live logging): each event
    is appended as one TFRecord, which TensorBoard reads as it lands.

    One new file per training session in ``folder`` (created through the door, never
    through a link, never over another file), named by its start time to the
    microsecond so that a resumed session's file sorts after the earlier ones.
    """

    def __init__(self, folder: str | Path, started: float | None = None) -> None:
        started = time.time() if started is None else started
        base = f"events.out.tfevents.{started:.6f}.{socket.gethostname()}"
        with files.subfolder(folder, create=True) as out:
            for n in range(100):
                name = f"{base}.{n}.grok-tui" if n else f"{base}.grok-tui"
                try:
                    self.fd = out.open_regular(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
                    break
                except FileExistsError:
                    continue
            else:
                raise FileExistsError(f"{folder}: no free event file name for {base}")
        self.path = Path(folder) / name
        self.write(encode_event(started, file_version="brain.Event:2"))

    def write(self, event: bytes) -> None:
        data = memoryview(frame(event))
        while data:
            data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
