"""The analysis of a run: Fourier structure, projections, landscape, and `grok-tui analyze`."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grok_tui import cli
from grok_tui.analysis import embeddings, fourier, landscape, neurons
from grok_tui.analysis.paths import SCHEMA, analysis_path, read_analysis
from grok_tui.cli import cmd_analyze as analyze_main
from grok_tui.config import load_preset, validate_preset
from grok_tui.rundirs import store
from grok_tui.training import runner
from tests.conftest import TINY_PRESET

# Its module-scoped fixture is built once: every test of the module on one test worker.
pytestmark = pytest.mark.xdist_group("analysis")

EVERY_FIGURE = {
    "norms",
    "embedding_pca",
    "embedding_tsne",
    "embedding_heatmap",
    "fourier_spectrum",
    "fourier_over_time",
    "nanda_losses",
    "neurons",
    "landscape_grid",
    "landscape_perturbation",
}
needs_sklearn = pytest.mark.skipif(
    not embeddings.tsne_available(), reason="scikit-learn is not installed"
)


def planted_embedding(p: int, frequencies: list[int], dim: int = 12, noise: float = 0.05):
    """Columns a cos(2πkn/p) + b sin(2πkn/p) for each planted k, plus a little noise."""
    generator = torch.Generator().manual_seed(0)
    n = torch.arange(p, dtype=torch.float64)[:, None]
    embedding = noise * torch.randn(p, dim, generator=generator, dtype=torch.float64)
    for k in frequencies:
        a, b = torch.randn(2, dim, generator=generator, dtype=torch.float64)
        embedding += a * torch.cos(2 * math.pi * k * n / p) + b * torch.sin(2 * math.pi * k * n / p)
    return embedding


# --- Fourier ---------------------------------------------------------------------------


def test_spectrum_finds_a_planted_frequency() -> None:
    spectrum = fourier.spectrum(planted_embedding(31, [7]))
    assert spectrum["dominant_frequency"] == 7
    assert spectrum["key_frequencies"] == [7]
    assert spectrum["energy_fraction"][6] > 0.95
    assert spectrum["concentration"] > 0.95 > spectrum["concentration_uniform"]
    assert math.isclose(sum(spectrum["energy_fraction"]), 1.0)
    assert spectrum["frequencies"] == list(range(1, 16))


def test_spectrum_finds_several_planted_frequencies_and_none_in_noise() -> None:
    spectrum = fourier.spectrum(planted_embedding(97, [5, 31, 40]))
    assert sorted(spectrum["key_frequencies"]) == [5, 31, 40]
    noise = fourier.spectrum(planted_embedding(97, [], dim=128, noise=1.0))
    assert len(noise["key_frequencies"]) == 1  # only "the dominant one", always given
    assert noise["concentration"] < 0.25


def test_constant_offset_is_reported_apart_from_the_frequencies() -> None:
    embedding = planted_embedding(31, [3]) + 10.0
    spectrum = fourier.spectrum(embedding)
    assert spectrum["dominant_frequency"] == 3
    assert spectrum["constant_fraction"] > 0.5


@pytest.mark.parametrize(("k", "p"), [(16, 59), (25, 97), (1, 11), (5, 11)])
def test_circle_step_makes_n_and_n_plus_step_neighbours_on_the_circle(k: int, p: int) -> None:
    step = fourier.circle_step(k, p)
    assert 1 <= step <= p // 2
    turn = (k * step) % p  # n+step sits this many 2π/p further on the circle of frequency k
    assert turn in (1, p - 1)
    assert fourier.circle_step(16, 59) == 11  # the seed report's n -> n+11 at p = 59


def fourier_logits(p: int, frequencies: list[int], scale: float = 4.0) -> torch.Tensor:
    """Logits of the Fourier algorithm: sum_k cos(w_k (x + y - c)), over the whole grid."""
    numbers = torch.arange(p, dtype=torch.float64)
    x, y = torch.meshgrid(numbers, numbers, indexing="ij")
    s = (x + y).reshape(-1, 1)
    c = numbers.reshape(1, -1)
    return scale * sum(torch.cos(2 * math.pi * k * (s - c) / p) for k in frequencies)


def test_restricted_loss_keeps_and_excluded_loss_removes_the_key_frequencies() -> None:
    p, keys = 13, [2, 5]
    logits = fourier_logits(p, keys)
    numbers = torch.arange(p)
    labels = (numbers[:, None] + numbers[None, :]).reshape(-1) % p
    train = torch.rand(p * p, generator=torch.Generator().manual_seed(0)) < 0.5
    basis = fourier.grid_directions(p, "add", keys)
    assert torch.allclose(basis.T @ basis, torch.eye(2 * len(keys), dtype=torch.float64))
    out = fourier.nanda_losses(logits, labels, train, basis, F.cross_entropy)
    full = float(F.cross_entropy(logits, labels))
    assert out["restricted_loss"] == pytest.approx(full, abs=1e-9)  # nothing else to remove
    assert out["excluded_loss"] == pytest.approx(math.log(p), abs=1e-9)  # uniform logits
    assert out["key_logit_fraction"] == pytest.approx(1.0)
    other = fourier.nanda_losses(
        logits, labels, train, fourier.grid_directions(p, "add", [1]), F.cross_entropy
    )
    assert other["restricted_loss"] == pytest.approx(math.log(p), abs=1e-9)
    share = fourier.logit_spectrum(logits, p, "add")
    assert [k + 1 for k, v in enumerate(share) if v > 0.1] == keys


def test_sub_uses_x_minus_y_directions() -> None:
    p = 7
    basis = fourier.grid_directions(p, "sub", [1])
    x, y = 3, 5  # rows are x * p + y
    assert basis[x * p + y, 0] == pytest.approx(
        math.cos(2 * math.pi * (x - y) / p) / math.sqrt(p * p / 2)
    )


# --- projections ---------------------------------------------------------------------


# --- neurons ---------------------------------------------------------------------------


def test_neuron_shares_find_a_units_frequency_and_skip_dead_units() -> None:
    p = 13
    x = torch.arange(p, dtype=torch.float64)[:, None]
    y = torch.arange(p, dtype=torch.float64)[None, :]
    w = 2 * math.pi / p
    units = torch.stack(
        [
            torch.cos(w * 3 * x) + torch.sin(w * 3 * y),  # frequency 3 in x and in y
            torch.cos(w * 5 * (x + y)) + 0.2 * torch.cos(w * 5 * x),  # frequency 5, x + y
            torch.cos(w * 2 * x + w * 4 * y),  # two frequencies mixed: no cluster
            torch.full((p, p), 0.7, dtype=torch.float64),  # never varies: dead
        ],
        dim=-1,
    )
    shares, variance = neurons.frequency_shares(units)
    assert shares.shape == (6, 4)
    assert shares[2, 0] == pytest.approx(1.0) and shares[4, 1] == pytest.approx(1.0)
    assert shares[:, 2].max() < 0.01  # its power is at (2, 4): no single k holds it
    assert variance[3] < 1e-20
    summary = neurons.layer_summary(units)
    assert summary["dominant"][:2] == [3, 5] and summary["dominant"][3] is None
    assert summary["clusters"] == {3: 1, 5: 1} and summary["dead"] == 1
    assert summary["clustered_fraction"] == pytest.approx(2 / 3)
    example = neurons.example_unit(units, summary)
    assert example["unit"] in (0, 1) and len(example["grid"]) == p


def test_grid_activations_read_each_hidden_unit_over_every_pair() -> None:
    preset = validate_preset(
        {
            "data": {"p": 7, "include_op_tokens": False},
            "model": {"type": "mlp", "embed_dim": 4, "widths": [5, 3]},
        }
    )
    from grok_tui.training.data import enumerate_operands, tokenize
    from grok_tui.training.models import build_model

    torch.manual_seed(0)
    model = build_model(preset.model, vocab_size=7, seq_len=2, n_classes=7).double().eval()
    tokens = tokenize(enumerate_operands(preset.data), preset.data)
    acts = neurons.grid_activations(model, tokens, 7)
    assert {k: tuple(v.shape) for k, v in acts.items()} == {"net.1": (7, 7, 5), "net.4": (7, 7, 3)}
    with torch.no_grad():  # the pair (x, y) = (3, 6) by hand
        h = model.net[0](model.embedding(torch.tensor([[3, 6]])).flatten(1)).relu()
    torch.testing.assert_close(acts["net.1"][3, 6], h[0])


def test_pca_gives_coordinates_and_variance_ratios() -> None:
    embedding = planted_embedding(23, [4], dim=16, noise=0.01)
    coords, ratios = embeddings.pca(embedding)
    assert coords.shape == (23, 2)
    assert ratios[0] >= ratios[1] >= 0 and sum(ratios) > 0.95  # a circle: two axes
    radius = coords.norm(dim=1)
    assert float(radius.std() / radius.mean()) < 0.2
    few, few_ratios = embeddings.pca(torch.randn(5, 1, dtype=torch.float64))
    assert few.shape == (5, 2) and few_ratios[1] == 0.0


@needs_sklearn
def test_tsne_gives_two_coordinates_per_number() -> None:
    coords, settings = embeddings.tsne(planted_embedding(23, [4]), seed=0)
    assert coords.shape == (23, 2)
    assert settings["perplexity"] < 23


# --- landscape -----------------------------------------------------------------------


def test_filter_normalised_direction_matches_each_row_norm_and_skips_biases() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    params = landscape.trainable(model)
    direction = landscape.filter_normalized_direction(params, torch.Generator().manual_seed(1))
    for name, weight in params.items():
        if weight.dim() == 1:
            assert torch.count_nonzero(direction[name]) == 0
        else:
            assert torch.allclose(direction[name].norm(dim=1), weight.norm(dim=1), atol=1e-6)


def test_top_singular_value_matches_the_svd() -> None:
    matrix = torch.randn(40, 17, generator=torch.Generator().manual_seed(0))
    expected = float(torch.linalg.svdvals(matrix.double())[0])
    assert landscape.top_singular_value(matrix) == pytest.approx(expected, rel=1e-10)
    assert landscape.top_singular_value(matrix.T) == pytest.approx(expected, rel=1e-10)


def test_gaussian_perturbation_draws_a_matrix_not_one_scalar() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    out = landscape.gaussian_perturbation(
        model, {"train": (x, y)}, F.cross_entropy, ["0.weight", "2.weight"], samples=5
    )
    assert out["method"] == "gaussian_matrix"
    assert out["scale"][0] == 0.0 and len(out["sv"][0]) == 5
    assert out["sv"][0][0] == pytest.approx(out["unperturbed_sv"][0])
    # one shifted constant would move the top singular value along the all-ones direction
    # only; a Gaussian matrix moves every sample differently
    assert len({round(v, 9) for v in out["sv"][1][1:]}) == 4


def test_perturbation_summary_reads_the_rise_and_the_samples_below_the_centre() -> None:
    scales = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    losses = [2.0, 1.0, 3.0, 1.5, 4.0, 5.0, float("nan"), 6.0, 7.0, 20.0, 40.0]
    summary = landscape.perturbation_summary(scales, losses)
    # the largest tenth of the scales (>= 0.9): 20 and 40, median 30 over 2.0
    assert summary == {"center": 2.0, "rise_at_max_scale": 15.0, "below_center": 0.2}
    # a centre of zero loss has no ratio
    assert landscape.perturbation_summary([0.0, 1.0], [0.0, 1.0])["rise_at_max_scale"] is None


# --- grok-tui analyze on real runs -----------------------------------------------------

ANALYZE_FAST = ["--landscape-points", "5", "--perturb-samples", "12"]


def train(tmp_path: Path, overrides: list[str], name: str = "run") -> store.RunDir:
    preset_path = tmp_path / f"{name}.toml"
    preset_path.write_text(TINY_PRESET)
    preset = load_preset(preset_path, overrides)
    run = store.create_run(preset, tmp_path / "runs")
    code, _ = runner.execute(preset, run)
    assert code == 0
    return run


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory: pytest.TempPathFactory) -> store.RunDir:
    """A tiny MLP on (x + y) mod 23, 50 steps, weights kept every 10 steps."""
    return train(
        tmp_path_factory.mktemp("mlp"),
        ["data.p=23", "train.steps=50", "train.keep_checkpoint_every=10", "train.eval_every=10"],
    )


@pytest.fixture(scope="module")
def analysed(mlp_run: store.RunDir) -> dict:
    """`grok-tui analyze` with figures (in this process: an exception would raise here);
    its analysis.json as written then."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["analyze", str(mlp_run.path), *ANALYZE_FAST])
    assert code == 0, err.getvalue()
    assert "Traceback" not in err.getvalue()
    return strict_json(analysis_path(mlp_run.path))


