"""SYNTHETIC reference data for CAR-West / CAR-East and neighbours, with an exact density.

No public CAR stone-level data exists, so the project ships a synthetic
reference set built from the published figures in ``shared/DOMAIN.md``; every
generator parameter sits in ``footprint/data/synth_params.json`` with its
source or the word "estimate". Everything written here is labelled SYNTHETIC.

- :func:`load_params` reads the parameters;
- :func:`generate_reference` / :func:`generate_parcels` draw stones and test
  parcels (with truth);
- :func:`write_reference_set` writes the bundled demo set (by default of the
  bundled size, :data:`BUNDLED_LOTS_PER_SITE` lots of
  :data:`BUNDLED_STONES_PER_LOT` stones a site; stones CSV, JCAMP-DX spectra,
  PNG photos, parcels, truth);
- :func:`generate_realistic` / :func:`write_realistic_set` draw the
  "realistic" variant (parageneses per site, correlated multimodal nitrogen,
  delta13C and %B, lot-to-lot drift) with its exact :class:`RealisticDensity`;
- :class:`ExactDensity` gives log p(stone | site), log p(stone | zone) and the
  site-aware log p(parcel | zone), and the Bayes ceilings.

Command line: ``footprint synth reference OUT_DIR``, ``footprint synth parcels
OUT_DIR`` and ``footprint synth ceiling`` (see ``footprint synth --help``).
"""

from ._density import ExactDensity, score_posteriors
from ._files import write_parcel_set, write_reference_set
from ._generate import (
    BUNDLED_LOTS_PER_SITE,
    BUNDLED_STONES_PER_LOT,
    FTIR_COLUMNS,
    STONE_COLUMNS,
    apply_missingness,
    generate_parcels,
    generate_reference,
    sample_site_stones,
)
from ._kpstats import generate_kp_stats, write_kp_stats  # SYNTHETIC KP statistics (issue 16)
from ._params import PriceShape, SiteParams, SynthParams, load_params
from ._realistic import RealisticDensity, RealisticSpec, generate_realistic, write_realistic_set

__all__ = [
    "BUNDLED_LOTS_PER_SITE",
    "BUNDLED_STONES_PER_LOT",
    "FTIR_COLUMNS",
    "STONE_COLUMNS",
    "ExactDensity",
    "RealisticDensity",
    "PriceShape",
    "RealisticSpec",
    "SiteParams",
    "SynthParams",
    "apply_missingness",
    "generate_kp_stats",
    "generate_parcels",
    "generate_realistic",
    "generate_reference",
    "load_params",
    "sample_site_stones",
    "score_posteriors",
    "write_kp_stats",
    "write_parcel_set",
    "write_reference_set",
    "write_realistic_set",
]
