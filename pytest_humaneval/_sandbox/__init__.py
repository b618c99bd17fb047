"""The sandbox: runs untrusted samples, each in a fresh confined process.

The server is started by :mod:`pytest_humaneval.runner` as ``python -s _sandbox_main.py``
with a clean environment, and imports this package as the top-level ``_sandbox``; the
pytest side imports only :mod:`.protocol` and :mod:`.tempfiles`, as
``pytest_humaneval._sandbox``. So every module here imports only the standard library
and, relatively, its siblings: nothing of pytest or of the rest of the plugin.

Three kinds of process:

* the *server* is the judge (trusted, :mod:`.server`, :mod:`.judge`): for each sample it
  runs the problem's test code and calls ``check(candidate)``, where ``candidate``
  forwards each call to the sample process, as does each helper the test takes from the
  sample's program (``encode_cyclic``). Only the judge can say "passed", and only after
  ``check`` returned. The test code never leaves this process.
* the *zygote* (:mod:`.zygote`), forked by the server before it has seen any test code:
  it preloads common modules, applies the reference harness's guard, prepares the
  confinement (network namespace, Landlock ruleset, seccomp filter: :mod:`.confinement`)
  and forks one sample process per request.
* the *sample process* (untrusted, :mod:`.sample`): confines itself, runs prompt +
  completion (or the solution), tells the judge which names of its test it defined, then
  answers the judge's calls with plain data only (:mod:`.values`), so objects claiming
  equality with anything, patched builtins, early exits and fake output cannot change
  the verdict.

Besides a problem's test, the judge can judge by inputs as EvalPlus does (:mod:`.suites`:
each suite of inputs in a fresh sample process, each output compared in the judge by
:mod:`.inputs`), and compute the expected outputs from a canonical solution, run in a
sample process too.
"""
