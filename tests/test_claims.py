"""The pre-registered claims as code: the measures, the seed rules, the chapter check, that ``ihlib.claims`` names
exactly the claims of ``book/expectations.md``, and that the page's result of each claim is what the shipped runs
give, with a link to the chapter that judges it."""

import dataclasses
import re
from pathlib import Path

import pytest

from ihlib import circuit, claims
from ihlib.claims import NEVER, epoch_to, head_epoch, median, rise
from ihlib.experiments import EXPERIMENTS
from ihlib.results import Result, Results

EXPECTATIONS = Path(__file__).parent.parent / "book" / "expectations.md"


def history(accuracy, l2=None, every=10, train=None, parity=None):
    """A fake history: one row per evaluation, ``every`` epochs apart, from epoch 0."""
    rows = []
    for i, a in enumerate(accuracy):
        rows.append({"epoch": i * every, "test_accuracy": a, "train_accuracy": a if train is None else train[i],
                     "peakiness_layer1": 0.5, "peakiness_layer2": a if l2 is None else l2[i],
                     "test_accuracy_parity": a if parity is None else parity[i]})
    return rows


def test_measures_follow_the_expectations_definitions():
    h = history([0.0, 0.1, 0.2, 0.5, 0.8, 0.92, 0.97, 0.99], l2=[0, 0, 0, 0.5, 0.8, 0.85, 0.91, 0.95])
    assert epoch_to(h) == 50 and epoch_to(h, 0.99) == 70 and epoch_to(h, 1.0) == NEVER
    assert head_epoch(h) == 60  # accuracy >= 0.95 and L2 >= 0.9 together
    assert rise(h) == 50 - 20  # first >= 0.9 minus the last evaluation before it below 0.3
    assert rise(history([0.1, 0.5, 0.2, 0.95])) == 30 - 20  # a dip below 0.3 restarts the rise
    assert rise(history([0.1, 0.5, 0.8])) is None  # never reaches 0.9: does not rise
    assert rise(history([0.95])) == 0
    # "none" counts as later than any epoch, in medians too
    assert median([10, NEVER, NEVER]) == NEVER and median([10, 20, NEVER]) == 20


def test_seeds_with_a_head_need_accuracy_and_l2_at_that_epoch():
    start = {2: history([0.5, 0.96], l2=[0.5, 0.95]), 0: history([0.5, 0.99], l2=[0.5, 0.91]),
             1: history([0.5, 0.99], l2=[0.5, 0.85]), 3: history([0.5, 0.94], l2=[0.5, 0.99])}
    assert claims.seeds_with_head(start, 10) == [0, 2]  # seed 1 lacks the L2, seed 3 the accuracy; sorted
    assert claims.seeds_with_head(start, 0) == []


def test_per_seed_counts_seeds_against_the_registered_rule():
    c = claims.per_seed("X1", "accuracy", ">= 0.95", [0.96, 0.94, 0.99], lambda a: a >= 0.95, 2, 3)
    assert c.holds and "2 of 3 pass" in c.measured and c.seeds == ">= 2 of 3"
    assert not claims.per_seed("X1", "accuracy", ">= 0.95", [0.96, 0.94], lambda a: a >= 0.95, 2, 3).holds
    epochs = claims.per_seed("X2", "epoch to 0.9", "<= 20", [5, NEVER], lambda e: e <= 20, 1, 2, epochs=True)
    assert epochs.measured.startswith("5, none")


def test_check_asserts_what_the_text_says():
    table = claims.Claims([claims.overall("X1", "s", "t", "all", "1", True),
                           claims.overall("X2", "s", "t", "all", "0", False)])
    assert claims.check(table, misses=["X2"]) is table
    with pytest.raises(AssertionError, match="X2 misses .* but the text says it holds"):
        claims.check(table)
    with pytest.raises(AssertionError, match="X1 holds .* but the text says it misses"):
        claims.check(table, misses=["X1", "X2"])
    with pytest.raises(KeyError, match="X9"):
        claims.check(table, misses=["X9"])
    assert table["X2"].measured == "0" and "**misses**" in table._repr_markdown_()


def test_a_claim_table_shows_comparisons_as_the_text_writes_them():
    c = claims.per_seed("X1", "rise (from < 0.3 to >= 0.9) at every L_max", "<= 50", [10, 60], lambda e: e <= 50, 1, 2,
                        epochs=True)
    shown = claims.Claims([c])._repr_markdown_()
    row = "| X1 | rise (from < 0.3 to ≥ 0.9) at every L<sub>max</sub> | ≤ 50 | ≥ 1 of 2 | 10, 60 (1 of 2 pass) |"
    assert row in shown
    assert ">=" not in shown and "<=" not in shown
    assert c.threshold == "<= 50" and c.seeds == ">= 1 of 2"  # only the display changes, never the claim


