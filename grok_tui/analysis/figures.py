"""PNG figures of an analysis (matplotlib, Agg): they draw analysis.json's numbers, compute nothing.

Each ``plot_*`` takes the analysis dict and a folder, writes one PNG and returns its
file name; ``write_figures`` draws every one whose section exists.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib

from grok_tui import files

matplotlib.use("Agg")  # no display: the analysis runs in its own process, often over SSH
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FIT_COLOUR, GROK_COLOUR = "#3cb44b", "#c850dc"
TRAIN_COLOUR, TEST_COLOUR = "#0082c8", "#e6194b"
DPI = 110


def _save(fig: Figure, folder: files.Folder, name: str) -> str:
    """Rendered to bytes, written through the door: a link planted at the name is replaced."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    folder.write_atomic(name, buffer.getbuffer())
    return name


def _log10(values: Sequence[float | None]) -> list[float]:
    return [math.log10(max(v, 1e-12)) if v is not None else math.nan for v in values]


def _mark_events(ax: Any, analysis: dict[str, Any]) -> None:
    events = analysis.get("events") or {}
    for key, colour in (("fit_step", FIT_COLOUR), ("grok_step", GROK_COLOUR)):
        if events.get(key) is not None:
            ax.axvline(events[key], color=colour, ls="--", lw=1, label=f"{key} {events[key]}")


