"""Algorithmic tasks: every operand tuple mod p, its exact label, its tokens, a seeded split.

The whole task is a handful of tensors small enough to live on the training device
(DESIGN.md rule 5): no DataLoader, batches are index gathers.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, replace

import torch

from grok_tui.config.schema import DataConfig
from grok_tui.config.tasks import DIVIDING, S5_OPERATIONS, train_size, vocab_layout


@functools.cache
def s5_permutations() -> tuple[tuple[int, ...], ...]:
    """The 120 permutations of (0..4) in lexicographic order: element i of S5 is the i-th."""
    return tuple(itertools.permutations(range(5)))


@functools.cache
def s5_tables() -> tuple[torch.Tensor, torch.Tensor]:
    """(compose, inverse): compose[a, b] is the index of a o b, (a o b)(i) = a(b(i)),
    and inverse[a] that of a^-1. Built once in Python (14,400 compositions)."""
    perms = s5_permutations()
    index = {perm: i for i, perm in enumerate(perms)}
    compose = torch.tensor(
        [[index[tuple(a[b[i]] for i in range(5))] for b in perms] for a in perms], dtype=torch.long
    )
    inverse = torch.tensor(
        [index[tuple(sorted(range(5), key=lambda i: a[i]))] for a in perms], dtype=torch.long
    )
    return compose, inverse


def n_operands(data: DataConfig) -> int:
    """How many numbers one example holds: k for 'sum', 2 for every binary operation."""
    return data.k if data.operation == "sum" else 2


def enumerate_operands(data: DataConfig) -> torch.Tensor:
    """Every operand tuple, (N, n_operands) int64, first operand slowest.

    N = p^2 (p^k for 'sum'); 'div' and 'div_odd_else_sub' leave out y = 0: N = p * (p - 1).
    """
    p = data.n_elements
    numbers = torch.arange(p, dtype=torch.long)
    if data.operation in DIVIDING:
        return torch.cartesian_prod(numbers, numbers[1:])
    return torch.cartesian_prod(*([numbers] * n_operands(data)))


def compute_labels(operation: str, operands: torch.Tensor, p: int) -> torch.Tensor:
    """The exact result of `operation` mod p for each row of operands (N, n) -> (N,) int64.

    Every product is reduced mod p before the next multiplication, so nothing overflows
    int64 for any p a preset allows (p^2 < 2^63 is all it needs).
    """
    operands = operands.long()
    if operation == "sum":
        return operands.sum(dim=1) % p
    if operation in S5_OPERATIONS:  # p is not used: the operands index S5's elements
        compose, inverse = s5_tables()
        x, y = operands[:, 0].cpu(), operands[:, 1].cpu()
        xy = compose[x, y]
        if operation == "s5_compose":
            out = xy
        elif operation == "s5_conjugate":
            out = compose[xy, inverse[x]]
        else:
            out = compose[xy, x]
        return out.to(operands.device)
    if operands.shape[1] != 2:
        raise ValueError(f"'{operation}' takes 2 operands, got {operands.shape[1]}")
    x, y = operands[:, 0], operands[:, 1]
    x2, y2 = x * x % p, y * y % p
    if operation == "add":
        return (x + y) % p
    if operation == "sub":
        return (x - y) % p  # torch's % takes the divisor's sign: always in 0..p-1
    if operation == "mul":
        return x * y % p
    if operation in DIVIDING:
        if bool((y % p == 0).any()):
            raise ValueError(f"{operation} is undefined for y = 0")
        # Fermat: y^(p-2) is y's inverse mod p; a p-entry table built once in Python.
        inverse = torch.tensor([pow(v, p - 2, p) for v in range(p)], dtype=torch.long)
        quotient = x * inverse[y % p] % p
        if operation == "div":
            return quotient
        # Power et al.'s x / y if y is odd, else x - y (y as the integer 1..p-1)
        return torch.where(y % 2 == 1, quotient, (x - y) % p)
    if operation == "x2_plus_y2":
        return (x2 + y2) % p
    if operation == "x2_plus_xy_plus_y2":
        return (x2 + x * y % p + y2) % p
    if operation == "x3_plus_xy":
        return (x2 * x % p + x * y % p) % p
    if operation == "x3_plus_xy2_plus_y":
        return (x2 * x % p + x * y2 % p + y) % p
    if operation == "x2_plus_xy_plus_y2_plus_x":
        return (x2 + x * y % p + y2 + x) % p
    raise ValueError(f"unknown operation '{operation}'")


def tokenize(operands: torch.Tensor, data: DataConfig) -> torch.Tensor:
    """Operand tuples (N, n) -> token sequences (N, seq_len) int64.

    Numbers are tokens 0..n-1 (n = p, or 120 for S5), the operator is n and '=' is n + 1
    (config.vocab_layout):
    with op tokens [x1, op, x2, op, ..., xn, =] (length 2n), without [x1, ..., xn], or
    with equals_token alone [x1, ..., xn, =] where '=' is n (length n + 1).
    """
    operands = operands.long()
    if not data.include_op_tokens:
        if data.equals_token:
            equals = torch.full_like(operands[:, :1], data.n_elements)
            return torch.cat([operands, equals], dim=1)
        return operands.clone()
    n_rows, n = operands.shape
    tokens = torch.full((n_rows, 2 * n), data.n_elements, dtype=torch.long, device=operands.device)
    tokens[:, 0::2] = operands
    tokens[:, -1] = data.n_elements + 1
    return tokens


def split_indices(
    n: int, train_fraction: float, split_seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) indices into 0..n-1: a random permutation cut at floor(fraction * n).

    The split has its own generator, so it depends on split_seed alone: changing
    train.seed (initialisation, batches) keeps the same examples in the test set.
    Both parts get at least one example.
    """
    if n < 2:
        raise ValueError(f"a train/test split needs at least 2 examples, got {n}")
    generator = torch.Generator().manual_seed(split_seed)
    perm = torch.randperm(n, generator=generator)
    n_train = train_size(n, train_fraction)
    return perm[:n_train], perm[n_train:]