def fake_results(experiment: str, make, scale: str = "cpu") -> Results:
    """Every run of ``experiment`` at ``scale`` with the history ``make(name, config)``."""
    runs = EXPERIMENTS[experiment].runs(scale)
    return Results({name: Result(name, cfg, make(name, cfg)) for name, cfg in runs.items()})


def all_claims(make) -> claims.Claims:
    """Every chapter's claims on fake cpu-scale runs, all given the histories of ``make``."""
    r = {name: fake_results(name, make) for name in EXPERIMENTS}
    return claims.Claims([*claims.emergence(r["emergence"]), *claims.ablations(r["ablations"]),
                          *claims.weight_decay(r["weight_decay"], r["ablations"]),
                          *claims.width_length(r["width_length"], r["emergence"]),
                          *claims.positional(r["positional"]), *claims.data(r["data"], r["emergence"]),
                          *claims.transfer(r["transfer"], r["emergence"])])


def paper_claims(make) -> claims.Claims:
    """The paper scale's claims on fake runs, all given the histories of ``make``."""
    emergence, transfer, ablations = (fake_results(name, make, "paper") for name in ("emergence", "transfer",
                                                                                  "ablations"))
    return claims.Claims([*claims.paper_emergence(emergence), *claims.paper_transfer(transfer, emergence),
                          *claims.paper_more_seeds(emergence), *claims.paper_nocot(ablations)])


def test_the_code_names_exactly_the_pre_registered_claims():
    registered = re.findall(r"^\| ([A-Z]+\d+) \|", EXPECTATIONS.read_text(), flags=re.M)
    assert len(registered) == len(set(registered)) == 60
    found = [c.id for c in all_claims(lambda name, cfg: history([0.0, 1.0]))]
    found += [c.id for c in paper_claims(lambda name, cfg: history([0.0, 1.0] * 30, every=10))]
    found += [c.id for c in claims.circuit([measured("polynomial"), measured("parity")])]
    found += [c.id for c in claims.circuit_training({"a": {0: measured("polynomial")}}, {"a": history([0.0, 1.0])})]
    assert sorted(found) == sorted(registered)


def measured(task, head=True, **accuracy):
    """A fake mechanism measurement of one model, as the paper's story has it, with ``accuracy`` overriding."""
    chance = 1 / 11 if task == "polynomial" else 0.5
    acc = {"none": 1.0, "layer 2: one-hot on x_t": 1.0, "layer 2: uniform over the inputs": chance,
           "layer 1: one-hot on EoI": 1.0, "layer 1: its own mean pattern": 1.0, "layer 1: uniform": 0.2}
    acc.update(accuracy)
    probes = {(target, site): circuit.ProbeScore(1.0 if site != "embedding" else 0.3, 0.1)
              for target in ("t", "L") for site in circuit.PROBE_SITES}
    return circuit.Measured(f"{task} s0", task, chance, head,
                            circuit.Intervened(acc, {"one-hot on x_{t+1}": 0.9, "one-hot on x_{t-1}": 0.95}, {}, {}),
                            probes, {"follows the donor": 0.9, "unchanged (control)": 0.95})


def test_circuit_claims_count_every_model_with_a_head_and_need_both_tasks():
    table = claims.circuit([measured("polynomial"), measured("parity"), measured("parity", head=False, none=0.9)])
    assert [c.id for c in table if not c.holds] == []
    assert "2 of 2 pass" in table["M1"].measured  # the model without a head is not counted
    eoi = claims.circuit([measured("polynomial", **{"layer 1: one-hot on EoI": 0.3}), measured("parity")])
    assert [c.id for c in eoi if not c.holds] == ["M4"] and "polynomial s0 0.30" in eoi["M4"].measured
    assert all(not c.holds for c in claims.circuit([measured("polynomial")]))  # no parity model with a head


def test_circuit_training_claims_read_the_snapshot_before_the_rise():
    early = measured("polynomial", **{"none": 0.5, "layer 2: one-hot on x_t": 0.7})
    late = measured("polynomial", **{"none": 1.0, "layer 2: one-hot on x_t": 1.0})
    rise_at_20 = history([0.0, 0.5, 0.95, 1.0])
    table = claims.circuit_training({"run": {0: late, 10: early, 30: late}}, {"run": rise_at_20})
    assert [c.id for c in table if c.holds] == ["M12", "M13"] and "0.20" in table["M13"].measured  # epoch 10's
    never = claims.circuit_training({"run": {0: early}}, {"run": history([0.0, 0.5])})
    assert not any(c.holds for c in never)


