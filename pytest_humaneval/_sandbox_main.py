"""Start the sandbox server (see :mod:`_sandbox`): ``python -s _sandbox_main.py [cpu]``.

The server is imported rather than run as a script: a script is compiled afresh at
every start, and the compiler leaves about 3 MB of memory behind that the zygote and
then every sample process would inherit, making each fork, page fault and exit dearer.
An imported module's bytecode is cached. Importing it drops this directory from
``sys.path`` again, so the plugin's modules never shadow the standard library.
"""

import _sandbox  # type: ignore[import-not-found]  # found beside this script at run time

_sandbox.main()
