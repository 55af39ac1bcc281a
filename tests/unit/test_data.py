"""The algorithmic tasks: exact labels, tuple counts, tokens, and the seeded split."""

from __future__ import annotations

import itertools

import pytest
import torch

from grok_tui.config import OPERATIONS, S5_OPERATIONS, DataConfig, vocab_layout
from grok_tui.training.data import (
    build_task,
    compute_labels,
    enumerate_operands,
    s5_permutations,
    split_indices,
    split_masks,
    split_task,
    tokenize,
)

P = 7

PLAIN = {
    "add": lambda x, y, p: (x + y) % p,
    "sub": lambda x, y, p: (x - y) % p,
    "mul": lambda x, y, p: (x * y) % p,
    "div": lambda x, y, p: (x * pow(y, p - 2, p)) % p,
    "x2_plus_y2": lambda x, y, p: (x**2 + y**2) % p,
    "x2_plus_xy_plus_y2": lambda x, y, p: (x**2 + x * y + y**2) % p,
    "x3_plus_xy": lambda x, y, p: (x**3 + x * y) % p,
    "x3_plus_xy2_plus_y": lambda x, y, p: (x**3 + x * y**2 + y) % p,
    "x2_plus_xy_plus_y2_plus_x": lambda x, y, p: (x**2 + x * y + y**2 + x) % p,
    "div_odd_else_sub": lambda x, y, p: (x * pow(y, p - 2, p)) % p if y % 2 else (x - y) % p,
}


def test_every_operation_is_tested():
    assert set(PLAIN) | {"sum"} | set(S5) == set(OPERATIONS) and set(S5) == set(S5_OPERATIONS)


def _compose(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a[b[i]] for i in range(5))


def _inverse(a: tuple[int, ...]) -> tuple[int, ...]:
    out = [0] * 5
    for i, v in enumerate(a):
        out[v] = i
    return tuple(out)


S5 = {
    "s5_compose": lambda a, b: _compose(a, b),
    "s5_conjugate": lambda a, b: _compose(_compose(a, b), _inverse(a)),
    "s5_xyx": lambda a, b: _compose(_compose(a, b), a),
}


@pytest.mark.parametrize("operation", sorted(S5))
def test_s5_labels_are_the_permutations_composed_by_hand(operation):
    data = DataConfig(operation=operation, include_op_tokens=False)
    perms = s5_permutations()
    assert len(perms) == len(set(perms)) == 120 and perms[0] == (0, 1, 2, 3, 4)
    operands = enumerate_operands(data)
    assert operands.shape == (120 * 120, 2) == (data.n_examples, 2)
    labels = compute_labels(operation, operands, data.p)
    index = {perm: i for i, perm in enumerate(perms)}
    expected = [index[S5[operation](perms[x], perms[y])] for x, y in operands.tolist()]
    assert labels.tolist() == expected


def test_s5_tokens_and_classes_count_120_elements_not_p():
    data = DataConfig(operation="s5_compose", p=7, include_op_tokens=True)
    assert vocab_layout(data) == (122, 4)  # 120 elements, then the operator and '='
    task = build_task(data)
    assert task.n_classes == 120 and task.vocab_size == 122
    assert int(task.train_x.max()) == 121 and set(task.train_x[:, 1].tolist()) == {120}


@pytest.mark.parametrize("operation", sorted(PLAIN))
def test_labels_equal_python_arithmetic_on_every_pair(operation):
    data = DataConfig(operation=operation, p=P)
    operands = enumerate_operands(data)
    labels = compute_labels(operation, operands, P)
    assert labels.dtype == torch.long
    expected = [PLAIN[operation](x, y, P) for x, y in operands.tolist()]
    assert labels.tolist() == expected


def test_sum_labels_equal_python_arithmetic_for_three_summands():
    data = DataConfig(operation="sum", p=P, k=3)
    operands = enumerate_operands(data)
    labels = compute_labels("sum", operands, P)
    assert labels.tolist() == [sum(t) % P for t in operands.tolist()]


def test_div_excludes_zero_divisor_and_inverts_mul():
    operands = enumerate_operands(DataConfig(operation="div", p=P))
    labels = compute_labels("div", operands, P)
    x, y = operands[:, 0], operands[:, 1]
    assert (y != 0).all()
    assert torch.equal(x, labels * y % P)


@pytest.mark.parametrize("operation", ["div", "div_odd_else_sub"])
def test_div_by_zero_is_refused(operation):
    with pytest.raises(ValueError, match="y = 0"):
        compute_labels(operation, torch.tensor([[3, 0]]), P)


