"""The root conftest: only what must be here.

``pytest_plugins`` is honoured only in the rootdir's conftest, so pytester is loaded here.
The suite's fixtures are in ``tests/conftest.py`` and its helpers in ``tests/support/``:
``tests`` is then the one directory on ``sys.path`` that the test modules import from.
"""

pytest_plugins = ["pytester"]