def strict_json(path: Path) -> dict:
    def no_constants(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)


@pytest.mark.slow  # the whole analysis, figures included
def test_analyze_writes_every_figure_and_a_valid_analysis_json(mlp_run, analysed) -> None:
    data = analysed
    assert data["schema"] == SCHEMA and read_analysis(mlp_run.path) is not None
    assert data["step"] == 50 and data["steps"] == [0, 10, 20, 30, 40, 50]
    if embeddings.tsne_available():
        assert set(data["figures"]) == EVERY_FIGURE
    for name in data["figures"].values():
        png = mlp_run.path / "analysis" / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(data["norms"]["checkpoints"]["layers"]) >= {"embedding.weight", "net.0.weight"}
    assert len(data["norms"]["checkpoints"]["param_norm"]) == 6
    assert len(data["fourier"]["over_time"]["energy_fraction"]) == 6
    assert len(data["fourier"]["frequencies"]) == 11
    assert len(data["embedding"]["pca"]["coords"]) == 23
    assert len(data["embedding"]["heatmap"]["initial"]) == 23
    assert data["nanda"]["step"] == data["steps"]
    layer = data["neurons"]["layers"]["net.1"]  # the MLP's one hidden layer (widths [32])
    assert layer["units"] == 32 and len(layer["dominant"]) == len(layer["share"]) == 32
    assert data["neurons"]["over_time"]["step"] == data["steps"]
    grid = data["landscape"]["grid"]
    assert len(grid["loss"]["train"]) == 5 and len(grid["loss"]["test"][0]) == 5
    assert data["landscape"]["perturbation"]["method"] == "gaussian_matrix"
    assert len(data["landscape"]["perturbation"]["sv"][0]) == 12
    perturbation = data["landscape"]["perturbation"]
    for split in ("train", "test"):
        losses = perturbation["loss"][split]
        summary = perturbation["summary"][split]
        assert summary["center"] == losses[0]
        assert summary["below_center"] == sum(v < losses[0] for v in losses[1:]) / 11