def test_labels_do_not_overflow_for_the_largest_allowed_prime():
    p = 1409  # p^2 just under MAX_EXAMPLES
    operands = torch.tensor([[p - 1, p - 1], [p - 2, p - 3], [1234, 987]])
    for operation in ("x3_plus_xy", "x3_plus_xy2_plus_y", "div", "mul", "div_odd_else_sub"):
        labels = compute_labels(operation, operands, p).tolist()
        assert labels == [PLAIN[operation](x, y, p) for x, y in operands.tolist()]


@pytest.mark.parametrize(
    ("operation", "k", "count"),
    [
        ("add", 2, P**2),
        ("x3_plus_xy", 2, P**2),
        ("div", 2, P * (P - 1)),
        ("div_odd_else_sub", 2, P * (P - 1)),
        ("sum", 3, P**3),
        ("sum", 4, P**4),
    ],
)
def test_every_tuple_is_enumerated_once(operation, k, count):
    data = DataConfig(operation=operation, p=P, k=k)
    operands = enumerate_operands(data)
    assert operands.shape == (count, k)
    assert data.n_examples == count  # what config computes without torch (train.epochs)
    task = build_task(data.model_copy(update={"train_fraction": 0.3}))
    assert len(task.train_y) == data.model_copy(update={"train_fraction": 0.3}).n_train
    assert len(set(map(tuple, operands.tolist()))) == count
    assert operands.min() >= 0 and operands.max() < P


def test_tokens_with_op_tokens_interleave_operator_and_end_with_equals():
    data = DataConfig(operation="add", p=P)
    tokens = tokenize(torch.tensor([[3, 5]]), data)
    assert tokens.tolist() == [[3, P, 5, P + 1]]
    data = DataConfig(operation="sum", p=P, k=3)
    tokens = tokenize(torch.tensor([[1, 2, 6]]), data)
    assert tokens.tolist() == [[1, P, 2, P, 6, P + 1]]


def test_tokens_without_op_tokens_are_the_operands():
    data = DataConfig(operation="sum", p=P, k=3, include_op_tokens=False)
    operands = torch.tensor([[1, 2, 6], [0, 0, 4]])
    assert torch.equal(tokenize(operands, data), operands)


def test_tokens_with_equals_token_alone_end_with_p():
    data = DataConfig(operation="sum", p=P, k=3, include_op_tokens=False, equals_token=True)
    assert tokenize(torch.tensor([[1, 2, 6]]), data).tolist() == [[1, 2, 6, P]]
    assert vocab_layout(data) == (P + 1, 4)


@pytest.mark.parametrize(
    ("operation", "include_op_tokens", "equals_token"),
    [(*pair, False) for pair in itertools.product(["add", "div"], [True, False])]
    + [("add", False, True)],
)
def test_task_shapes_agree_with_vocab_layout(operation, include_op_tokens, equals_token):
    data = DataConfig(
        operation=operation,
        p=P,
        include_op_tokens=include_op_tokens,
        equals_token=equals_token,
    )
    task = build_task(data)
    vocab_size, seq_len = vocab_layout(data)
    assert (task.vocab_size, task.seq_len, task.n_classes) == (vocab_size, seq_len, P)
    for x, y in ((task.train_x, task.train_y), (task.test_x, task.test_y)):
        assert x.dtype == y.dtype == torch.long
        assert x.shape == (len(y), seq_len)
        assert x.min() >= 0 and x.max() < vocab_size
        assert y.min() >= 0 and y.max() < P


def test_sum_task_shapes_agree_with_vocab_layout():
    data = DataConfig(operation="sum", p=5, k=4)
    task = build_task(data)
    assert (task.vocab_size, task.seq_len) == vocab_layout(data) == (7, 8)
    assert len(task.train_x) + len(task.test_x) == 5**4


def test_task_labels_match_its_tokens():
    data = DataConfig(operation="sub", p=P, train_fraction=0.3)
    task = build_task(data)
    x = torch.cat([task.train_x, task.test_x])
    y = torch.cat([task.train_y, task.test_y])
    assert y.tolist() == [(a - b) % P for a, b in x[:, [0, 2]].tolist()]
    assert len(task.train_x) == int(0.3 * P * P)


def test_task_to_moves_every_tensor():
    task = build_task(DataConfig(p=P)).to("meta")
    assert all(
        t.device.type == "meta" for t in (task.train_x, task.train_y, task.test_x, task.test_y)
    )
    assert task.seq_len == 4


