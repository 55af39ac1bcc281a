"""An analysis.json with every section, for the analysis screen's and views' tests."""

from __future__ import annotations

import math
from typing import Any

from grok_tui.analysis.paths import SCHEMA


def fake_analysis(p: int = 11, step: int = 40) -> dict[str, Any]:
    """An analysis.json with every section, shaped as grok_tui.analysis.report writes it."""
    n_freqs = (p - 1) // 2
    steps = [0, 20, step]
    energy = [0.6 if k == 3 else 0.4 / (n_freqs - 1) for k in range(1, n_freqs + 1)]
    circle = [
        [math.cos(2 * math.pi * 3 * n / p), math.sin(2 * math.pi * 3 * n / p)] for n in range(p)
    ]
    grid = [[abs(a) + abs(b) + 1e-3 for b in range(-2, 3)] for a in range(-2, 3)]
    return {
        "schema": SCHEMA,
        "run_id": "fake",
        "step": step,
        "steps": steps,
        "events": {"fit_step": 10, "grok_step": 30},
        "notes": ["a note"],
        "norms": {
            "records": {
                "step": [0, 10, 20, 30, 40],
                "param_norm": [9.0, 8.0, 7.0, 6.5, 6.0],
                "grad_norm": [None, 1.0, 0.1, 0.01, 0.001],
            },
            "checkpoints": {
                "step": steps,
                "param_norm": [9.0, 7.0, 6.0],
                "layers": {"embedding.weight": [5.0, 4.0, 3.0], "net.0.bias": [0.1, 0.1, 0.1]},
            },
        },
        "embedding": {
            "p": p,
            "link_step": 4,
            "link_step_reason": "inverse of the dominant frequency 3 mod 11",
            "pca": {"coords": circle, "explained_variance_ratio": [0.5, 0.5]},
            "tsne": None,
            "heatmap": {
                "columns": 4,
                "initial_step": 0,
                "initial": [[(n * c) % 3 - 1.0 for c in range(4)] for n in range(p)],
                "step": step,
                "final": [[math.cos(n + c) for c in range(4)] for n in range(p)],
            },
        },
        "fourier": {
            "frequencies": list(range(1, n_freqs + 1)),
            "energy_fraction": energy,
            "key_frequencies": [3],
            "dominant_frequency": 3,
            "top_k": 1,
            "concentration": 0.6,
            "concentration_uniform": 0.2,
            "over_time": {
                "step": steps,
                "energy_fraction": [energy, energy, energy],
                "concentration": [0.2, 0.4, 0.6],
                "key_fraction": [0.2, 0.4, 0.6],
            },
        },
        "nanda": {
            "key_frequencies": [3],
            "step": steps,
            "train_loss": [2.4, 0.1, 0.01],
            "test_loss": [2.4, 3.0, 0.02],
            "restricted_loss": [2.4, 1.0, 0.05],
            "excluded_loss": [2.4, 0.5, None],
        },
        "neurons": {
            "threshold": 0.85,
            "layers": {
                "net.1": {
                    "units": 4,
                    "dead": 1,
                    "dominant": [3, 3, 2, None],
                    "share": [0.9, 0.95, 0.3, None],
                    "clusters": {"3": 2},
                    "clustered_fraction": 0.667,
                    "mean_share": 0.72,
                },
                "net.4": {
                    "units": 2,
                    "dead": 0,
                    "dominant": [3, 4],
                    "share": [0.5, 0.9],
                    "clusters": {"4": 1},
                    "clustered_fraction": 0.5,
                    "mean_share": 0.7,
                },
            },
            "example": {
                "layer": "net.1",
                "unit": 1,
                "frequency": 3,
                "share": 0.95,
                "grid": [
                    [math.cos(2 * math.pi * 3 * (x + y) / p) for y in range(p)] for x in range(p)
                ],
            },
            "over_time": {"step": steps, "net.1": [0.0, 0.3, 0.667], "net.4": [0.0, 0.0, 0.5]},
        },
        "landscape": {
            "grid": {
                "span": 1.0,
                "coords": [-1, -0.5, 0, 0.5, 1],
                "loss": {"train": grid, "test": grid},
            },
            "perturbation": {
                "layers": ["net.0.weight", "net.3.weight"],
                "unperturbed_sv": [3.0, 4.0],
                "sv": [[3.0, 3.1, 3.2, 3.3], [4.0, 4.1, 4.05, 4.3]],
                "loss": {"train": [0.01, 0.1, None, 1.0], "test": [0.02, 0.2, 0.3, 2.0]},
            },
        },
    }