@pytest.mark.slow  # the whole analysis, figures included
def test_landscape_at_distance_zero_is_the_recorded_loss(mlp_run, analysed) -> None:
    data = analysed
    last = mlp_run.records()[-1]
    landscape_section = data["landscape"]
    centre = landscape_section["center"]
    assert centre["recorded_step"] == last["step"] == data["step"]
    grid = landscape_section["grid"]
    middle = grid["coords"].index(0.0)
    for split in ("train", "test"):
        assert centre[f"{split}_loss"] == pytest.approx(last[f"{split}_loss"], abs=1e-5)
        assert grid["loss"][split][middle][middle] == pytest.approx(last[f"{split}_loss"], abs=1e-5)


@pytest.mark.slow  # the whole analysis, figures included
def test_analyze_an_earlier_kept_step(mlp_run, analysed, capsys) -> None:
    code = analyze_main([str(mlp_run.path), "--step", "20", "--no-figures", *ANALYZE_FAST])
    assert code == 0, capsys.readouterr().err
    data = strict_json(analysis_path(mlp_run.path))
    assert data["step"] == 20 and data["figures"] == {}
    assert data["embedding"]["heatmap"]["step"] == 20


def test_a_step_that_was_not_kept_is_a_clear_error(mlp_run, capsys) -> None:
    assert analyze_main([str(mlp_run.path), "--step", "7"]) == 2  # an exception would raise
    err = capsys.readouterr().err
    assert "no weights kept at step 7" in err and "0, 10, 20, 30, 40, 50" in err