@pytest.mark.parametrize(
    ("n", "fraction", "n_train"),
    [(100, 0.3, 30), (100, 0.29, 29), (49, 0.5, 24), (10, 0.01, 1), (10, 0.99, 9)],
)
def test_split_sizes_are_floor_of_fraction_at_least_one_each(n, fraction, n_train):
    train, test = split_indices(n, fraction, split_seed=0)
    assert (len(train), len(test)) == (n_train, n - n_train)


def test_split_is_disjoint_and_covers_task():
    train, test = split_indices(200, 0.4, split_seed=3)
    assert sorted(torch.cat([train, test]).tolist()) == list(range(200))


def test_split_depends_on_split_seed_only():
    torch.manual_seed(0)
    a_train, _ = split_indices(500, 0.5, split_seed=1)
    torch.manual_seed(12345)
    torch.rand(10)
    b_train, _ = split_indices(500, 0.5, split_seed=1)
    c_train, _ = split_indices(500, 0.5, split_seed=2)
    assert torch.equal(a_train, b_train)
    assert not torch.equal(a_train, c_train)


def test_split_does_not_consume_the_global_generator():
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    split_indices(100, 0.5, split_seed=0)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("operation", "k", "modulus", "residue", "fraction"),
    [("add", 2, 2, 0, 0.4), ("div", 2, 7, 3, 0.5), ("sum", 3, 3, 1, 0.3)],
)
def test_a_residue_split_tests_exactly_the_held_out_class(operation, k, modulus, residue, fraction):
    data = DataConfig(
        operation=operation,
        p=P,
        k=k,
        train_fraction=fraction,
        split="residue",
        split_modulus=modulus,
        split_residue=residue,
        split_seed=5,
    )
    operands = enumerate_operands(data)
    train, test = split_task(data, operands)
    held = operands[:, 0] % modulus == residue
    assert sorted(test.tolist()) == held.nonzero().flatten().tolist()
    assert len(test) == data.n_held_out
    assert len(train) == data.n_train and len(set(train.tolist())) == len(train)
    assert not held[train].any()
    task = build_task(data)
    assert torch.equal(task.test_x[:, 0] % modulus, torch.full_like(task.test_y, residue))
    other = split_task(data.model_copy(update={"split_seed": 6}), operands)[0]
    assert torch.equal(split_task(data, operands)[0], train)
    assert not torch.equal(other, train)


def test_a_random_split_is_the_split_indices_cut():
    data = DataConfig(p=P, train_fraction=0.3, split_seed=2)
    train, test = split_task(data, enumerate_operands(data))
    expected = split_indices(P * P, 0.3, split_seed=2)
    assert torch.equal(train, expected[0]) and torch.equal(test, expected[1])


def test_split_masks_leave_a_residue_split_s_unused_tuples_out_of_the_test_set():
    data = DataConfig(p=P, train_fraction=0.3, split="residue", split_modulus=2)
    operands = enumerate_operands(data)
    train, test = split_masks(data, operands)
    assert torch.equal(test, operands[:, 0] % 2 == 0)
    assert int(train.sum()) == data.n_train and not (train & test).any()
    assert not (train | test).all()  # the tuples neither part took


@pytest.mark.parametrize("split", ["random", "residue"])
def test_test_size_samples_the_test_set_and_leaves_training_alone(split):
    full = DataConfig(operation="sum", k=3, p=P, train_fraction=0.3, split=split, split_seed=3)
    capped = full.model_copy(update={"test_size": 40})
    operands = enumerate_operands(full)
    train, test = split_task(full, operands)
    capped_train, sample = split_task(capped, operands)
    assert torch.equal(capped_train, train)
    assert len(sample) == 40 and set(sample.tolist()) <= set(test.tolist())
    assert sample.tolist() == sorted(sample.tolist(), key=test.tolist().index)  # its order
    assert torch.equal(split_task(capped, operands)[1], sample)  # the same sample every time
    reseeded = capped.model_copy(update={"split_seed": 4})
    assert not torch.equal(split_task(reseeded, operands)[1], sample)
    assert len(build_task(capped).test_y) == 40
    _, test_mask = split_masks(capped, operands)
    assert test_mask.nonzero().flatten().tolist() == sorted(sample.tolist())
    roomy = full.model_copy(update={"test_size": 10_000})  # more than there are: all of them
    assert torch.equal(split_task(roomy, operands)[1], test)


def test_test_size_must_be_positive():
    with pytest.raises(ValueError, match="test_size"):
        DataConfig(test_size=0)
