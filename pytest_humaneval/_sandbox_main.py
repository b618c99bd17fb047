"""Start the sandbox server (see :mod:`_sandbox.server`): ``python -s _sandbox_main.py [cpu]``.

Python puts this script's directory first on ``sys.path``, so the sandbox package beside
it imports as the top-level ``_sandbox``. The directory is dropped again before the
package's modules are imported (they find each other through the package): the plugin's
modules never shadow the standard library, and a sample finds none of them.

The server is imported rather than run as a script: a script is compiled afresh at
every start, and the compiler leaves about 3 MB of memory behind that the zygote and
then every sample process would inherit, making each fork, page fault and exit dearer.
An imported module's bytecode is cached.
"""

import os
import sys

import _sandbox  # type: ignore[import-not-found]  # the package alone (it imports nothing)

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry) != _HERE]

import _sandbox.server  # type: ignore[import-not-found]  # noqa: E402  # through the package now

_sandbox.server.main()