def test_paper_claims_on_runs_that_do_what_the_expectations_say():
    """Fake paper-scale runs: polynomial seed 1 without a head (as measured), the others as the paper reports; the
    fine-tuning of seed 1 fails and does not count.  Then parity as fast as polynomial: S2 misses."""
    def expected(name, cfg, parity_rise=20):
        if not cfg.cot:  # polynomial without CoT at L_max 16: chance on the test set, memorised training set
            return history([0.09] * 31, train=[0.09 + 0.02 * i for i in range(31)])
        if cfg.init_from:
            fast = cfg.seed != 1 and not cfg.only_mlp2
            return history([0.5, 0.95 if fast else 0.5] + [0.99 if fast or cfg.seed != 1 else 0.5] * 24, every=2)
        if cfg.task == "polynomial":
            return history([0.0] * 13 + [0.95 if cfg.seed != 1 else 0.3] * 18,
                           l2=[0.0] * 13 + [0.95 if cfg.seed != 1 else 0.1] * 18)
        return history([0.0] * parity_rise + [0.8] * (51 - parity_rise), l2=[0.5] * 51)
    table = paper_claims(expected)
    assert [c.id for c in table if not c.holds] == []
    assert "s0: 2, s2: 2" in table["S5"].measured  # seed 1 had no head at epoch 200: not counted
    assert [c.id for c in paper_claims(lambda n, c: expected(n, c, parity_rise=10)) if not c.holds] == ["S2"]

    def late(name, cfg):  # polynomial seed 2 grows its head only after epoch 200: it does not count either
        if cfg.task == "polynomial" and cfg.seed == 2 and not cfg.init_from:
            return history([0.0] * 25 + [0.99] * 6, l2=[0.0] * 25 + [0.95] * 6)
        return expected(name, cfg)
    assert paper_claims(late)["S5"].measured.startswith("s0: 2 (1 of 1")
    no_heads = paper_claims(lambda name, cfg: history([0.3] * 51, l2=[0.1] * 51))
    assert not no_heads["S5"].holds and no_heads["S5"].measured.startswith("no such seed")


def test_a_paper_claim_waits_for_every_run_it_is_about():
    def make(name, cfg):
        return history([0.0] * 13 + [0.95] * 18)
    emergence = fake_results("emergence", make, "paper")
    polynomial_only = Results({k: v for k, v in emergence.items() if v.cell == "polynomial"})
    assert [c.id for c in claims.paper_emergence(polynomial_only)] == ["S1"]
    two = Results({k: v for k, v in polynomial_only.items() if v.seed < 2})
    assert claims.paper_emergence(two) == []
    assert [c.id for c in claims.paper_emergence(emergence)] == ["S1", "S2", "S3", "S4"]

    # transfer: which seeds count is known once the 3 polynomial runs are in; each claim then waits for its runs
    transfer = fake_results("transfer", make, "paper")
    def only(res: Results, names: set[str]) -> Results:
        return Results({k: v for k, v in res.items() if k in names})
    assert claims.paper_transfer(transfer, two) == []
    ids = lambda t, e: [c.id for c in claims.paper_transfer(t, e)]
    assert ids(only(transfer, {"finetune_all_s0", "finetune_all_s1"}), emergence) == []  # seed 2 has a head too
    all_weights = only(transfer, {f"finetune_all_s{s}" for s in range(3)})
    assert ids(all_weights, polynomial_only) == ["S5", "S6"]  # S8 waits for the parity runs from scratch
    assert ids(all_weights, emergence) == ["S5", "S6", "S8"]
    assert ids(transfer, polynomial_only) == ["S5", "S6", "S7"]
    assert ids(transfer, emergence) == ["S5", "S6", "S7", "S8"]


