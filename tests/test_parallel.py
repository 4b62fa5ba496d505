"""``ctph verify --jobs N``: worker processes give the serial run's report byte for byte, and a
run that is interrupted or loses a worker ends with one clear line, not a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ctph_harness.cli import main
from ctph_harness.config import ConfigFinder
from ctph_harness.reports.formats import WRITERS
from ctph_harness.runner import jobs_from, verify

CAMPAIGNS = Path(__file__).resolve().parents[1] / "fixtures" / "campaigns"


def make_campaigns(folder: Path, templates: int, profiles: int) -> Path:
    """``templates`` campaigns made from the bundled ones with renamed events, so each one
    renders differently; the bundled ``ctph.toml`` with ``profiles`` per template."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted(CAMPAIGNS.glob("*.liquid"))
    text = (CAMPAIGNS / "ctph.toml").read_text()
    (folder / "ctph.toml").write_text(f"profiles = {profiles}\n" + text)
    for i in range(templates):
        source = sources[i % len(sources)].read_text()
        variant = source.replace('"event": "', f'"event": "v{i}_', 1)
        (folder / f"campaign_{i:02d}.json.liquid").write_text(variant)
    return folder


def every_format(folder: Path, **options: object) -> dict[str, str]:
    report = verify([str(folder)], ConfigFinder(None), **options)  # type: ignore[arg-type]
    assert report.items, "no templates judged"
    return {name: write(report) for name, write in WRITERS.items()}


@pytest.mark.parametrize("where", ["bundled", "generated"])
def test_two_jobs_write_every_format_byte_for_byte_as_the_serial_run(
    where: str, tmp_path: Path
) -> None:
    folder = CAMPAIGNS if where == "bundled" else make_campaigns(tmp_path / "c", 10, 60)
    serial = every_format(folder)
    parallel = every_format(folder, jobs=2)
    assert sorted(serial) == ["github", "html", "json", "junit", "markdown", "sarif", "text"]
    for name, text in serial.items():
        assert parallel[name] == text, name
    # the bundled campaigns have failures, so the comparison covers findings and verdicts
    assert where != "bundled" or '"status": "fail"' in serial["json"]


def test_spawned_workers_give_the_same_report(tmp_path: Path) -> None:
    """Spawn (macOS, Windows, a threaded parent) re-imports the runner in each worker: the
    worker functions and their arguments must survive that."""
    folder = make_campaigns(tmp_path / "c", 4, 30)
    serial = every_format(folder)
    assert every_format(folder, jobs=2, start_method="spawn") == serial


def test_the_cli_runs_jobs_and_refuses_nonsense(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_campaigns(tmp_path / "c", 5, 30)
    one, two = tmp_path / "one.json", tmp_path / "auto.json"
    assert main(["verify", str(folder), "--output", str(one)]) == 0
    assert main(["verify", str(folder), "-j", "auto", "--output", str(two)]) == 0
    assert two.read_bytes() == one.read_bytes()
    capsys.readouterr()
    for bad in ("0", "two", "-3"):
        assert main(["verify", str(folder), "--jobs", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ctph: error: --jobs") and "Traceback" not in err
    assert jobs_from("auto") == len(os.sched_getaffinity(0))


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running_with_workers(folder: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """``ctph verify -j 2`` in a session of its own, once both workers are up and working."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ctph_harness.cli", "verify", str(folder), "-j", "2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "CTPH_DEBUG": ""},
    )
    workers: list[int] = []
    for _ in range(600):  # not a timing assertion: a bound on waiting for the pool to start
        workers = _children(process.pid)
        if len(workers) >= 2 or process.poll() is not None:
            break
        time.sleep(0.05)
    time.sleep(0.5)  # into the first templates
    assert process.poll() is None, "the run ended before it could be interrupted"
    return process, workers


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_ctrl_c_ends_every_process_with_one_line(tmp_path: Path) -> None:
    process, _ = _running_with_workers(make_campaigns(tmp_path / "c", 40, 3000))
    os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "ctph: interrupted" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_killed_worker_is_a_clear_error(tmp_path: Path) -> None:
    process, workers = _running_with_workers(make_campaigns(tmp_path / "c", 40, 3000))
    assert workers, "no worker process found"
    os.kill(workers[0], signal.SIGKILL)  # what the kernel's out-of-memory killer does
    _, err = process.communicate(timeout=120)
    assert process.returncode == 3, err
    assert err.startswith("ctph: error: a --jobs worker process ended without answering"), err
    assert "--jobs 1" in err and "Traceback" not in err


def _spawned_workers() -> list[int]:
    """This process's pool workers (spawn's children run ``spawn_main``; the resource
    tracker, also a child, does not)."""
    found = []
    for pid in _children(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_worker_lost_before_any_result_is_asked_for_is_the_same_clear_error(
    tmp_path: Path,
) -> None:
    """The pool refuses new templates once it has seen a worker die (``submit`` raises, not
    ``result``): that is a lost worker too, not an internal error."""
    from ctph_harness.config import HarnessConfig
    from ctph_harness.runner import WorkerDied, _parallel, _Task

    folder = make_campaigns(tmp_path / "c", 3, 5)
    paths = sorted(str(p) for p in folder.glob("*.liquid"))
    settings = HarnessConfig(profiles=5)

    def tasks():  # the first template, then the worker dies, then the rest
        yield _Task(paths[0], settings)
        for _ in range(600):  # a bound on waiting for the spawned worker, not a timing check
            workers = _spawned_workers()
            if workers:
                break
            time.sleep(0.05)
        assert workers, "no worker process started"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        # until the pool has reaped it (a zombie's cmdline is empty: gone from
        # _spawned_workers() before the pool noticed). CPython's terminate_broken marks the
        # pool broken before it joins the workers (concurrent/futures/process.py).
        for _ in range(600):
            if not any(Path(f"/proc/{pid}").exists() for pid in workers):
                break
            time.sleep(0.05)
        for path in paths[1:]:
            yield _Task(path, settings)

    now = datetime.now(timezone.utc)
    with pytest.raises(WorkerDied) as lost:
        list(_parallel(tasks(), 1, False, now, "spawn"))
    assert str(lost.value).startswith(
        f"a --jobs worker process ended without answering while {paths[0]}"
    )
    assert lost.value.exit_code == 3
