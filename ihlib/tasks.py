"""Iterative tasks (the paper's Algorithm 1), the shared vocabulary and the token layout.

A task is any finite map s_t = F(s_{t-1}, x_t).  Its chain-of-thought sequence is laid out as the paper's code
does it (0-indexed): ``[task, x_1..x_L, EoI, y_1..y_L, EoS]``, padded with EoS; without CoT only ``y_L`` follows
EoI.  Datasets are generated, never downloaded, from a seed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

EOS = 0
EOI = 1
#: The largest table of F a task may have (states x inputs entries): far beyond any task a transformer of this size
#: learns, small enough to allocate at once.
MAX_TABLE = 10**7


@dataclass(frozen=True)
class IterativeTask:
    """An iterative scheme s_t = F(s_{t-1}, x_t) over finite integer alphabets (Algorithm 1 of the paper).

    ``first`` gives y_1 from x_1 when the first step is special (polynomial iteration: y_1 = x_1); otherwise
    y_1 = F(initial_state, x_1).  F is tabulated once, so a map that leaves the state set fails at construction.
    """

    name: str
    inputs: tuple[int, ...]
    states: tuple[int, ...]
    step: Callable[[int, int], int] = field(compare=False, repr=False)
    initial_state: int = 0
    first: Callable[[int], int] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"task name must be a non-empty identifier, got {self.name!r}")
        if not self.inputs or not self.states:
            raise ValueError(f"task {self.name!r}: inputs and states must be non-empty")
        for v in (*self.inputs, *self.states):
            if not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"task {self.name!r}: symbols must be non-negative integers, got {v!r}")
        for what, symbols in (("inputs", self.inputs), ("states", self.states)):
            if len(set(symbols)) != len(symbols):
                repeated = sorted(v for v, n in Counter(symbols).items() if n > 1)
                raise ValueError(f"task {self.name!r}: {what} repeat {repeated}; list each symbol once")
        cells = (max(self.states) + 1) * (max(self.inputs) + 1)
        if cells > MAX_TABLE:
            raise ValueError(f"task {self.name!r}: symbols up to {max(*self.inputs, *self.states)} need a table of "
                             f"{cells:,} entries (at most {MAX_TABLE:,}); number the symbols 0, 1, 2, ...")
        state_set = set(self.states)
        self._checked(self.initial_state, "initial_state", state_set)
        table = np.zeros((max(self.states) + 1, max(self.inputs) + 1), dtype=np.int64)
        for s in self.states:
            for x in self.inputs:
                table[s, x] = self._checked(self.step(s, x), f"F({s}, {x})", state_set)
        first = np.zeros(max(self.inputs) + 1, dtype=np.int64)
        for x in self.inputs:
            value = self.first(x) if self.first is not None else table[self.initial_state, x]
            first[x] = self._checked(value, f"first({x})", state_set)
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_first", first)

    def _checked(self, value: int, what: str, state_set: set[int]) -> int:
        if value not in state_set:
            raise ValueError(f"task {self.name!r}: {what} = {value!r} is outside the state set {sorted(state_set)}")
        return int(value)

    def to_dict(self) -> dict:
        """The task as plain data (its tabulated F), so a config or checkpoint can rebuild a custom task."""
        table = [[int(self._table[s, x]) for x in self.inputs] for s in self.states]
        return {"name": self.name, "inputs": list(self.inputs), "states": list(self.states),
                "initial_state": self.initial_state, "table": table, "first": [int(self._first[x]) for x in self.inputs]}

    @classmethod
    def from_dict(cls, d: dict) -> "IterativeTask":
        """The task written by :meth:`to_dict`."""
        try:
            inputs, states = tuple(d["inputs"]), tuple(d["states"])
            step = {(s, x): d["table"][i][j] for i, s in enumerate(states) for j, x in enumerate(inputs)}
            first = dict(zip(inputs, d["first"]))
            return cls(d["name"], inputs, states, lambda s, x: step[s, x], d["initial_state"], lambda x: first[x])
        except (KeyError, IndexError, TypeError) as err:
            raise ValueError(f"not a task definition (see IterativeTask.to_dict): {err!r}") from None

    @property
    def n_symbols(self) -> int:
        """Number of value tokens this task needs (symbols are 0..n_symbols-1)."""
        return max(max(self.inputs), max(self.states)) + 1

    def run(self, x: np.ndarray) -> np.ndarray:
        """All states y_1..y_L for a batch of inputs ``x`` of shape (n, L): Algorithm 1, vectorised over n."""
        x = np.asarray(x, dtype=np.int64)
        y = np.empty_like(x)
        if x.shape[1] == 0:
            return y
        y[:, 0] = self._first[x[:, 0]]
        for t in range(1, x.shape[1]):
            y[:, t] = self._table[y[:, t - 1], x[:, t]]
        return y


def copy_task() -> IterativeTask:
    """Binary copy: y_t = x_t."""
    return IterativeTask("copy", (0, 1), (0, 1), lambda s, x: x)


def parity_task() -> IterativeTask:
    """Parity: y_t = x_1 + ... + x_t mod 2 (s_0 = 0, F = xor)."""
    return IterativeTask("parity", (0, 1), (0, 1), lambda s, x: s ^ x)


def polynomial_task(p: int = 11) -> IterativeTask:
    """Polynomial iteration P(X, Y) = XY + 1 over F_p: y_1 = x_1, y_t = y_{t-1} x_t + 1 mod p, x_t in 1..p-1."""
    if p < 2:
        raise ValueError(f"p must be at least 2, got {p}")
    return IterativeTask("polynomial", tuple(range(1, p)), tuple(range(p)), lambda s, x: (s * x + 1) % p,
                         first=lambda x: x)


BUILTIN_TASKS: dict[str, Callable[[], IterativeTask]] = {
    "copy": copy_task, "parity": parity_task, "polynomial": polynomial_task}


def get_task(name: str) -> IterativeTask:
    """A built-in task by name, with a clear error for unknown names."""
    if name not in BUILTIN_TASKS:
        raise ValueError(f"unknown task {name!r}; built-in tasks are {', '.join(BUILTIN_TASKS)}")
    return BUILTIN_TASKS[name]()


@dataclass(frozen=True)
class Vocabulary:
    """Token ids shared by several tasks: EoS, EoI, one token per task, then value tokens 0..n_values-1.

    The default holds all built-in tasks, so a model trained on one of them can be fine-tuned on another.
    """

    task_names: tuple[str, ...] = tuple(BUILTIN_TASKS)
    n_values: int = 11

    @property
    def size(self) -> int:
        return 2 + len(self.task_names) + self.n_values

    def task_token(self, name: str) -> int:
        if name not in self.task_names:
            raise ValueError(f"task {name!r} has no token in this vocabulary (tasks: {', '.join(self.task_names)})")
        return 2 + self.task_names.index(name)

    def value_token(self, v: np.ndarray | int) -> np.ndarray | int:
        return 2 + len(self.task_names) + v

    def check(self, task: IterativeTask) -> None:
        """Raise a clear error if ``task`` does not fit this vocabulary."""
        self.task_token(task.name)
        if task.n_symbols > self.n_values:
            raise ValueError(f"task {task.name!r} needs {task.n_symbols} value tokens, "
                             f"the vocabulary has {self.n_values}")

    def decode(self, token: int) -> str:
        """A short human-readable label for one token id."""
        if token == EOS:
            return "EoS"
        if token == EOI:
            return "EoI"
        if token < 2 + len(self.task_names):
            return f"<{self.task_names[token - 2]}>"
        return str(token - 2 - len(self.task_names))

    def to_dict(self) -> dict:
        return {"task_names": list(self.task_names), "n_values": self.n_values}

    def token_map(self, other: "Vocabulary") -> dict[int, int]:
        """token id here -> id of the same token (EoS, EoI, a task, a value) in ``other``, for tokens both have."""
        theirs = {other.decode(t): t for t in range(other.size)}
        return {t: theirs[label] for t in range(self.size) if (label := self.decode(t)) in theirs}

    @classmethod
    def for_tasks(cls, tasks: Sequence[IterativeTask]) -> "Vocabulary":
        """The default vocabulary extended with the names and symbols of ``tasks``."""
        names = list(BUILTIN_TASKS) + [t.name for t in tasks if t.name not in BUILTIN_TASKS]
        return cls(tuple(names), max([11] + [t.n_symbols for t in tasks]))


@dataclass(frozen=True)
class TaskMix:
    """Several tasks in one dataset: each length gets ``proportions`` of its sequences from each task."""

    tasks: tuple[IterativeTask, ...]
    proportions: tuple[float, ...]
    label: str = ""

    def __post_init__(self) -> None:
        if len(self.tasks) != len(self.proportions) or not self.tasks:
            raise ValueError("a mix needs one proportion per task")
        if any(p < 0 for p in self.proportions) or not np.isclose(sum(self.proportions), 1.0):
            raise ValueError(f"proportions must be non-negative and sum to 1, got {self.proportions}")

    @property
    def name(self) -> str:
        return self.label or "+".join(f"{t.name}:{p:g}" for t, p in zip(self.tasks, self.proportions))


def sequence_length(length: int, cot: bool = True) -> int:
    """Tokens in one sequence of input length L: 2L+3 with CoT, L+4 without."""
    return 2 * length + 3 if cot else length + 4


def encode(task: IterativeTask, vocab: Vocabulary, x: np.ndarray, cot: bool = True) -> np.ndarray:
    """Token ids for inputs ``x`` (n, L): ``[task, x.., EoI, y.. (or y_L), EoS]``."""
    vocab.check(task)
    n, length = x.shape
    if length < 1:
        raise ValueError("sequences need at least one input token")
    y = task.run(x)
    answer = y if cot else y[:, -1:]
    parts = [np.full((n, 1), vocab.task_token(task.name)), vocab.value_token(x), np.full((n, 1), EOI),
             vocab.value_token(answer), np.full((n, 1), EOS)]
    return np.concatenate(parts, axis=1).astype(np.int64)


def sample_inputs(task: IterativeTask, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` input sequences of length L drawn uniformly from the task's input alphabet."""
    return rng.choice(np.asarray(task.inputs), size=(n, length))


