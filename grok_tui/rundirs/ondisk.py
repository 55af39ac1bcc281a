"""What grok-tui reads back from disk, checked to its bounds before anything uses it.

Run directories, sweep folders, the queue file and lock files may come from someone else
(copied, unpacked, synced, crafted), so every JSON file the product reads is validated
here: summary.json (``RunSummary``), each line of metrics.jsonl (``MetricsRecord``),
sweep.json (``SweepInfo``), the identity in a lock file (``identity_problem``) and
analysis.json (``AnalysisFile``); queue.json's models (runqueue.py) use the bounded types
of this module. A value passes only when every reader can use it without raising:

- integers within what the code holds them in: steps and counts 0..2^63-1, any other
  integer within int64, a pid within pid_t (``os.kill`` raises OverflowError past it);
- floats finite where the code does arithmetic or formatting on them (accuracies in
  [0, 1], durations >= 0); nan and infinities only where every reader skips them (a
  diverged run's losses and norms, which the engine writes as they were);
- strings length-capped, containers of the right element types, bounded in length and,
  where they hold free JSON (a sweep's coordinates, fields of later versions), in depth.

A file that does not fit is reported as ``unreadable: <reason>`` by the listings and is
never used. Readers keep the dict they parsed: the models only check it. Light (pydantic
and the leaf errors.py, no torch): the TUI and ownership.py may import it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from grok_tui.errors import cut_text, one_line

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_PID = 2**31 - 1  # pid_t: os.kill raises OverflowError past it
MAX_TEXT = 64 * 1024  # characters of a free text (a label, a note of an analysis)
MAX_ERROR = 1024 * 1024  # a run's error: an exception's text, which its writer does not cut
MAX_ARG = 128 * 1024  # one argument of a command line (Linux's MAX_ARG_STRLEN)
MAX_NAME = 4096  # a name, a path or a host (PATH_MAX)
MAX_WORD = 256  # a status, a time stamp, a mode, a device
MAX_DIR_NAME = 255  # a directory name (NAME_MAX)
MAX_ITEMS = 1 << 20  # items of one list or table
MAX_POINTS = 100_000  # points of a sweep (a sweep file allows 10,000)
MAX_DEPTH = 32  # nesting of free JSON (the deepest file grok-tui writes has 6 levels)

Count = Annotated[int, Field(ge=0, le=INT64_MAX)]  # a step, a number of steps or items
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
Pid = Annotated[int, Field(ge=1, le=MAX_PID)]
Finite = Annotated[float, Field(allow_inf_nan=False)]  # strict: an int is taken too
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]  # an accuracy
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
Word = Annotated[str, StringConstraints(max_length=MAX_WORD)]
DirName = Annotated[str, StringConstraints(max_length=MAX_DIR_NAME)]


# -- free JSON: bounded without knowing its shape -----------------------------------------


def json_problem(value: Any, depth: int = MAX_DEPTH) -> str | None:
    """Why a parsed JSON value is out of bounds (an integer outside int64, a string over
    MAX_TEXT, a list or table over MAX_ITEMS, nesting deeper than ``depth``), or None.

    Iterative, so a deep value costs no recursion; scalars of a list are checked inline.
    """
    stack: list[tuple[Any, int, str]] = [(value, 0, "")]
    while stack:
        item, level, where = stack.pop()
        if isinstance(item, dict):
            if level >= depth:
                return f"nested deeper than {depth} levels{_at(where)}"
            if len(item) > MAX_ITEMS:
                return f"a table of more than {MAX_ITEMS:,} entries{_at(where)}"
            for key, child in item.items():
                if not isinstance(key, str) or len(key) > MAX_NAME:
                    return f"a key longer than {MAX_NAME:,} characters{_at(where)}"
                if isinstance(child, dict | list):
                    stack.append((child, level + 1, f"{where}.{key[:40]}"))
                elif problem := _scalar_problem(child):
                    return problem + _at(f"{where}.{key[:40]}")
        elif isinstance(item, list):
            if level >= depth:
                return f"nested deeper than {depth} levels{_at(where)}"
            if len(item) > MAX_ITEMS:
                return f"a list of more than {MAX_ITEMS:,} items{_at(where)}"
            for index, child in enumerate(item):
                if isinstance(child, dict | list):
                    stack.append((child, level + 1, f"{where}[{index}]"))
                elif problem := _scalar_problem(child):
                    return problem + _at(f"{where}[{index}]")
        elif problem := _scalar_problem(item):
            return problem + _at(where)
    return None


def _scalar_problem(item: Any) -> str | None:
    if item is None or isinstance(item, bool | float):
        return None
    if isinstance(item, int):
        return None if INT64_MIN <= item <= INT64_MAX else "an integer out of the 64-bit range"
    if isinstance(item, str):
        if len(item) > MAX_TEXT:
            return f"a text longer than {MAX_TEXT:,} characters"
        if not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:  # "\ud800" in JSON: no file or terminal takes it
                return "a text with a lone surrogate, not Unicode"
        return None
    return f"a {type(item).__name__}, not a JSON value"


def _at(where: str) -> str:
    return f" (at {where.lstrip('.')})" if where.lstrip(".") else ""


def _bounded_json(value: Any) -> Any:
    if problem := json_problem(value):
        raise ValueError(problem)
    return value


Json = Annotated[Any, AfterValidator(_bounded_json)]


def _exact_length(name: str, items: list[Any], length: int) -> None:
    if len(items) != length:
        raise ValueError(f"{name} holds {len(items)} items, not {length}")


class Untrusted(BaseModel):
    """Read from disk: types are checked strictly; fields not named pass through, bounded."""

    model_config = ConfigDict(strict=True, extra="allow", defer_build=True)
    __pydantic_extra__: dict[str, Json]


# -- lock identity --------------------------------------------------------------------------


class LockIdentity(Untrusted):
    """A process as its owner recorded it: in a lock file, and a summary's ``owner``."""

    host: Name
    pid: Pid
    started: Word | None = None
    cmdline: Annotated[
        list[Annotated[str, StringConstraints(max_length=MAX_ARG)]],
        Field(max_length=MAX_ITEMS),
    ] = []