def split_task(data: DataConfig, operands: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) indices of a task's operand tuples, as ``data.split`` says.

    'random' is split_indices. 'residue' tests on every tuple whose first operand is
    split_residue mod split_modulus and trains on data.n_train tuples drawn (by split_seed)
    from the others; the tuples left over belong to neither part, so that test accuracy is
    the held-out class's alone. ``data.test_size`` then samples the test part.
    """
    if data.split == "random":
        train, test = split_indices(len(operands), data.train_fraction, data.split_seed)
    else:
        held = operands[:, 0] % data.split_modulus == data.split_residue
        others = (~held).nonzero().flatten()
        generator = torch.Generator().manual_seed(data.split_seed)
        train = others[torch.randperm(len(others), generator=generator)[: data.n_train]]
        test = held.nonzero().flatten()
    return train, sample_test(test, data)


def sample_test(test: torch.Tensor, data: DataConfig) -> torch.Tensor:
    """The test indices, cut to ``data.test_size`` by a sample drawn from split_seed (in
    their original order); the tuples left out are in neither part, like a residue
    split's left-overs. Its own generator, so the training part does not change."""
    if data.test_size is None or len(test) <= data.test_size:
        return test
    generator = torch.Generator().manual_seed(data.split_seed + 1)
    keep = torch.randperm(len(test), generator=generator)[: data.test_size]
    return test[keep.sort().values]


def split_masks(data: DataConfig, operands: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, test) boolean masks over the operand tuples: a 'residue' split leaves some
    tuples in neither, so the test set is not the complement of the training set."""
    train, test = split_task(data, operands)
    masks = torch.zeros(2, len(operands), dtype=torch.bool)
    masks[0, train] = True
    masks[1, test] = True
    return masks[0], masks[1]


@dataclass(frozen=True)
class Task:
    """A split task as tensors: x (N, seq_len) int64 tokens, y (N,) int64 labels in 0..p-1."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    vocab_size: int
    seq_len: int
    n_classes: int

    def to(self, device: str | torch.device) -> Task:
        """The same task with every tensor on `device`."""
        return replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
        )


def build_task(data: DataConfig, device: str | torch.device = "cpu") -> Task:
    """Enumerate, label, tokenize and split a task; the result lives on `device`."""
    operands = enumerate_operands(data)
    labels = compute_labels(data.operation, operands, data.p)
    tokens = tokenize(operands, data)
    vocab_size, seq_len = vocab_layout(data)
    assert tokens.shape[1] == seq_len and int(tokens.max()) < vocab_size
    train, test = split_task(data, operands)
    task = Task(
        train_x=tokens[train],
        train_y=labels[train],
        test_x=tokens[test],
        test_y=labels[test],
        vocab_size=vocab_size,
        seq_len=seq_len,
        n_classes=data.n_elements,
    )
    return task.to(device)
