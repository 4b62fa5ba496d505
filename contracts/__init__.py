"""PostHog contracts and the finding catalogue, shipped as data inside the wheel.

Nothing here is code: the JSON Schemas, the OpenAPI document and ``rules.json`` are read by the
checker, the fake server, the reports and the CLI through :mod:`ctph_harness.contract`.
``ctph-config.schema.json`` is the schema of ``ctph.toml`` / ``[tool.ctph]`` (read by
:mod:`ctph_harness.config`, and by editors for completion); it is not a PostHog contract, so it
sits outside ``schemas/``.
"""
