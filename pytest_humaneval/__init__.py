"""pytest-humaneval: functional-correctness evaluation of code samples as pytest items."""

__version__ = "0.1.0"