def identity_problem(data: Any) -> str | None:
    """Why a lock file's (or a summary's) identity is not one whose fields every reader can
    use (ownership.Identity.from_dict takes it only then), or None."""
    if not isinstance(data, dict):
        return f"holds a {type(data).__name__}, not an object"
    return problem(LockIdentity, data)


# -- run directories ------------------------------------------------------------------------


class MetricsRecord(Untrusted):
    """One line of metrics.jsonl: the run's state at one evaluation.

    Losses and norms may be nan or infinite (a diverged run writes them as they were;
    every reader skips what is not finite); accuracies are fractions.
    """

    __pydantic_extra__: dict[str, Any]  # progress measures (measures.py): checked below

    step: Count
    epoch: NonNegative | None = None
    train_loss: float | None = None
    train_acc: Fraction | None = None
    test_loss: float | None = None
    test_acc: Fraction | None = None
    lr: Finite | None = None
    param_norm: float | None = None
    grad_norm: float | None = None
    elapsed_s: NonNegative | None = None

    @model_validator(mode="before")
    @classmethod
    def _measures_are_numbers(cls, data: Any) -> Any:
        """Every other field is a progress measure: a number (or null) within int64. One
        loop here, not a validator per field: a run has millions of records."""
        if isinstance(data, dict):
            for key, value in data.items():
                if not isinstance(key, str) or len(key) > MAX_NAME:
                    raise ValueError(f"a key longer than {MAX_NAME:,} characters")
                if key in cls.model_fields or value is None or isinstance(value, bool | float):
                    continue
                if not isinstance(value, int):
                    raise ValueError(f"{str(key)[:40]}: a {type(value).__name__}, not a number")
                if not INT64_MIN <= value <= INT64_MAX:
                    raise ValueError(f"{str(key)[:40]}: an integer out of the 64-bit range")
        return data


class FinalFigures(Untrusted):
    """A summary's ``final``: the last record's accuracies and losses."""

    __pydantic_extra__: dict[str, float | None]

    train_acc: Fraction | None = None
    test_acc: Fraction | None = None
    train_loss: float | None = None
    test_loss: float | None = None


class SweepTag(Untrusted):
    """A summary's ``sweep``: the sweep a run is a point of, and its coordinates."""

    id: Name | None = None
    index: Count | None = None
    coords: dict[Name, Json] | None = None