def test_claims_on_runs_that_do_what_the_expectations_say():
    """Fake runs built to meet each expectation: every claim holds; the same runs all at chance: most miss."""
    def expected(name, cfg):
        slow = [0.0] * 12 + [0.5, 0.95, 0.99, 0.99]
        if cfg.init_from:  # transfer: fast
            return history([0.5, 0.95, 0.99], every=1)
        if not cfg.cot:  # no CoT: polynomial memorises without decay, parity fits
            final = 0.95 if cfg.task == "parity" else 0.09
            return history([0.09, final], train=[0.0, final if cfg.task == "parity" or cfg.weight_decay else 0.5])
        if cfg.n_layers == 1 or (cfg.dim == 8 and cfg.pos_dim is None) or (cfg.pos_emb, cfg.pos_dim) == ("frozen", 4):
            return history([0.0, 0.3])
        if (cfg.pos_emb, cfg.pos_dim) == ("learned", 4) and cfg.weight_decay:  # P4: decay hurts learned positions
            return history([0.0, 0.5])
        if cfg.task == "parity":
            return history(slow + [0.99] * 4, l2=[0.5] * 20)
        return history([0.0] * 8 + [0.5, 0.95] + [0.99] * 10, l2=[0.0] * 9 + [0.95] * 11,
                       parity=[0.0] * 5 + [0.95] * 15)
    table = all_claims(expected)
    assert [c.id for c in table if not c.holds] == []
    at_chance = all_claims(lambda name, cfg: history([0.09] * 20, l2=[0.1] * 20))
    missed = {c.id for c in at_chance if not c.holds}
    assert {"E1", "E4", "E5", "W2", "T1", "T2", "A3", "A5", "WD1", "P1", "P3", "P4", "D2"} <= missed


def test_seed_mean_plain_and_as_the_authors_average():
    runs = [history([0.0, 0.5, 1.0]), history([0.2, 0.2, 0.2]), history([0.0, 1.0])]  # constant; one evaluation short
    mean, std, n = claims.seed_mean(runs, [0, 10, 20])
    assert n == 3 and list(mean.round(3)) == [0.067, 0.567, 0.733]  # the short run keeps its last value, 1.0
    mean, std, n = claims.seed_mean(runs, [0, 10, 20], authors=True)
    assert n == 2 and list(mean) == [0.0, 0.75, 0.75] and list(std) == [0.0, 0.25, 0.25]  # 0.5 for the missing one


def test_paper_nocot_claims_wait_for_the_three_runs_and_read_epoch_300():
    chance = lambda name, cfg: history([0.09] * 31, train=[0.5] * 31)
    ablations = fake_results("ablations", chance, "paper")
    table = claims.paper_nocot(ablations)
    assert [c.id for c in table if c.holds] == ["S11", "S12"]
    two = Results({k: v for k, v in ablations.items() if not k.endswith("_s2")})
    assert claims.paper_nocot(two) == []
    learned = claims.paper_nocot(fake_results("ablations", lambda n, c: history([0.5] * 31), "paper"))
    assert [c.id for c in learned if not c.holds] == ["S11", "S12"]


# --- the expectations page's result and chapter columns, against the shipped runs --------------------------------

CPU_EXPERIMENTS = ("emergence", "ablations", "weight_decay", "width_length", "positional", "data", "transfer")
PAPER_EXPERIMENTS = ("emergence", "transfer", "ablations")


def groups(cpu: dict[str, Results], paper: dict[str, Results]) -> dict[str, claims.Claims]:
    """Every claim group of ``ihlib.claims`` on runs (experiment -> Results, per scale), by function name, called as
    the chapters call them; M1-M13 are not here (they need the models: :func:`circuit_groups`)."""
    return {"emergence": claims.emergence(cpu["emergence"]), "ablations": claims.ablations(cpu["ablations"]),
            "weight_decay": claims.weight_decay(cpu["weight_decay"], cpu["ablations"]),
            "width_length": claims.width_length(cpu["width_length"], cpu["emergence"]),
            "positional": claims.positional(cpu["positional"]), "data": claims.data(cpu["data"], cpu["emergence"]),
            "transfer": claims.transfer(cpu["transfer"], cpu["emergence"]),
            "paper_emergence": claims.paper_emergence(paper["emergence"]),
            "paper_more_seeds": claims.paper_more_seeds(paper["emergence"]),
            "paper_transfer": claims.paper_transfer(paper["transfer"], paper["emergence"]),
            "paper_nocot": claims.paper_nocot(paper["ablations"])}


def fake_groups() -> dict[str, claims.Claims]:
    """Every group on fake runs (every run present), so that each group names all its claims."""
    make = lambda name, cfg: history([0.0, 1.0] * 30)
    return {**groups({e: fake_results(e, make) for e in CPU_EXPERIMENTS},
                     {e: fake_results(e, make, "paper") for e in PAPER_EXPERIMENTS}),
            "circuit": claims.circuit([measured("polynomial"), measured("parity")]),
            "circuit_training": claims.circuit_training({"a": {0: measured("polynomial")}}, {"a": history([0.0, 1.0])})}


