"""Development tooling of Tech Transfer Warehouse, apart from the runtime package ``ttw``:
the sample generator (:mod:`ttw_dev.generate`), the sample platform server, a generated
dataset landed and loaded (:mod:`ttw_dev.dataset`), the demo and the benchmarks, with their
commands (:mod:`ttw_dev.cli`). It imports ``ttw``; ``ttw`` never imports it.
"""

__version__ = "0.1.0"
