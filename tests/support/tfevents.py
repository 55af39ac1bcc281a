"""Reading back the TensorBoard event files the product writes, every checksum verified."""

from __future__ import annotations

import struct
from pathlib import Path

from grok_tui.formats.tfevents import masked_crc


def read_events(path: Path) -> list[bytes]:
    """The records of a TFRecord file, every checksum verified."""
    data, events, at = path.read_bytes(), [], 0
    while at < len(data):
        header = data[at : at + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[at + 8 : at + 12])[0] == masked_crc(header)
        body = data[at + 12 : at + 12 + length]
        assert struct.unpack("<I", data[at + 12 + length : at + 16 + length])[0] == masked_crc(body)
        events.append(body)
        at += 16 + length
    return events
