"""What every table of a preset shares: its pydantic settings, and the limits on numbers
that more than one table bounds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

MAX_STEPS = 100_000_000
USER_INPUT = "user_input"  # validation context: the raw dict is what a user wrote
MAX_SEED = 2**63 - 1  # torch.manual_seed takes at most 2^64 - 1; the engine also seeds seed + 1

# Every float of a preset is finite: TOML reads `inf` and `nan`, and a bound such as
# ``eps > 0`` or ``weight_decay >= 0`` lets inf through (eps = inf "completes" a run whose
# weights never move). Set once for every section, so a float field added later is too.
PRESET_CONFIG = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class Section(BaseModel):
    """One table of a preset: an unknown field is an error, an assignment is validated."""

    model_config = PRESET_CONFIG
