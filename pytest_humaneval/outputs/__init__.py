"""The session's outputs, one module each: the terminal section, the results file, the
JSON summary and the plot, all written through :mod:`.files`.

They may import the domain (model, tally, metrics, settings) but nothing that runs samples.
"""
