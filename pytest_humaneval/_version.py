"""The version, in a module of its own: modules that key verdicts by it import it without
importing the package's public surface."""

__version__ = "0.1.0"
