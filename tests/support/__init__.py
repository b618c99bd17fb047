"""What the test modules share, apart from fixtures (those are in ``tests/conftest.py``).

Test modules import nothing from each other nor from ``conftest``: a helper that two of them
need lives here, once. ``problems`` has the demo set and the inputs built from it,
``sessions`` starts pytest sessions on them, ``results`` reads what a session printed or wrote.
"""