@dataclass
class SequenceSet:
    """Sequences of lengths 1..L_max stored in length order, padded with EoS to one width.

    ``tokens`` is (N, 2 L_max + 3) (CoT) and ``lengths`` (N,) holds each sequence's L; EoI sits at L + 1.
    """

    tokens: torch.Tensor
    lengths: torch.Tensor
    cot: bool

    @property
    def max_len(self) -> int:
        return int(self.lengths.max())

    def to(self, device: torch.device | str) -> "SequenceSet":
        return SequenceSet(self.tokens.to(device), self.lengths.to(device), self.cot)

    def select(self, mask: torch.Tensor) -> "SequenceSet":
        """The sequences where ``mask`` (N,) is true, e.g. those of one task of a mix (``tokens[:, 0] == token``)."""
        return SequenceSet(self.tokens[mask], self.lengths[mask], self.cot)

    def of_length(self, length: int) -> torch.Tensor:
        """The sequences of input length L, cut to their own 2L+3 (or L+4) tokens."""
        return self.tokens[self.lengths == length, : sequence_length(length, self.cot)]


def make_dataset(task: IterativeTask | TaskMix, max_len: int, n_per_length: int = 1024, seed: int = 0,
                 split: str = "train", cot: bool = True, vocab: Vocabulary | None = None) -> SequenceSet:
    """``n_per_length`` sequences for each L = 1..max_len, in length order, reproducible from (seed, split)."""
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    if n_per_length < 1:
        raise ValueError(f"n_per_length must be at least 1, got {n_per_length}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    vocab = vocab or Vocabulary()
    mix = task if isinstance(task, TaskMix) else TaskMix((task,), (1.0,))
    width = sequence_length(max_len, cot)
    rows, lengths = [], []
    for length in range(1, max_len + 1):
        rng = np.random.default_rng([seed, 0 if split == "train" else 1, length])
        counts = np.floor(np.asarray(mix.proportions) * n_per_length).astype(int)
        counts[np.argmax(mix.proportions)] += n_per_length - counts.sum()
        block = np.concatenate([encode(t, vocab, sample_inputs(t, c, length, rng), cot)
                                for t, c in zip(mix.tasks, counts)])
        if len(mix.tasks) > 1:
            block = block[rng.permutation(len(block))]
        padded = np.full((len(block), width), EOS, dtype=np.int64)
        padded[:, : block.shape[1]] = block
        rows.append(padded)
        lengths.append(np.full(len(block), length))
    return SequenceSet(torch.from_numpy(np.concatenate(rows)), torch.from_numpy(np.concatenate(lengths)), cot)


def parse_task(spec: str) -> IterativeTask | TaskMix:
    """A built-in task by name (``"parity"``) or a mix with proportions (``"copy:0.3+parity:0.7"``)."""
    if "+" not in spec and ":" not in spec:
        return get_task(spec)
    tasks, proportions = [], []
    for part in spec.split("+"):
        name, _, share = part.partition(":")
        try:
            proportions.append(float(share))
        except ValueError:
            raise ValueError(f"cannot read the proportion of {part!r} in task mix {spec!r} (write name:share)") from None
        tasks.append(get_task(name))
    return TaskMix(tuple(tasks), tuple(proportions), label=spec)
