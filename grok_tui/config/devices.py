"""Device names, told apart without torch: what a preset or a flag may name, the slot pool a
device takes, and whether ``auto`` means a GPU here.

The TUI, the queue and the sweep planner decide with these before any trainer exists;
the trainer's ``resolve_device`` (training/trainer.py) asks torch, with the same names.
"""

from __future__ import annotations

import os
import platform
import re
import sys

AUTO, CPU, CUDA, MPS = "auto", "cpu", "cuda", "mps"
# What a preset's train.device, --device and --devices may name.
DEVICE_NAME = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DEVICE_NAMES = "auto, cpu, mps, cuda or cuda:N"
# One concrete device: a slot pool of the queue.
DEVICE_KEY = re.compile(r"cpu|mps|cuda:\d+")
DEVICE_KEYS = "cpu, mps or cuda:N"
# An NVIDIA driver's control device: a GPU is there, without asking torch.
NVIDIA_DEVICE = "/dev/nvidiactl"


def is_device_name(text: str) -> bool:
    return DEVICE_NAME.fullmatch(text) is not None


def is_cuda(text: str) -> bool:
    """``cuda`` or ``cuda:N``: what a GPU-only command (gpu-check, bench --capture) takes."""
    return DEVICE_NAME.fullmatch(text) is not None and text.startswith("cuda")


def cuda_present() -> bool:
    """Whether ``auto`` means a GPU here: an NVIDIA driver is installed. (The trainer
    checks the device for real.)"""
    return os.path.exists(NVIDIA_DEVICE)


def apple_silicon() -> bool:
    """Whether ``auto`` means MPS here, where there is no NVIDIA driver."""
    return sys.platform == "darwin" and platform.machine() == "arm64"


def device_key(device: str) -> str:
    """The slot pool of a device name: ``cuda`` is cuda:0; ``auto`` is where a run would
    train here (cuda:0 with an NVIDIA driver, mps on Apple silicon, else cpu). A
    summary's label may carry words after the device ("cpu (fake)")."""
    words = str(device).split()
    name = words[0] if words else AUTO
    if name == AUTO:
        if cuda_present():
            return f"{CUDA}:0"
        if apple_silicon():
            return MPS
        return CPU
    return f"{CUDA}:0" if name == CUDA else name
