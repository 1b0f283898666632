"""The package version, in a module of its own so low-level modules need not import the package root."""

__all__ = ["__version__"]

__version__ = "0.1.0"