def test_a_run_without_weights_is_a_clear_error(tmp_path, capsys) -> None:
    preset = validate_preset({"model": {"type": "mlp", "widths": [8]}, "data": {"p": 7}})
    run = store.create_run(preset, tmp_path / "runs")
    assert analyze_main([str(run.path)]) == 2
    err = capsys.readouterr().err
    assert "no weights to analyse" in err and "keep_checkpoint_every" in err
    assert analyze_main([str(tmp_path / "nowhere")]) == 2
    assert "no run directory" in capsys.readouterr().err
    assert not (run.path / "analysis").exists()


def test_transformer_on_sub_gets_nanda_losses_and_ffn_perturbation(tmp_path, capsys) -> None:
    run = train(
        tmp_path,
        [
            "data.operation=sub",
            "data.include_op_tokens=true",
            "model={type='transformer', layers=1, d_model=16, heads=2, d_ff=32, norm='none'}",
            "train.steps=20",
            "train.keep_checkpoints=[10]",
        ],
    )
    assert analyze_main([str(run.path), "--no-figures", "--no-tsne", *ANALYZE_FAST]) == 0
    data = strict_json(analysis_path(run.path))
    assert data["embedding"]["source"] == "token_embedding.weight"
    assert data["nanda"]["direction"] == "x-y" and data["nanda"]["step"] == [0, 10, 20]
    assert data["landscape"]["perturbation"]["layers"] == [
        "blocks.0.ffn.net.0.weight",
        "blocks.0.ffn.net.2.weight",
    ]
    assert "t-SNE skipped (--no-tsne)" in data["notes"]
    assert set(data["neurons"]["layers"]) == {"blocks.0.ffn.net.1"}  # the FFN's activation
    assert data["neurons"]["layers"]["blocks.0.ffn.net.1"]["units"] == 32


