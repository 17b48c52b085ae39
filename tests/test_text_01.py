"""Chapter 1's text against the library: the recurrences it states hold, the training set is laid out and ordered as
it says, and the numbers its prose gives (sizes, lengths, counts) are the library's."""

import numpy as np

from booktext import says
from ihlib.config import TrainConfig
from ihlib.engine import batch_plan
from ihlib.presets import CPU_RECIPE, PAPER
from ihlib.tasks import (EOS, Vocabulary, encode, make_dataset, parity_task, polynomial_task,
                         sequence_length)


def test_the_recurrences_hold_on_a_large_sample():
    rng = np.random.default_rng(0)
    poly = polynomial_task()
    x = rng.choice(np.array(poly.inputs), size=(2000, 16))
    y = poly.run(x)
    assert (y[:, 0] == x[:, 0]).all() and (y[:, 1:] == (y[:, :-1] * x[:, 1:] + 1) % 11).all()
    bits = rng.integers(0, 2, size=(2000, 16))
    assert (parity_task().run(bits) == np.cumsum(bits, axis=1) % 2).all()
    says("01", "$y_1 = x_1$, $y_t = y_{t-1} x_t + 1 \\bmod 11$", "$y_t = x_1 + \\dots + x_t \\bmod 2$")


def test_the_training_set_is_stored_in_length_order_and_padded_to_one_width():
    cfg = TrainConfig()
    data = make_dataset(polynomial_task(), max_len=PAPER.max_len, n_per_length=cfg.n_per_length)
    width = sequence_length(PAPER.max_len)
    assert width == 2 * PAPER.max_len + 3 and data.tokens.shape == (PAPER.max_len * cfg.n_per_length, width)
    assert data.lengths[:: cfg.n_per_length].tolist() == list(range(1, PAPER.max_len + 1))
    assert (data.tokens[data.lengths == 1, sequence_length(1):] == EOS).all()  # the rest is EoS padding
    says("01", f"for each length $L = 1..L_{{max}}$, {cfg.n_per_length} sequences drawn uniformly",
         f"$L_{{max}}$ is {PAPER.max_len} in the paper, {CPU_RECIPE.max_len} at this book's `cpu` scale",
         "$2L_{max}+3$ tokens with CoT", f"at the paper's $L_{{max}} = {PAPER.max_len}$")


def test_every_epoch_sees_the_short_sequences_first_and_no_batch_mixes_lengths():
    cfg = TrainConfig()
    assert cfg.order == "length" and cfg.n_per_length % cfg.batch_size == 0
    lengths = make_dataset(polynomial_task(), max_len=4, n_per_length=cfg.n_per_length).lengths
    plan = batch_plan(cfg, lengths, epoch=3)
    assert all(len(set(lengths[idx].tolist())) == 1 for idx, _ in plan)
    assert [int(lengths[idx[0]]) for idx, _ in plan] == sorted(int(lengths[idx[0]]) for idx, _ in plan)
    says("01", f"a batch of {cfg.batch_size} never mixes two lengths", "every epoch sees the short sequences first")


def test_the_counts_of_why_cot_helps():
    poly = polynomial_task()
    assert len(poly.inputs) == 10 and len(poly.states) == 11
    says("01", f"the {len(poly.states)} answers", "$10^L$ sequences",
         f"${len(poly.states)} \\times {len(poly.inputs)}$ pairs")


def test_a_state_and_an_input_share_one_token():
    vocab, poly = Vocabulary(), polynomial_task()
    seq = encode(poly, vocab, np.array([[3, 5, 2, 7]]))[0]
    assert seq[1] == seq[6] == vocab.value_token(3)  # x_1 = 3 and y_1 = x_1
    says("01", "a `3` among the inputs and a `3` among the states are the same token")
