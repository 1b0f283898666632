"""Diamond FTIR spectra: units, the forward model, and nitrogen features.

The method follows QUIDDIT (Speich & Kohn 2020, Computers & Geosciences
144:104558), whose component spectra ship in ``footprint/data``.
"""

from ._analyse import analyse_files, analyse_spectra, derive_ftir_features, expand_paths, fit_details
from ._components import COMPONENT_NAMES, IIA_AT_1995_CM1, PPM_PER_CM1
from ._ftir import (
    FEATURE_COLUMNS,
    RECIPE_VERSION,
    FTIRMethod,
    prepare_spectrum,
)
from ._plot import plot_fit
from ._simulate import FTIRTruth, instrument_grid, simulate_from_truth, simulate_ftir
from ._units import CanonicalSpectrum, to_canonical

__all__ = [
    "expand_paths",
    "COMPONENT_NAMES",
    "FEATURE_COLUMNS",
    "IIA_AT_1995_CM1",
    "PPM_PER_CM1",
    "RECIPE_VERSION",
    "CanonicalSpectrum",
    "FTIRMethod",
    "FTIRTruth",
    "analyse_files",
    "analyse_spectra",
    "derive_ftir_features",
    "fit_details",
    "instrument_grid",
    "plot_fit",
    "prepare_spectrum",
    "simulate_from_truth",
    "simulate_ftir",
    "to_canonical",
]
