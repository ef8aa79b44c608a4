"""vae_course.drills.codec: observations survive JSON unchanged; anything else is refused."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from vae_course import drills
from vae_course.drills import codec
from vae_course.drills.code_drill import CodeDrill

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

CODE_DRILLS = [d for d in drills.all_drills() if isinstance(d, CodeDrill)]


def _through_json(observation):
    return codec.decode_observation(json.loads(json.dumps(codec.encode_observation(observation))))


@pytest.mark.parametrize("drill", CODE_DRILLS, ids=lambda d: d.id)
def test_verdicts_are_the_same_after_a_round_trip(drill):
    answers = [m.implementation for m in drill.mistakes[:4]]
    for answer in answers:
        direct = drill.judge(drill.observe(answer, 5), 5)
        sent = drill.judge(_through_json(drill.observe(answer, 5)), 5)
        assert (sent.status, sent.score, sent.feedback) == (
            direct.status,
            direct.score,
            direct.feedback,
        )


def test_values_round_trip():
    value = {
        "a": np.arange(6.0).reshape(2, 3),
        "b": [1, 2.5, math.inf, None, True, "x"],
        "c": {"nested": np.float32(1.5)},
    }
    back = codec.decode_value(json.loads(json.dumps(codec.encode_value(value))))
    assert np.array_equal(back["a"], value["a"]) and back["a"].shape == (2, 3)
    assert (
        back["b"][:2] == [1, 2.5]
        and math.isinf(back["b"][2])
        and back["b"][3:]
        == [
            None,
            True,
            "x",
        ]
    )
    assert back["c"] == {"nested": 1.5}


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"outcomes": []},
        {
            "outcomes": {
                "p": {"kind": "tensor", "values": {"$": "array", "shape": [2], "data": "!!"}}
            }
        },
        {"outcomes": {"p": {"kind": "tensor", "values": {"$": "array", "shape": [3], "data": ""}}}},
        {"outcomes": {"p": {"kind": "tensor", "values": {"$": "pickle", "v": "gASV"}}}},
        {"outcomes": {"p": {"kind": 3}}},
        {"outcomes": {"p": {"kind": "t", "requires_grad": ["yes"]}}},
        {"outcomes": {"p": {"kind": "t", "call": {"timed_out": "no"}}}},
        {"measurements": {"$": "float", "v": "__import__('os')"}},
        {"not_attempted": "true"},
    ],
)
def test_malformed_observations_are_refused(data):
    with pytest.raises(codec.CodecError):
        codec.decode_observation(data)


def test_deep_nesting_and_huge_arrays_are_refused():
    deep = [0]
    for _ in range(100):
        deep = [deep]
    with pytest.raises(codec.CodecError):
        codec.decode_value(deep)
    huge = {"$": "array", "shape": [10**9], "data": "AAAA"}
    with pytest.raises(codec.CodecError):
        codec.decode_value(huge)
