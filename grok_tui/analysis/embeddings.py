"""The number tokens' embeddings and their 2-D projections (PCA by SVD, t-SNE by scikit-learn).

Numbers are tokens 0..p-1 in every layout (config.vocab_layout), so the number
embeddings are the first p rows of the token embedding. The recurrent model with
``input = "scalar"`` has none: it reads each number as one float.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from grok_tui.analysis.fourier import circle_step

if TYPE_CHECKING:
    from grok_tui.analysis.loading import LoadedRun

HEATMAP_MAX_COLUMNS = 128  # keeps analysis.json small for wide embeddings


def number_embedding(state: Mapping[str, torch.Tensor], name: str, p: int) -> torch.Tensor:
    """Rows 0..p-1 of the token embedding in a state dict: (p, d) float64 on the CPU."""
    return state[name][:p].detach().double().cpu()


def kept_embedding(loaded: LoadedRun, name: str, step: int) -> torch.Tensor:
    """The number embeddings of a run at a kept step: (p, d) float64 on the CPU."""
    return number_embedding(loaded.weights(step), name, loaded.preset.data.p)


def pca(points: torch.Tensor, n_components: int = 2) -> tuple[torch.Tensor, list[float]]:
    """Coordinates (n, n_components) on the top principal axes, and the variance ratio of each.

    The SVD of the centred matrix X = U S V^T: the projections are U S, the variances S^2.
    The sign of each axis is fixed (largest |coordinate| positive) so reruns agree.
    """
    x = points.double()
    x = x - x.mean(dim=0, keepdim=True)
    u, s, _ = torch.linalg.svd(x, full_matrices=False)
    k = min(n_components, s.shape[0])
    coords = u[:, :k] * s[:k]
    flip = torch.sign(coords.gather(0, coords.abs().argmax(dim=0, keepdim=True)))
    coords = coords * torch.where(flip == 0, torch.ones_like(flip), flip)
    if k < n_components:  # fewer points or dims than axes asked for: pad with zeros
        coords = torch.cat([coords, coords.new_zeros(coords.shape[0], n_components - k)], dim=1)
    variance = s.pow(2)
    total = float(variance.sum())
    ratios = [float(v) / total if total else 0.0 for v in variance[:k]]
    return coords, ratios + [0.0] * (n_components - k)


def tsne_available() -> bool:
    try:
        import sklearn.manifold  # noqa: F401
    except ImportError:
        return False
    return True


def tsne(points: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, dict[str, Any]]:
    """t-SNE coordinates (n, 2) and the settings used; raises ImportError without sklearn.

    Perplexity 30 as usual, but below n/3 for small p (t-SNE needs perplexity < n).
    PCA initialisation and a fixed seed make it repeatable.
    """
    from sklearn.manifold import TSNE

    x = points.double().numpy()
    n = x.shape[0]
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    model = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    coords = torch.from_numpy(model.fit_transform(x))
    return coords, {"perplexity": perplexity, "seed": seed, "init": "pca"}


def link_pairs(p: int, step: int) -> list[tuple[int, int]]:
    """The pairs (n, n + step mod p) that the projection figures join with a line."""
    return [(n, (n + step) % p) for n in range(p)]


# --- the section of analysis.json -------------------------------------------------------


def embedding_section(
    loaded: LoadedRun,
    name: str,
    step: int,
    spectrum: dict[str, Any],
    notes: list[str],
    *,
    link_step: int | None = None,
    with_tsne: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Projections (PCA, t-SNE) and heatmaps of the number embeddings at `step`.

    The projections link n and n + link_step; by default the step that makes them
    neighbours on the circle of the dominant frequency, where a grokked model's
    embeddings lie. What is skipped (t-SNE, wide heatmaps) is said in `notes`.
    """
    p = loaded.preset.data.p
    matrix = kept_embedding(loaded, name, step)
    initial = kept_embedding(loaded, name, 0)
    if link_step is not None:
        link, reason = link_step % p, "--link-step"
    else:
        k = spectrum["dominant_frequency"]
        link = circle_step(k, p)
        reason = f"inverse of the dominant frequency {k} mod {p}"
    coords, ratios = pca(matrix)
    section: dict[str, Any] = {
        "source": name,
        "p": p,
        "dim": matrix.shape[1],
        "link_step": link,
        "link_step_reason": reason,
        "pca": {"coords": coords.tolist(), "explained_variance_ratio": ratios},
        "tsne": None,
    }
    if not with_tsne:
        notes.append("t-SNE skipped (--no-tsne)")
    elif p < 5:
        notes.append(f"t-SNE skipped: p = {p} numbers are too few")
    elif not tsne_available():
        notes.append(
            "t-SNE skipped: scikit-learn is not installed (pip install grok-tui[analysis])"
        )
    else:
        points, settings = tsne(matrix, seed=seed)
        section["tsne"] = {"coords": points.tolist(), **settings}
    columns = min(matrix.shape[1], HEATMAP_MAX_COLUMNS)
    if columns < matrix.shape[1]:
        notes.append(f"heatmaps show the first {columns} of {matrix.shape[1]} embedding dims")
    section["heatmap"] = {
        "columns": columns,
        "initial_step": 0,
        "initial": _rounded(initial[:, :columns]),
        "step": step,
        "final": _rounded(matrix[:, :columns]),
    }
    return section


def _rounded(matrix: torch.Tensor, digits: int = 5) -> list[list[float]]:
    """Five digits are more than a heatmap shows, and keep analysis.json small."""
    return [[round(v, digits) for v in row] for row in matrix.tolist()]