class RunSummary(Untrusted):
    """summary.json: the fields that readers rely on, with their types and bounds (others
    pass through, bounded as free JSON)."""

    status: Word = "unknown"
    name: Name | None = None
    run_id: DirName | None = None
    step: Count = 0
    steps: Count | None = None
    epoch: Count | None = None
    pid: Pid | None = None
    host: Name | None = None
    owner: LockIdentity | None = None
    fit_step: Count | None = None
    grok_step: Count | None = None
    grok_gap: Int64 | None = None  # grok_step - fit_step: test may get there first
    grok_step_precision: Count | None = None
    best_test_acc: Fraction | None = None
    best_test_acc_step: Count | None = None
    final: FinalFigures | None = None
    elapsed_s: NonNegative | None = None
    steps_per_s: NonNegative | None = None
    checkpoint_step: Count | None = None
    error: Annotated[str, StringConstraints(max_length=MAX_ERROR)] | None = None
    device: Word | None = None
    device_name: Name | None = None
    created_at: Word | None = None
    started_at: Word | None = None
    ended_at: Word | None = None
    updated_at: Word | None = None
    resumes: Annotated[list[dict[Name, Json]], Field(max_length=MAX_ITEMS)] | None = None
    sweep: SweepTag | None = None
    group: dict[Name, Json] | None = None


# -- sweep.json ------------------------------------------------------------------------------

# What a run id in sweep.json may be: a name that store.new_run_id makes, inside the sweep
# directory. A crafted "../elsewhere" or "/tmp/x" would send training outside it.
RUN_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$"


class SweepPointEntry(Untrusted):
    """One point of sweep.json: its number, coordinates, label and run directory."""

    index: Count = 0
    coords: dict[Name, Json] | None = None
    label: Text | None = None
    run_id: Annotated[str, StringConstraints(pattern=RUN_ID_PATTERN)] | None = None


class SweepInfo(Untrusted):
    """sweep.json: id, name, mode, axes (field -> values), zip groups and the points."""

    id: DirName | None = None
    name: Name | None = None
    file: Name | None = None
    mode: Word = "grid"
    axes: dict[Name, Annotated[list[Json], Field(max_length=MAX_POINTS)]] | None = None
    zip: Annotated[list[list[Name]], Field(max_length=MAX_POINTS)] | None = None
    overrides: dict[Name, Json] | None = None
    points: Annotated[list[SweepPointEntry], Field(max_length=MAX_POINTS)] | None = None
    created: Word | None = None
    vectorize: Annotated[int, Field(ge=0, le=MAX_PID)] | Word | None = None


# -- analysis.json ---------------------------------------------------------------------------
# What the TUI's analysis views read (tui/analysis_view.py, widgets/analysis_plot.py),
# with the shapes they index: a projection has p points of two coordinates, a spectrum
# one energy per frequency, a landscape a square grid, a perturbation two singular values
# per sample. analysis.json holds finite numbers only (report.json_ready writes null for
# the others), and steps are counts.

Steps = Annotated[list[Count], Field(max_length=MAX_ITEMS)]
Curve = Annotated[list[Finite | None], Field(max_length=MAX_ITEMS)]
NormCurve = Annotated[list[NonNegative | None], Field(max_length=MAX_ITEMS)]
Matrix = Annotated[list[Curve], Field(max_length=MAX_ITEMS)]
Point2 = Annotated[list[Finite], Field(min_length=2, max_length=MAX_ITEMS)]
FrequencyKey = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]


def _square(matrix: list[list[Any]], name: str) -> None:
    if any(len(row) != len(matrix) for row in matrix):
        raise ValueError(f"{name} is not a square grid")


class RecordNorms(Untrusted):
    step: Steps
    param_norm: NormCurve
    grad_norm: NormCurve


class KeptNorms(Untrusted):
    step: Steps
    param_norm: NormCurve
    layers: dict[Name, NormCurve]


class NormsSection(Untrusted):
    records: RecordNorms
    checkpoints: KeptNorms


class FourierOverTime(Untrusted):
    step: Steps
    concentration: Curve
    key_fraction: Curve


class FourierSection(Untrusted):
    frequencies: Annotated[list[Int64], Field(max_length=MAX_ITEMS)]
    energy_fraction: Annotated[list[Finite], Field(max_length=MAX_ITEMS)]
    key_frequencies: Annotated[list[Int64], Field(max_length=MAX_ITEMS)]
    top_k: Int64
    concentration: Finite
    concentration_uniform: Finite
    over_time: FourierOverTime

    @model_validator(mode="after")
    def _one_energy_per_frequency(self) -> FourierSection:
        _exact_length("energy_fraction", self.energy_fraction, len(self.frequencies))
        return self