def page_rows() -> dict[str, list[str]]:
    """The expectations page's claim rows: id -> cells (id, statistic, threshold, seeds, result, judged in)."""
    rows = {}
    for line in EXPECTATIONS.read_text().splitlines():
        if re.match(r"^\| ([A-Z]+\d+) \|", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells
    return rows


def page_result(cells: list[str]) -> str:
    return cells[4].strip("*")


def test_each_claim_links_the_chapter_that_judges_it():
    rows = page_rows()
    assert all(len(cells) == 6 for cells in rows.values()), "a claim row without its result and chapter"
    sources = sorted((Path(__file__).parent.parent / "book" / "src").glob("*.py"))
    for group, table in fake_groups().items():
        (src,) = [s for s in sources if f"claims.{group}(" in s.read_text()]  # the one chapter that evaluates it
        number = re.search(r"^# # (\w+)\.", src.read_text(), flags=re.M).group(1)  # its title's: "3", "4b"
        for c in table:
            assert rows[c.id][5] == f"[chapter {number}]({src.stem}.ipynb)", (c.id, rows[c.id][5])


def test_the_page_states_the_result_of_each_claim_on_the_shipped_runs(tmp_path, monkeypatch):
    """holds / misses as ``ihlib.claims`` evaluates it on the shipped runs; "waits for runs" for a claim whose runs
    are not all shipped yet (a paper-scale group then leaves it out). Fails when a newly shipped run decides one."""
    from booktext import shipped
    from ihlib.results import finished_results
    monkeypatch.setenv("IHLIB_RESULTS", str(tmp_path))  # the shipped runs only, never a local cache
    evaluated = groups({e: shipped(e, "cpu") for e in CPU_EXPERIMENTS},
                       {e: finished_results(e, "paper") for e in PAPER_EXPERIMENTS})
    outcome = {c.id: "holds" if c.holds else "misses" for table in evaluated.values() for c in table}
    rows = page_rows()
    for group, table in fake_groups().items():
        if group.startswith("circuit"):
            continue
        for c in table:
            assert page_result(rows[c.id]) == outcome.get(c.id, "waits for runs"), c.id
    assert {page_result(r) for r in rows.values()} == {"holds", "misses", "waits for runs"}
    assert all(r[4] == "**misses**" for r in rows.values() if page_result(r) == "misses")  # in bold, as chapters


def test_the_page_states_the_result_of_each_circuit_claim(tmp_path, monkeypatch):
    """M1-M11 miss whatever the interventions measure: no parity model has a head, and the rule needs one per task
    (so ideal measurements stand in for them here). M12-M13 are measured on the two snapshots they are about, as
    chapter 4b does (about 15 s on one thread)."""
    from booktext import shipped_run
    from ihlib import metrics
    from ihlib.results import finished_results
    monkeypatch.setenv("IHLIB_RESULTS", str(tmp_path))
    models = [(scale, task, seed) for scale, seeds in (("cpu", {"polynomial": 3, "parity": 1}),
                                                       ("paper", {"polynomial": 3, "parity": 3}))
              for task, n in seeds.items() for seed in range(n)]
    shipped = {scale: finished_results("emergence", scale) for scale in ("cpu", "paper")}
    heads = {}
    for scale, task, seed in models:  # the head as ihlib.circuit.measure reads it: at the last evaluation
        h = shipped[scale][f"{task}_s{seed}"].history
        heads[scale, task, seed] = claims.has_head(h, h[-1]["epoch"])
    assert not any(head for (_, task, _), head in heads.items() if task == "parity")  # what the page says
    ideal = [dataclasses.replace(measured(t), label=f"{s} {t} s{n}", head=heads[s, t, n]) for s, t, n in models]
    outcome = {c.id: "holds" if c.holds else "misses" for c in claims.circuit(ideal)}

    snapshots, histories = {}, {}
    for scale in ("cpu", "paper"):
        run = shipped_run("emergence", "polynomial_s0", scale)
        before = max(e for e in run.snapshots if e < metrics.first_epoch(run.history))  # the snapshot before the rise
        label = f"{scale} polynomial s0"
        snapshots[label], histories[label] = {before: circuit.measure(run, label, epoch=before)}, run.history
    outcome.update({c.id: "holds" if c.holds else "misses" for c in claims.circuit_training(snapshots, histories)})
    rows = page_rows()
    assert sorted(outcome) == sorted(i for i in rows if i.startswith("M"))
    assert {i: page_result(rows[i]) for i in outcome} == outcome
