"""Task values and the token layout of the paper, with and without CoT."""

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ihlib.tasks import (EOI, EOS, IterativeTask, TaskMix, Vocabulary, copy_task, encode, get_task, make_dataset,
                         parity_task, parse_task, polynomial_task, sequence_length)
from ihlib.config import TrainConfig
from ihlib.train import train

VOCAB = Vocabulary()
bits = st.lists(st.integers(0, 1), min_size=1, max_size=20)


def values(tokens):
    return np.asarray(tokens) - VOCAB.value_token(0)


@given(bits)
def test_parity_is_a_running_xor(x):
    y = parity_task().run(np.array([x]))[0]
    assert list(y) == list(np.cumsum(x) % 2)


@given(bits)
def test_copy_copies(x):
    assert list(copy_task().run(np.array([x]))[0]) == x


@given(st.lists(st.integers(1, 10), min_size=1, max_size=20))
def test_polynomial_recurrence(x):
    y = polynomial_task().run(np.array([x]))[0]
    assert y[0] == x[0]
    for t in range(1, len(x)):
        assert y[t] == (y[t - 1] * x[t] + 1) % 11


@settings(max_examples=30)
@given(st.sampled_from(["copy", "parity", "polynomial"]), st.integers(1, 12), st.booleans())
def test_layout(name, length, cot):
    task = get_task(name)
    rng = np.random.default_rng(0)
    x = rng.choice(np.array(task.inputs), size=(3, length))
    seq = encode(task, VOCAB, x, cot)
    assert seq.shape == (3, sequence_length(length, cot))
    assert (seq[:, 0] == VOCAB.task_token(name)).all()
    assert (values(seq[:, 1:length + 1]) == x).all()
    assert (seq[:, length + 1] == EOI).all() and (seq[:, -1] == EOS).all()
    y = task.run(x)
    answer = values(seq[:, length + 2:-1])
    assert (answer == (y if cot else y[:, -1:])).all()


def test_dataset_is_seeded_padded_and_length_ordered():
    a = make_dataset(parity_task(), 5, 16, seed=3)
    b = make_dataset(parity_task(), 5, 16, seed=3)
    test = make_dataset(parity_task(), 5, 16, seed=3, split="test")
    assert (a.tokens == b.tokens).all() and not (a.tokens == test.tokens).all()
    assert a.tokens.shape == (5 * 16, 2 * 5 + 3)
    assert (a.lengths.diff() >= 0).all()
    short = a.of_length(2)
    assert short.shape == (16, 7)
    assert (a.tokens[a.lengths == 2][:, 7:] == EOS).all()


def test_mix_proportions_and_task_tokens():
    mix = parse_task("copy:0.25+parity:0.75")
    assert isinstance(mix, TaskMix) and mix.name == "copy:0.25+parity:0.75"
    data = make_dataset(mix, 3, 100)
    first = data.tokens[:, 0]
    assert int((first == VOCAB.task_token("copy")).sum()) == 3 * 25
    assert int((first == VOCAB.task_token("parity")).sum()) == 3 * 75


def test_custom_task_and_vocabulary():
    mod3 = IterativeTask("sum_mod3", (0, 1, 2), (0, 1, 2), lambda s, x: (s + x) % 3)
    vocab = Vocabulary.for_tasks([mod3])
    assert vocab.task_token("sum_mod3") == 5 and vocab.task_token("parity") == Vocabulary().task_token("parity")
    seq = make_dataset(mod3, 4, 8, vocab=vocab).of_length(4)
    x = seq[:, 1:5].numpy() - vocab.value_token(0)
    assert (seq[:, 6:10].numpy() - vocab.value_token(0) == np.cumsum(x, axis=1) % 3).all()


@pytest.mark.parametrize("task", [copy_task(), parity_task(), polynomial_task(),
                                  IterativeTask("sq7", (1, 2, 3), tuple(range(7)), lambda s, x: (s * s + x) % 7, 2)],
                         ids=lambda t: t.name)
def test_a_task_round_trips_through_its_definition(task):
    again = IterativeTask.from_dict(json.loads(json.dumps(task.to_dict())))
    x = np.random.default_rng(0).choice(task.inputs, size=(50, 9))
    assert again == task and again.to_dict() == task.to_dict() and (again.run(x) == task.run(x)).all()


def test_mix_rows_report_each_task_accuracy():
    run = train(TrainConfig(task="copy:0.5+parity:0.5", max_len=3, n_per_length=16, dim=16, batch_size=16, epochs=1,
                            eval_every=1), device="cpu", progress=False)
    row = run.history[-1]
    equal_shares_mean = (row["test_accuracy_copy"] + row["test_accuracy_parity"]) / 2
    assert row["test_accuracy"] == pytest.approx(equal_shares_mean)


@pytest.mark.parametrize("bad", [
    lambda: IterativeTask.from_dict({"name": "x", "inputs": [0, 1]}),
    lambda: IterativeTask("bad", (0, 1), (0, 1), lambda s, x: s + x),
    lambda: get_task("sorting"),
    lambda: parse_task("copy:half+parity:0.5"),
    lambda: TaskMix((copy_task(),), (0.5,)),
    lambda: make_dataset(parity_task(), 0),
    lambda: make_dataset(parity_task(), 4, 0),
    lambda: Vocabulary().check(IterativeTask("new", (0,), (0,), lambda s, x: 0)),
    lambda: Vocabulary().check(IterativeTask("copy", (0, 1), tuple(range(20)), lambda s, x: x)),
])
def test_bad_input_is_a_clear_value_error(bad):
    with pytest.raises(ValueError):
        bad()


def test_outside_state_set_message():
    with pytest.raises(ValueError, match=r"F\(1, 1\) = 2 is outside the state set"):
        IterativeTask("bad", (0, 1), (0, 1), lambda s, x: s + x)


def test_repeated_symbols_and_an_initial_state_outside_the_states_are_refused():
    with pytest.raises(ValueError, match=r"inputs repeat \[1\]"):
        IterativeTask("dup", (0, 1, 1), (0, 1), lambda s, x: x)
    with pytest.raises(ValueError, match=r"states repeat \[0\]"):
        IterativeTask("dup", (0, 1), (0, 0, 1), lambda s, x: x)
    with pytest.raises(ValueError, match="need a table of"):
        IterativeTask("huge", (0, 10**6), (0, 10**6), lambda s, x: x)
    with pytest.raises(ValueError, match="initial_state = 5 is outside"):
        IterativeTask("init", (0, 1), (0, 1), lambda s, x: x, initial_state=5, first=lambda x: x)
