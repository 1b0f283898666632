"""footprint._json: the one conversion to JSON types used by every JSON writer."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from footprint._json import json_default, jsonable


def test_jsonable_turns_numpy_pandas_and_paths_into_plain_json():
    value = {
        1: np.float32(0.5), "arr": np.array([[1, 2], [3, 4]], dtype=np.int64), "nan": float("nan"),
        "inf": np.float64(np.inf), "na": pd.NA, "flag": np.bool_(True), "path": Path("/tmp/x"),
        "nested": ({"when": dt.date(2024, 6, 1)}, [np.int8(3)]),
    }
    out = jsonable(value)
    assert out == {"1": 0.5, "arr": [[1, 2], [3, 4]], "nan": None, "inf": None, "na": None, "flag": True,
                   "path": "/tmp/x", "nested": [{"when": "2024-06-01"}, [3]]}
    assert type(out["flag"]) is bool and type(out["arr"][0][0]) is int
    json.dumps(out, allow_nan=False)  # strictly valid JSON


def test_json_default_keeps_nan_for_writers_that_want_the_encoder_to_write_it():
    text = json.dumps({"x": float("nan"), "y": np.int64(2), "b": b"\xffok"}, default=json_default)
    assert text == '{"x": NaN, "y": 2, "b": "\\ufffdok"}'
    assert math.isnan(json.loads(text)["x"])
