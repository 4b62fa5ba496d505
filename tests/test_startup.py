"""Start-up (issue 13): each ``ctph`` command imports only what it uses.

Every command runs in a fresh interpreter through ``ctph_harness.cli.main`` (what the console
script calls), on the bundled campaigns, and reports which heavy libraries ended up in
``sys.modules``. A render never touches a socket, so no HTTP client or server library loads;
profiles come from the shipped corpus, so faker never loads at run time; schemathesis is a
test-time tool; ctph shrinks failing profiles with its own shrinker, so hypothesis never loads.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGNS = ROOT / "fixtures" / "campaigns"
PAYLOADS = ROOT / "fixtures" / "payloads"
WATCHED = (
    "faker",
    "hypothesis",
    "schemathesis",
    "httpx",
    "httpcore",
    "werkzeug",
    "pytest_httpserver",
    "liquid",
    "multiprocessing",
    "tomlkit",
    "ctph_harness.clevertap.infer",
    "ctph_harness.clevertap.export",
)
NO_SOCKET = {"faker", "hypothesis", "schemathesis", "httpx", "httpcore", "werkzeug"}

_SNIPPET = """
import contextlib, io, json, sys
from ctph_harness.cli import main
with contextlib.redirect_stderr(io.StringIO()):
    code = main(json.loads(sys.argv[1]), out=io.StringIO())
print(json.dumps({"code": code, "loaded": [m for m in json.loads(sys.argv[2]) if m in sys.modules]}))
"""


def loaded_by(*argv: str) -> tuple[int, set[str]]:
    """Exit code and the watched modules loaded by ``ctph ARGV...`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", _SNIPPET, json.dumps(argv), json.dumps(WATCHED)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    return result["code"], set(result["loaded"])


@pytest.mark.parametrize(
    "argv",
    [
        ("render", str(CAMPAIGNS / "guide-purchase.json.liquid")),
        ("render", str(CAMPAIGNS / "corrected-identify.json.liquid"), "--seed", "3"),
        ("check", str(PAYLOADS)),
        ("rules",),
        ("explain", "CTPH124"),
    ],
    ids=["render", "render-seed", "check", "rules", "explain"],
)
def test_offline_commands_load_no_network_faker_or_hypothesis(argv: tuple[str, ...]) -> None:
    code, loaded = loaded_by(*argv)
    assert code in (0, 1)
    assert loaded & NO_SOCKET == set()
    if argv[0] == "render":
        assert "liquid" in loaded  # guards the probe: what the command does use shows up


def test_verify_loads_the_server_but_neither_faker_nor_schemathesis_nor_hypothesis() -> None:
    code, loaded = loaded_by("verify", str(CAMPAIGNS / "guide-purchase.json.liquid"))
    assert code == 1  # the guide's template fails: findings were shrunk ...
    assert "hypothesis" not in loaded  # ... by ctph's own shrinker
    assert {"werkzeug", "liquid"} <= loaded  # the first body goes over loopback HTTP ...
    assert loaded & {"faker", "schemathesis", "httpx"} == set()  # ... with http.client
    assert "multiprocessing" not in loaded  # the --jobs pool is imported only with --jobs 2+
    # issue 17: inference, its TOML writer and the export readers are `ctph infer`'s alone
    assert (
        loaded & {"tomlkit", "ctph_harness.clevertap.infer", "ctph_harness.clevertap.export"}
        == set()
    )


def test_infer_from_files_loads_no_http_client(tmp_path: Path) -> None:
    export = tmp_path / "profiles.ndjson"
    export.write_text('{"identity": "u1", "profileData": {"tier": "gold"}}\n')
    code, loaded = loaded_by("infer", str(export))
    assert code == 0
    assert "ctph_harness.clevertap.infer" in loaded  # guards the probe
    assert loaded & NO_SOCKET == set()