def test_scalar_input_recurrent_model_says_it_has_no_embedding(tmp_path) -> None:
    run = train(
        tmp_path,
        [
            "data.operation=mul",
            "model={type='rnn', hidden_size=8, layers=1, input='scalar'}",
            "train.steps=10",
        ],
    )
    assert analyze_main([str(run.path), "--no-figures", *ANALYZE_FAST]) == 0
    data = strict_json(analysis_path(run.path))
    assert data["embedding"] is None and data["fourier"] is None and data["nanda"] is None
    assert any("no token embedding" in note for note in data["notes"])
    assert data["neurons"] is None and any("no activation layer" in n for n in data["notes"])
    assert data["steps"] == [0, 10]  # step 0 rebuilt from the seed, 10 from checkpoint.pt
    assert data["landscape"]["perturbation"]["layers"] == ["rnn.weight_hh_l0", "head.weight"]


def test_an_s5_run_is_analysed_without_the_z_p_sections(tmp_path) -> None:
    run = train(
        tmp_path,
        ["data.operation=s5_compose", "train.steps=10", "train.batch_size=256"],
    )
    assert run.summary()["status"] == "completed"
    assert analyze_main([str(run.path), "--no-figures", *ANALYZE_FAST]) == 0
    data = strict_json(analysis_path(run.path))
    assert data["embedding"] is None and data["fourier"] is None
    assert data["nanda"] is None and data["neurons"] is None
    assert any("S5 is not Z_p" in note for note in data["notes"])
    assert data["landscape"]["center"]["recorded_step"] == 10
