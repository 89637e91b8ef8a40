"""Search-space files of ``lutnn explore``: valid spaces parse, every problem of an invalid one is listed at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from lutnn.explore.space import SpaceError, load_space, parse_space

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
[search]
trials = 5
objectives = ["accuracy", "lut6", "depth"]

[fixed]
"data.name" = "digits"
"train.epochs" = 3

[fixed.model]
k = 4

[params]
"model.layers" = { choices = [[20], [40, 20]] }
"train.lr" = { low = 0.001, high = 0.1, log = true }
"encoder.levels" = { low = 1, high = 4 }
"model.tau" = { low = 0.5, high = 2.0, step = 0.5 }
"train.teacher" = { choices = ["mlp", "none"] }

[params.encoder]
kind = { choices = ["thermometer", "quantile"] }
"""


def test_valid_space_parses_every_kind():
    sp = parse_space(GOOD, "good.toml")
    kinds = {p.name: p.kind for p in sp.params}
    assert kinds == {
        "model.layers": "categorical",
        "train.lr": "float",
        "encoder.levels": "int",
        "model.tau": "float",
        "train.teacher": "categorical",
        "encoder.kind": "categorical",
    }
    assert next(p for p in sp.params if p.name == "train.lr").log
    assert sp.base["model"]["k"] == 4 and sp.base["train"]["epochs"] == 3
    assert sp.options.objectives == ["accuracy", "lut6", "depth"] and sp.options.trials == 5
    # "none" is TOML's missing null: the key becomes None in the run config
    assert sp.config_dict({"train.teacher": "none"})["train"]["teacher"] is None
    assert sp.study_name == "good"


def test_every_problem_is_reported_at_once():
    bad = """
[search]
family = "cnn"
trials = 0
objectives = ["accuracy"]
colour = "red"

[fixed]
"train.epochs" = 3
"train.lr" = 0.01
"model.nodes" = 5

[params]
"train.lr" = { low = 0.1, high = 0.01 }
"model.k" = { low = 2, high = 8, log = true, step = 2 }
"encoder.levels" = { choices = [] }
"train.batch_size" = { low = 0, high = 64, log = true }
"data.name" = { choices = ["digits"], low = 1 }
"layers" = { choices = [[10]] }
"""
    with pytest.raises(SpaceError) as e:
        parse_space(bad, "bad.toml")
    msg = str(e.value)
    for part in (
        "family='cnn'",
        "trials=0",
        "objectives=['accuracy']",
        "unknown key 'colour'",
        "unknown key 'nodes'",
        "train.lr is both in [fixed] and in [params]",
        "low=0.1 must be below high=0.01",
        "log and step cannot be combined",
        "choices must be a non-empty list",
        "a log range needs low > 0",
        "choices cannot be combined",
        "'layers'",
    ):
        assert part in msg, part
    assert msg.count("\n  - ") >= 12  # one line per problem, all at once


def test_values_are_checked_by_the_run_config():
    sp = """
[fixed]
"data.name" = "digits"
[params]
"encoder.kind" = { choices = ["thermometer", "bogus"] }
"model.k" = { low = 2, high = 12 }
"""
    with pytest.raises(SpaceError) as e:
        parse_space(sp, "x.toml")
    msg = str(e.value)
    assert "encoder.kind = 'bogus' gives an invalid config" in msg
    assert "model.k = 12 gives an invalid config" in msg
    assert "encoder.kind = 'thermometer'" not in msg  # the good choice is not reported


def test_empty_params_and_bad_toml():
    with pytest.raises(SpaceError, match=r"\[params\] is empty"):
        parse_space('[fixed]\n"data.name" = "digits"\n', "e.toml")
    with pytest.raises(SpaceError, match="invalid TOML"):
        parse_space("[params\n", "t.toml")
    with pytest.raises(SpaceError, match="not found"):
        load_space("/nonexistent/space.toml")


def test_quantnet_family_keys():
    sp = parse_space(
        """
[search]
family = "quantnet"
[fixed]
"data.name" = "digits"
"model.in_bits" = 4
[params]
"model.hidden" = { choices = [[16], [32]] }
"train.lr" = { low = 0.001, high = 0.01, log = true }
""",
        "q.toml",
    )
    assert sp.options.family == "quantnet" and [p.name for p in sp.params] == ["model.hidden", "train.lr"]
    with pytest.raises(SpaceError, match="unknown key 'layers'"):
        parse_space('[search]\nfamily = "quantnet"\n[params]\n"model.layers" = { choices = [[1]] }\n', "q.toml")
    # values are checked by the quant config's own rules, every candidate at once
    bad = '[search]\nfamily = "quantnet"\n[fixed]\n"data.name" = "digits"\n"export.route" = "fast"\n'
    bad += '[params]\n"model.hidden" = { choices = [[16]] }\n"model.w_bits" = { low = 0, high = 4 }\n'
    with pytest.raises(SpaceError) as e:
        parse_space(bad, "q.toml")
    assert "export.route = 'fast'" in str(e.value)


@pytest.mark.parametrize(
    "name", ["digits.toml", "digits_long.toml", "mnist.toml", "mnist_quick.toml", "quant_digits.toml"]
)
def test_shipped_spaces_are_valid(name):
    sp = load_space(ROOT / "configs" / "explore" / name)
    assert sp.params and sp.options.family == ("quantnet" if name.startswith("quant") else "lutnet")


def test_pareto_front_keeps_exactly_the_non_dominated_points():
    from lutnn.explore.front import pareto

    pts = [(0.9, 500), (0.95, 800), (0.93, 900), (0.95, 700), (0.80, 300), (0.95, 700)]
    # (0.93, 900) is dominated by (0.95, 800); (0.95, 800) by (0.95, 700); the duplicate is kept once
    assert sorted(pareto(pts, [True, False])) == [0, 3, 4]


def test_retried_and_surplus_trials_do_not_count():
    optuna = pytest.importorskip("optuna")
    from optuna.trial import TrialState, create_trial

    from lutnn.explore.study import count_trials

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    st = optuna.create_study(directions=["maximize", "minimize"])
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    st.add_trial(create_trial(state=TrialState.COMPLETE, values=[0.9, 10], params={"x": 0.1}, distributions=dist))
    st.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.2}, distributions=dist))  # died, retried below
    st.add_trial(
        create_trial(
            state=TrialState.COMPLETE,
            values=[0.8, 5],
            params={"x": 0.2},
            distributions=dist,
            user_attrs={"retry_of": 1},
        )
    )
    st.add_trial(create_trial(state=TrialState.FAIL, user_attrs={"surplus": True}))
    st.add_trial(create_trial(state=TrialState.PRUNED, params={"x": 0.3}, distributions=dist))
    st.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.4}, distributions=dist))  # failed for good
    c = count_trials(st)
    assert (c.finished, c.complete, c.pruned, c.failed, c.running) == (4, 2, 1, 1, 0)
