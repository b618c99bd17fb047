"""pytest-humaneval: functional-correctness evaluation of code samples as pytest items.

The public surface is what a test or a hook of a user may name: the sample a test gets
from the ``humaneval_sample`` fixture, the verdict its ``run()`` returns, and the
warning class (for ``-W`` and ``filterwarnings``). Everything else is internal.

Imports the three modules that define that surface.
"""

from pytest_humaneval._version import __version__
from pytest_humaneval.evaluation import HumanEvalSample
from pytest_humaneval.input_warnings import HumanEvalWarning
from pytest_humaneval.model import Verdict

__all__ = ["HumanEvalSample", "HumanEvalWarning", "Verdict", "__version__"]
