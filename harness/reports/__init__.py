"""Run reports: data first, text last.

- :mod:`.model`: :class:`~.model.RunReport` and :class:`~.model.ItemReport`, built once from
  results, and the order every format shows findings in;
- one module per format, each a pure ``RunReport -> str`` (:mod:`.text`, :mod:`.json_v1`,
  :mod:`.junit`, :mod:`.markdown`, :mod:`.html`), every output passed through
  :func:`~ctph_harness.redact.printable` so no report can leak a key;
- :mod:`.formats`: the registry (format name and file suffix -> writer);
- :mod:`.output`: the one report-file writer, validated before a run and atomic, that both
  ``ctph verify --output`` and ``pytest --ctph-report`` use;
- :mod:`.rebuild`: a report rebuilt from JSON v1 dicts (results from pytest-xdist workers).

This module imports nothing, so loading the model (as an xdist worker does) loads no writer.
"""
