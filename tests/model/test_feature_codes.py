"""Feature coding: vocabulary codes and booleans, whatever dtype the column arrives in."""

from __future__ import annotations

import numpy as np
import pandas as pd

from footprint._features import _boolean, _categorical


def test_categorical_codes_follow_the_vocabulary_and_leave_unknown_words_missing():
    vocabulary = ["gem", "near_gem", "industrial"]
    series = pd.Series(["industrial", None, "gem", "boart", "gem", np.nan], dtype=object)
    codes = _categorical(series, vocabulary)
    np.testing.assert_array_equal(codes, [2.0, np.nan, 0.0, np.nan, 0.0, np.nan])


def test_booleans_code_the_same_from_nullable_and_object_columns():
    nullable = pd.Series([True, False, None, True], dtype="boolean")
    as_text = pd.Series(["true", "false", None, "true"], dtype=object)
    as_python = pd.Series([True, False, None, 1], dtype=object)
    expected = [1.0, 0.0, np.nan, 1.0]
    for series in (nullable, as_text, as_python):
        np.testing.assert_array_equal(_boolean(series), expected)