def _pairs(xs: Sequence[Any], ys: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    kept = [(x, y) for x, y in zip(xs, ys, strict=False) if x is not None and y is not None]
    return [x for x, _ in kept], [y for _, y in kept]


def plot_norms(analysis: dict[str, Any], folder: files.Folder) -> str:
    section = analysis["norms"]
    records, kept = section["records"], section["checkpoints"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
    ax = axes[0]
    ax.plot(*_pairs(records["step"], records["param_norm"]), color="k", label="param_norm")
    ax.plot(kept["step"], kept["param_norm"], "o", color="0.4", ms=3, label="kept weights")
    ax.set_title("parameter norm")
    ax = axes[1]
    steps, grads = _pairs(records["step"], records["grad_norm"])
    ax.plot(steps, grads, color="tab:orange", label="grad_norm")
    if grads and min(grads) > 0:
        ax.set_yscale("log")
    ax.set_title("gradient norm (at evaluations)")
    ax = axes[2]
    for name, values in kept["layers"].items():
        ax.plot(kept["step"], values, marker=".", lw=1, label=name)
    ax.set_title("per-tensor weight norm (kept steps)")
    for ax in axes:
        _mark_events(ax, analysis)
        ax.set_xlabel("step")
        ax.legend(fontsize=6 if ax is axes[2] else 8, ncol=2 if ax is axes[2] else 1)
    fig.suptitle(f"{analysis['run_id']}: norms")
    return _save(fig, folder, "norms.png")


def plot_projection(analysis: dict[str, Any], folder: files.Folder, kind: str) -> str:
    section = analysis["embedding"]
    coords = section[kind]["coords"]
    p, step = section["p"], section["link_step"]
    fig, ax = plt.subplots(figsize=(7, 7), layout="constrained")
    for n in range(p):
        m = (n + step) % p
        ax.plot([coords[n][0], coords[m][0]], [coords[n][1], coords[m][1]], color="0.75", lw=0.7)
    colours = plt.get_cmap("hsv")([n / p for n in range(p)])
    ax.scatter([c[0] for c in coords], [c[1] for c in coords], c=colours, s=28, zorder=3)
    for n, (x, y) in enumerate(coords):
        ax.annotate(str(n), (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
    title = f"{kind.upper()} of number embeddings at step {analysis['step']}"
    if kind == "pca":
        ratios = section["pca"]["explained_variance_ratio"]
        title += f" (variance {ratios[0]:.0%} + {ratios[1]:.0%})"
    ax.set_title(f"{title}\nlines join n and n+{step} ({section['link_step_reason']})", fontsize=9)
    ax.set_aspect("equal", adjustable="datalim")
    return _save(fig, folder, f"embedding_{kind}.png")


def plot_heatmaps(analysis: dict[str, Any], folder: files.Folder) -> str:
    heatmap = analysis["embedding"]["heatmap"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), layout="constrained")
    for ax, key, step in (
        (axes[0], "initial", heatmap["initial_step"]),
        (axes[1], "final", heatmap["step"]),
    ):
        matrix = heatmap[key]
        vmax = max((abs(v) for row in matrix for v in row), default=1.0) or 1.0
        image = ax.imshow(matrix, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(f"step {step}")
        ax.set_xlabel("embedding dim")
        ax.set_ylabel("number")
        fig.colorbar(image, ax=ax, fraction=0.04)
    fig.suptitle(f"{analysis['run_id']}: number embeddings")
    return _save(fig, folder, "embedding_heatmap.png")


def plot_spectrum(analysis: dict[str, Any], folder: files.Folder) -> str:
    section = analysis["fourier"]
    freqs, energy, keys = (
        section["frequencies"],
        section["energy_fraction"],
        section["key_frequencies"],
    )
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
    colours = [TEST_COLOUR if k in keys else TRAIN_COLOUR for k in freqs]
    ax.bar(freqs, energy, color=colours, width=0.8)
    ax.set_xlabel("frequency k (cos/sin 2πkn/p)")
    ax.set_ylabel("energy fraction")
    ax.set_title(
        f"embedding spectrum at step {analysis['step']}: key {keys}, "
        f"top-{section['top_k']} concentration {section['concentration']:.2f} "
        f"(uniform {section['concentration_uniform']:.2f})",
        fontsize=9,
    )
    return _save(fig, folder, "fourier_spectrum.png")


def plot_spectrum_over_time(analysis: dict[str, Any], folder: files.Folder) -> str:
    history = analysis["fourier"]["over_time"]
    steps = history["step"]
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5), layout="constrained")
    matrix = list(zip(*history["energy_fraction"], strict=True))  # (freq, step)
    image = axes[0].imshow(
        matrix, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest"
    )
    ticks = sorted({0, len(steps) - 1, *range(0, len(steps), max(1, len(steps) // 6))})
    axes[0].set_xticks(ticks, [str(steps[i]) for i in ticks], fontsize=7)
    axes[0].set_yticks(range(0, len(matrix), max(1, len(matrix) // 10)))
    axes[0].set_yticklabels([str(k + 1) for k in range(0, len(matrix), max(1, len(matrix) // 10))])
    axes[0].set_xlabel("kept step")
    axes[0].set_ylabel("frequency")
    axes[0].set_title("energy fraction per frequency over time")
    fig.colorbar(image, ax=axes[0], fraction=0.04)
    ax = axes[1]
    ax.plot(steps, history["concentration"], marker=".", label="top-k concentration")
    ax.plot(steps, history["key_fraction"], marker=".", label="share of the final key freqs")
    _mark_events(ax, analysis)
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    ax.set_title("how concentrated the spectrum is")
    return _save(fig, folder, "fourier_over_time.png")


def plot_nanda(analysis: dict[str, Any], folder: files.Folder) -> str:
    section = analysis["nanda"]
    fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
    for key, colour in (
        ("train_loss", TRAIN_COLOUR),
        ("test_loss", TEST_COLOUR),
        ("restricted_loss", "tab:green"),
        ("excluded_loss", "tab:purple"),
    ):
        ax.plot(section["step"], _log10(section[key]), marker=".", color=colour, label=key)
    _mark_events(ax, analysis)
    ax.set_xlabel("step")
    ax.set_ylabel("log10 loss")
    ax.set_title(
        f"Nanda et al.'s progress measures, key frequencies {section['key_frequencies']} "
        f"(from the {section['key_frequencies_from']})",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    return _save(fig, folder, "nanda_losses.png")


def plot_neurons(analysis: dict[str, Any], folder: files.Folder) -> str:
    """Cluster sizes by frequency per layer, the clustered fraction over time, one unit's grid."""
    section = analysis["neurons"]
    layers = section["layers"]
    example = section["example"]
    fig, axes = plt.subplots(1, 3 if example else 2, figsize=(16, 4.8), layout="constrained")
    freqs = sorted({int(k) for layer in layers.values() for k in layer["clusters"]})
    width = 0.8 / max(1, len(layers))
    for i, (name, layer) in enumerate(layers.items()):
        counts = [layer["clusters"].get(str(k), 0) for k in freqs]  # JSON keys are strings
        axes[0].bar([j + i * width for j in range(len(freqs))], counts, width=width, label=name)
    axes[0].set_xticks([j + 0.4 - width / 2 for j in range(len(freqs))], [str(k) for k in freqs])
    axes[0].set_xlabel("frequency k")
    axes[0].set_ylabel("units in the cluster")
    axes[0].set_title(
        f"units with >= {section['threshold']:.0%} of their variance at one frequency",
        fontsize=9,
    )
    axes[0].legend(fontsize=7)
    history = section["over_time"]
    for name in layers:
        axes[1].plot(history["step"], history[name], marker=".", label=name)
    _mark_events(axes[1], analysis)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("clustered fraction of live units")
    axes[1].set_ylim(0, 1)
    axes[1].legend(fontsize=7)
    if example:
        image = axes[2].imshow(example["grid"], cmap="viridis", origin="lower")
        axes[2].set_xlabel("y")
        axes[2].set_ylabel("x")
        axes[2].set_title(
            f"{example['layer']} unit {example['unit']}: frequency {example['frequency']}, "
            f"share {example['share']:.2f}",
            fontsize=9,
        )
        fig.colorbar(image, ax=axes[2], fraction=0.04)
    fig.suptitle(f"{analysis['run_id']}: neuron frequencies at step {analysis['step']}")
    return _save(fig, folder, "neurons.png")


def plot_landscape_grid(analysis: dict[str, Any], folder: files.Folder) -> str:
    grid = analysis["landscape"]["grid"]
    coords = grid["coords"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    for ax, split in zip(axes, ("train", "test"), strict=True):
        z = [_log10(row) for row in grid["loss"][split]]
        # loss[i][j] is at (a = coords[i], b = coords[j]): rows are a, so plot z transposed
        zt = list(map(list, zip(*z, strict=True)))
        contour = ax.contourf(coords, coords, zt, levels=20, cmap="viridis")
        ax.plot([0], [0], "r+", ms=10)
        ax.set_title(f"{split} log10 loss")
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
        fig.colorbar(contour, ax=ax, fraction=0.04)
    fig.suptitle(f"loss landscape at step {analysis['step']} (filter-normalised directions)")
    return _save(fig, folder, "landscape_grid.png")


def plot_perturbation(analysis: dict[str, Any], folder: files.Folder) -> str:
    section = analysis["landscape"]["perturbation"]
    sv1, sv2 = section["sv"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    for ax, split in zip(axes, ("train", "test"), strict=True):
        points = ax.scatter(sv1, sv2, c=_log10(section["loss"][split]), s=8, cmap="viridis")
        ax.plot(*section["unperturbed_sv"], "rx", ms=9, label="trained weights")
        ax.set_xlabel(f"top singular value of {section['layers'][0]}")
        ax.set_ylabel(f"top singular value of {section['layers'][1]}")
        ax.set_title(f"{split} log10 loss", fontsize=9)
        ax.legend(fontsize=8)
        fig.colorbar(points, ax=ax, fraction=0.04)
    fig.suptitle(
        f"Gaussian perturbation ({section['method']}, {section['scale_mode']} scale up to "
        f"{section['max_scale']:g}), step {analysis['step']}"
    )
    return _save(fig, folder, "landscape_perturbation.png")


def write_figures(analysis: dict[str, Any], folder: files.Folder) -> dict[str, str]:
    """Every figure whose section exists: {figure name: file name in folder}."""
    figures = {"norms": plot_norms(analysis, folder)}
    if analysis.get("embedding"):
        figures["embedding_pca"] = plot_projection(analysis, folder, "pca")
        if analysis["embedding"].get("tsne"):
            figures["embedding_tsne"] = plot_projection(analysis, folder, "tsne")
        figures["embedding_heatmap"] = plot_heatmaps(analysis, folder)
    if analysis.get("fourier"):
        figures["fourier_spectrum"] = plot_spectrum(analysis, folder)
        figures["fourier_over_time"] = plot_spectrum_over_time(analysis, folder)
    if analysis.get("nanda"):
        figures["nanda_losses"] = plot_nanda(analysis, folder)
    if analysis.get("neurons"):
        figures["neurons"] = plot_neurons(analysis, folder)
    if analysis.get("landscape"):
        figures["landscape_grid"] = plot_landscape_grid(analysis, folder)
        figures["landscape_perturbation"] = plot_perturbation(analysis, folder)
    return figures
