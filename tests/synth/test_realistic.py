"""The realistic SYNTHETIC variant: labelled, exact density, parcels consistent with stones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import logsumexp

from footprint.exceptions import InputError
from footprint.synth._realistic import REALISTIC_FIELDS, RealisticDensity, RealisticSpec, generate_realistic


@pytest.fixture(scope="module")
def realistic():
    return generate_realistic(RealisticSpec(n_zones=3, sites_per_zone=2), seed=2, lots_per_site=3,
                              stones_per_lot=20)


def test_labelled_and_in_schema_ranges(realistic):
    stones, dens = realistic
    assert len(stones) == 6 * 3 * 20
    assert (stones["notes"].str.contains("SYNTHETIC")).all()
    assert stones["lot_id"].nunique() == 18 and set(stones["zone"]) == set(dens.zones)
    assert stones["d13c_permil"].between(-40, 10).all() or stones["d13c_permil"].isna().any()
    assert (stones["n_total_ppm"] > 0).all()
    assert stones["n_b_percent"].dropna().between(0, 100).all()
    # Parageneses: a broad, left-skewed delta13C reaching far below the peridotitic mode near -5 permil.
    d13c = stones["d13c_permil"].dropna()
    assert d13c.quantile(0.02) < -15 and -8 < d13c.median() < -2
    # Missing completely at random, at the spec's rates.
    assert 0.1 < stones["n_b_percent"].isna().mean() < 0.4


def test_parcel_of_one_stone_is_the_stone_density(realistic):
    """The quadrature over the lot share reproduces the closed-form Beta mean for single stones."""
    _, dens = realistic
    values, parcel, _ = dens.sample_parcels(40, 1, np.random.default_rng(0))
    np.testing.assert_allclose(dens.parcel_zone_loglik(values, parcel), dens.stone_zone_loglik(values),
                               atol=1e-6)


def test_missing_field_is_marginalised_exactly(realistic):
    """log p(N, %B | site) equals the delta13C integral of log p(N, d13C, %B | site)."""
    _, dens = realistic
    full = np.array([[250.0, -9.0, 35.0]])
    part = full.copy()
    part[0, 1] = np.nan
    got = dens.stone_site_loglik(part)[0, 0]

    def density(d13c: float) -> float:
        x = full.copy()
        x[0, 1] = d13c
        return float(np.exp(dens.stone_site_loglik(x)[0, 0]))

    integral, _ = quad(density, -60, 30, limit=200)
    assert got == pytest.approx(np.log(integral), abs=1e-5)


def test_density_integrates_to_one_in_one_field():
    dens = RealisticDensity(RealisticSpec(fields=("d13c_permil",)), seed=0)
    grid = np.linspace(-60, 30, 9001)
    values = np.full((len(grid), 3), np.nan)
    values[:, 1] = grid
    ll = dens.stone_site_loglik(values)
    mass = np.exp(logsumexp(ll, axis=0)) * (grid[1] - grid[0])
    np.testing.assert_allclose(mass, 1.0, atol=1e-4)


def test_parcels_favour_their_zone_more_than_stones(realistic):
    _, dens = realistic
    rng = np.random.default_rng(1)
    v1, p1, z1 = dens.sample_parcels(600, 1, rng)
    v25, p25, z25 = dens.sample_parcels(200, 25, rng)
    acc1 = np.mean(dens.parcel_zone_loglik(v1, p1).argmax(1) == z1)
    acc25 = np.mean(dens.parcel_zone_loglik(v25, p25).argmax(1) == z25)
    assert acc25 > acc1 + 0.2


def test_bad_spec_is_refused():
    with pytest.raises(InputError, match="fields must be among"):
        RealisticDensity(RealisticSpec(fields=("mass_ct",)))
    with pytest.raises(InputError, match="at least 2 zones"):
        RealisticDensity(RealisticSpec(n_zones=1))
    assert REALISTIC_FIELDS[0] == "n_total_ppm"


def test_cli_writes_the_realistic_variant(tmp_path):
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from footprint.cli import app

    out = tmp_path / "real"
    result = CliRunner().invoke(app, ["synth", "reference", str(out), "--variant", "realistic",
                                      "--lots-per-site", "2", "--stones-per-lot", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["synthetic"] is True and data["n_stones"] == 5 * 3 * 2 * 5
    first = (out / "stones.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# SYNTHETIC")
    stones = pd.read_csv(out / "stones.csv", comment="#")
    assert set(REALISTIC_FIELDS) <= set(stones.columns)
    bad = CliRunner().invoke(app, ["synth", "reference", str(tmp_path / "x"), "--variant", "odd"])
    assert bad.exit_code == 2
