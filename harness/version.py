"""The one place ctph's version is written.

Read by the package root (``ctph_harness.__version__``), ``ctph --version``, the HTML report's
footer and, statically, by setuptools for the wheel's metadata (``pyproject.toml``'s
``[tool.setuptools.dynamic]``), so the four can never disagree. Keep it a plain string literal:
setuptools reads it without importing the package.
"""

__version__ = "0.1.0"