class ProjectionSection(Untrusted):
    coords: Annotated[list[Point2], Field(max_length=MAX_ITEMS)]


class EmbeddingHeatmap(Untrusted):
    columns: Int64
    step: Json
    initial_step: Json
    final: Matrix
    initial: Matrix


class EmbeddingSection(Untrusted):
    p: Annotated[int, Field(ge=1, le=MAX_ITEMS)]
    link_step: Int64
    pca: ProjectionSection
    tsne: ProjectionSection | None = None
    heatmap: EmbeddingHeatmap

    @model_validator(mode="after")
    def _a_point_per_number(self) -> EmbeddingSection:
        _exact_length("pca.coords", self.pca.coords, self.p)
        if self.tsne is not None:
            _exact_length("tsne.coords", self.tsne.coords, self.p)
        return self


class NandaSection(Untrusted):
    key_frequencies: Annotated[list[Int64], Field(max_length=MAX_ITEMS)]
    step: Steps
    train_loss: Curve
    test_loss: Curve
    restricted_loss: Curve
    excluded_loss: Curve

    @model_validator(mode="after")
    def _a_loss_per_step(self) -> NandaSection:
        for name in ("train_loss", "test_loss", "restricted_loss", "excluded_loss"):
            _exact_length(name, getattr(self, name), len(self.step))
        return self


class NeuronLayer(Untrusted):
    clusters: dict[FrequencyKey, Count]
    clustered_fraction: Finite


class NeuronExample(Untrusted):
    layer: Name
    unit: Int64
    frequency: Int64
    share: Finite
    grid: Matrix


class NeuronsSection(Untrusted):
    threshold: Finite
    layers: dict[Name, NeuronLayer]
    example: NeuronExample | None = None
    over_time: dict[Name, Curve]

    @model_validator(mode="after")
    def _steps_over_time(self) -> NeuronsSection:
        if "step" not in self.over_time:
            raise ValueError("over_time has no step")
        return self


class SplitGrids(Untrusted):
    train: Matrix
    test: Matrix

    @model_validator(mode="after")
    def _square_grids(self) -> SplitGrids:
        _square(self.train, "train")
        _square(self.test, "test")
        return self


class LandscapeGrid(Untrusted):
    span: Finite
    loss: SplitGrids


class SplitCurves(Untrusted):
    train: Curve
    test: Curve


class PerturbationSection(Untrusted):
    sv: Annotated[list[Curve], Field(min_length=2, max_length=2)]
    loss: SplitCurves
    unperturbed_sv: Point2
    layers: Annotated[list[Name], Field(min_length=2, max_length=MAX_ITEMS)]


class LandscapeSection(Untrusted):
    grid: LandscapeGrid
    perturbation: PerturbationSection


ANALYSIS_SCHEMA = "grok-tui.analysis/1"  # analysis/paths.py's SCHEMA


class AnalysisFile(Untrusted):
    """analysis.json: each section the views draw (null where it does not apply)."""

    schema_: Literal["grok-tui.analysis/1"] = Field(alias="schema")
    step: Count
    notes: Annotated[list[Text], Field(max_length=MAX_ITEMS)] = []
    events: dict[Name, Int64 | Finite | None] | None = None
    norms: NormsSection
    fourier: FourierSection | None = None
    embedding: EmbeddingSection | None = None
    nanda: NandaSection | None = None
    neurons: NeuronsSection | None = None
    landscape: LandscapeSection | None = None


# -- checking ----------------------------------------------------------------------------


def problem(model: type[BaseModel], data: Any) -> str | None:
    """Why ``data`` is not a valid ``model`` ('step: Input should be ...'), or None."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return validation_reason(exc)
    except RecursionError:  # pragma: no cover - json_problem bounds the depth first
        return "nested too deeply"
    return None


def validation_reason(exc: ValidationError) -> str:
    """The first problem of a validation error in one short line: 'step: Input should be
    ...'; a crafted key is cut, so that the reason never floods a listing."""
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part)[:40] for part in err.get("loc", ()) if not _is_tag(part))
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    text = f"{where}: {message}" if where else message
    return cut_text(one_line(text), 300)  # a key may hold a newline


def _is_tag(part: Any) -> bool:
    """Whether a part of an error's place names a member of a union ('constrained-int',
    'function-after[...]'), not a field or an index of the file."""
    return isinstance(part, str) and (part.startswith(("constrained-", "function-")))
