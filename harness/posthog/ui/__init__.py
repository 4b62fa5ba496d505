"""The inspector's static page (issue 16): plain HTML, CSS and JavaScript shipped as package
data and served by :mod:`ctph_harness.posthog.ui_static` at ``/_ctph/ui/``. This file only
makes the folder a package setuptools ships; the server never serves names starting with
``_``."""
