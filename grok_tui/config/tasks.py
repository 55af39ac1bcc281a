"""The algorithmic tasks themselves: which operations exist, how big a task is, its tokens.

Plain arithmetic on a task's fields, below the schema: DataConfig validates with it,
the memory estimate sizes with it, and data.py builds the tensors from it.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Protocol

from grok_tui.config.errors import short_repr

OPERATIONS: dict[str, str] = {
    "add": "(x + y) mod p",
    "sub": "(x - y) mod p",
    "mul": "(x * y) mod p",
    "div": "(x * y^-1) mod p, y != 0",
    "x2_plus_y2": "(x^2 + y^2) mod p",
    "x2_plus_xy_plus_y2": "(x^2 + xy + y^2) mod p",
    "x3_plus_xy": "(x^3 + xy) mod p",
    "x3_plus_xy2_plus_y": "(x^3 + xy^2 + y) mod p",
    "x2_plus_xy_plus_y2_plus_x": "(x^2 + xy + y^2 + x) mod p",
    "div_odd_else_sub": "(x * y^-1) mod p if y is odd, else (x - y) mod p; y != 0",
    "sum": "(x_1 + ... + x_k) mod p",
    "s5_compose": "x o y in the permutation group S5 (120 elements; p is not used)",
    "s5_conjugate": "x o y o x^-1 in S5",
    "s5_xyx": "x o y o x in S5",
}
# Operations on the 120 permutations of 5 items (Power et al.'s S5 tasks), not on Z_p.
S5_OPERATIONS = ("s5_compose", "s5_conjugate", "s5_xyx")
S5_ORDER = 120
# Operations that divide by y: their tuples leave out y = 0, so there are p (p - 1).
DIVIDING = ("div", "div_odd_else_sub")
Operation = Literal[
    "add",
    "sub",
    "mul",
    "div",
    "x2_plus_y2",
    "x2_plus_xy_plus_y2",
    "x3_plus_xy",
    "x3_plus_xy2_plus_y",
    "x2_plus_xy_plus_y2_plus_x",
    "div_odd_else_sub",
    "sum",
    "s5_compose",
    "s5_conjugate",
    "s5_xyx",
]
MAX_EXAMPLES = 2_000_000  # the whole task lives on the device; beyond this it stops being "small"
MAX_P = math.isqrt(MAX_EXAMPLES)  # 1414: a task has p^2 tuples (p (p - 1) for 'div')


# Miller-Rabin with the first 13 prime bases decides every n below this bound exactly
# (Sorenson and Webster 2015: the smallest strong pseudoprime to all of them is 3.3e24).
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
MAX_PRIME_TESTED = 3_317_044_064_679_887_385_961_980


def is_prime(n: int) -> bool:
    """Whether n is prime, in bounded time for any int (trial division froze on 2^61 - 1).

    Deterministic Miller-Rabin up to MAX_PRIME_TESTED (3.3e24); larger n raise ValueError
    rather than give a probabilistic answer (a preset's p is bounded far below anyway).
    """
    if n < 2:
        return False
    if n > MAX_PRIME_TESTED:
        raise ValueError(f"{short_repr(n)} is too large to test (at most {MAX_PRIME_TESTED})")
    for q in _MR_BASES:
        if n % q == 0:
            return n == q
    s = ((n - 1) & (1 - n)).bit_length() - 1  # n - 1 = d * 2^s with d odd
    d = (n - 1) >> s
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def task_size_label(operation: Any, p: Any) -> str:
    """'p=97', or '(S5)' for the permutation tasks, which do not use p."""
    return "(S5)" if operation in S5_OPERATIONS else f"p={p}"


def task_elements(operation: str, p: int) -> int:
    """What one number token can stand for: p residues, or the 120 permutations of S5."""
    return S5_ORDER if operation in S5_OPERATIONS else p


def task_examples(operation: str, p: int, k: int) -> int:
    """Every operand tuple: p^2, p^k for 'sum', p (p - 1) for 'div' and its kin (no y = 0),
    120^2 for S5."""
    if operation in DIVIDING:
        return p * (p - 1)
    return task_elements(operation, p) ** (k if operation == "sum" else 2)


def train_size(n_examples: int, train_fraction: float) -> int:
    """Training examples of a split: floor(fraction * n), at least 1, leaving at least 1 to test.

    The epsilon keeps 0.29 * 100 = 28.999999999999996 at 29 examples.
    """
    return max(1, min(n_examples - 1, math.floor(train_fraction * n_examples + 1e-9)))


class Task(Protocol):
    """The fields of a task that its tokens depend on: a DataConfig, as far as this module
    needs to know (the schema is built on this module, not the other way round)."""

    @property
    def operation(self) -> str: ...
    @property
    def p(self) -> int: ...
    @property
    def k(self) -> int: ...
    @property
    def include_op_tokens(self) -> bool: ...
    @property
    def equals_token(self) -> bool: ...


def vocab_layout(data: Task) -> tuple[int, int]:
    """(vocabulary size, sequence length): numbers 0..n-1, then the operator and '=' tokens.

    n is p (120 for S5). '=' is token n + 1 after the operator n, or n when it comes alone
    ([x, y, =]).
    """
    n_operands = data.k if data.operation == "sum" else 2
    n = task_elements(data.operation, data.p)
    if data.include_op_tokens:
        return n + 2, 2 * n_operands  # x op y op ... =
    if data.equals_token:
        return n + 1, n_operands + 1  # x y ... =
    return n, n_operands
