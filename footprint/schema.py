"""Public face of schema v1 (see :mod:`footprint._schema`)."""

from ._schema import (
    FIELD_KINDS,
    FIELDS,
    SCHEMA_VERSION,
    SIEVE_BANDS,
    Field,
    canonical_column,
    field_names,
    get_field,
    normalise_sieve,
    schema_document,
    sieve_band,
    sieve_to_mm,
    write_schema_json,
)

__all__ = [
    "FIELDS",
    "FIELD_KINDS",
    "SCHEMA_VERSION",
    "SIEVE_BANDS",
    "Field",
    "canonical_column",
    "field_names",
    "get_field",
    "normalise_sieve",
    "schema_document",
    "sieve_band",
    "sieve_to_mm",
    "write_schema_json",
]
