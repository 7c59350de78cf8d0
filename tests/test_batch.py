"""Whole folders per command: mirrored trees, a manifest, kept outputs, bad files in the mix,
parallel workers, and runs killed half way that `--resume` finishes, locally and on Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SCRIPT, check_ok, run_cli

from gamut_onnx.batch.manifest import MANIFEST_NAME, sha256_file
from gamut_onnx.container.carrier import read_carrier

QUICK = ("--steps", "60", "--batch", "1024", "--device", "cpu", "--seed", "1")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A tree of small ProPhoto TIFFs, with bad files mixed in."""
    root = tmp_path_factory.mktemp("photos")
    (root / "trip" / "day2").mkdir(parents=True)
    names = ["a.tif", "b.tif", "trip/c.tif", "trip/day2/d.tif"]
    for i, name in enumerate(names):
        check_ok(run_cli("sample", "-o", root / name, "--width", 48, "--height", 32, "--seed", i))
    return root, names


@pytest.fixture
def messy(photos, tmp_path):
    """The good photos of one level plus a truncated file, a text file, a folder named like a
    photo and (when permissions apply) an unreadable file."""
    root, _ = photos
    folder = tmp_path / "messy"
    folder.mkdir()
    for name in ("a.tif", "b.tif"):
        (folder / name).write_bytes((root / name).read_bytes())
    (folder / "cut.tif").write_bytes((root / "a.tif").read_bytes()[:400])
    (folder / "notes.jpg").write_text("not a photo")
    (folder / "folder.png").mkdir()
    locked = folder / "locked.tif"
    locked.write_bytes((root / "b.tif").read_bytes())
    locked.chmod(0)
    return folder


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]


def test_a_tree_is_mirrored_and_every_file_recorded(photos, tmp_path):
    root, names = photos
    out = tmp_path / "carriers"
    result = check_ok(run_cli("encode", root, "-o", out, "--recursive", *QUICK))
    assert "4 files: 4 done, 0 kept" in result.stdout
    for name in names:
        carrier = out / Path(name).with_suffix(".png")
        assert read_carrier(carrier).blob is not None
    done = records(out)
    assert sorted(r["input"] for r in done) == sorted(str(root / n) for n in names)
    for r in done:
        assert r["status"] == "ok" and r["model"] in ("gated", "none")
        assert r["output_sha256"] == sha256_file(Path(r["output"]))
        assert r["input_sha256"] == sha256_file(Path(r["input"]))
        assert {"psnr", "psnr_og", "fit_s", "seconds", "blob_bytes"} <= set(r)
    # Decoding the folder mirrors it again; existing outputs are kept, not overwritten.
    restored = tmp_path / "restored"
    check_ok(run_cli("decode", out, "-o", restored, "--recursive", "--format", "tif"))
    assert (restored / "trip/day2/d.tif").exists()
    again = check_ok(run_cli("decode", out, "-o", restored, "--recursive", "--format", "tif"))
    assert "0 done, 4 kept" in again.stdout
    replaced = run_cli("decode", out, "-o", restored, "--recursive", "--overwrite", "--json")
    lines = [json.loads(line) for line in replaced.stdout.splitlines()]
    assert lines[-1]["done"] == 4 and all("status" in r for r in lines[:-1])


def test_files_and_globs_and_one_existing_output(photos, tmp_path):
    root, _ = photos
    out = tmp_path / "out"
    check_ok(run_cli("encode", root / "a.tif", str(root / "trip" / "*.tif"), "-o", out, *QUICK))
    assert sorted(p.name for p in out.glob("*.png")) == ["a.png", "c.png"]
    single = tmp_path / "one.png"
    check_ok(run_cli("encode", root / "b.tif", "-o", single, *QUICK))
    again = run_cli("encode", root / "b.tif", "-o", single, *QUICK)
    assert again.returncode == 1 and "--overwrite" in again.stderr
    check_ok(run_cli("encode", root / "b.tif", "-o", single, "--overwrite", *QUICK))


def test_bad_files_get_their_error_and_the_rest_succeed(messy, tmp_path):
    out = tmp_path / "out"
    result = run_cli("encode", messy, "-o", out, *QUICK)
    assert result.returncode == 1
    by_name = {Path(r["input"]).name: r for r in records(out)}
    assert by_name["a.tif"]["status"] == by_name["b.tif"]["status"] == "ok"
    assert "truncated" in by_name["cut.tif"]["error"]
    assert "unrecognised file type" in by_name["notes.jpg"]["error"]
    assert "is a directory" in by_name["folder.png"]["error"]
    if not os.access(messy / "locked.tif", os.R_OK):  # root reads it anyway
        assert "Permission denied" in by_name["locked.tif"]["error"]
    failed = sum(r["status"] == "error" for r in by_name.values())
    assert f"{failed} failed" in result.stdout
    assert all(line.startswith("error: ") for line in result.stderr.strip().splitlines())


def test_outputs_and_manifest_have_normal_permissions(photos, tmp_path):
    root, _ = photos
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        check_ok(run_cli("encode", root / "a.tif", root / "b.tif", "-o", out, *QUICK))
    finally:
        os.umask(old)
    for path in (out / "a.png", out / MANIFEST_NAME):
        assert path.stat().st_mode & 0o777 == 0o644


def test_two_workers_give_the_same_files_as_one(photos, tmp_path):
    root, names = photos
    one, two = tmp_path / "one", tmp_path / "two"
    check_ok(run_cli("encode", root, "-o", one, "--recursive", *QUICK))
    check_ok(run_cli("encode", root, "-o", two, "--recursive", "--jobs", "2", *QUICK))
    for name in names:
        png = Path(name).with_suffix(".png")
        assert (one / png).read_bytes() == (two / png).read_bytes(), name


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _start(args: list, out: Path) -> subprocess.Popen:
    command = [str(SCRIPT), *map(str, args)]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    )


def _wait_for_first_record(process: subprocess.Popen, out: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (out / MANIFEST_NAME).exists() and (out / MANIFEST_NAME).read_text().count("\n"):
            return
        if process.poll() is not None:
            pytest.fail(f"finished before it could be killed: {process.stderr.read()}")
        time.sleep(0.05)
    pytest.fail("no file finished in time")


def _check_complete(root: Path, names: list[str], out: Path) -> None:
    """Every output is a complete, valid carrier; no temporary file is left; the last record
    of every input says it is done."""
    for name in names:
        assert read_carrier(out / Path(name).with_suffix(".png")).blob is not None
    assert not [p for p in out.rglob(".*") if p.is_file()]
    last = {r["input"]: r["status"] for r in records(out)}
    assert set(last) == {str(root / n) for n in names} and set(last.values()) == {"ok"}


@pytest.mark.parametrize("victim", ["driver", "worker"])
def test_a_killed_batch_is_finished_by_resume(photos, tmp_path, victim):
    root, names = photos
    out = tmp_path / "out"
    args = ["encode", root, "-o", out, "--recursive", "--jobs", "2", *QUICK, "--steps", "400"]
    process = _start(args, out)
    _wait_for_first_record(process, out)
    if victim == "driver":
        os.killpg(process.pid, signal.SIGKILL)  # the whole run: driver and workers, at once
    else:
        workers = [c for c in _children(process.pid) if b"spawn_main" in _cmdline(c)]
        assert workers, "no worker process found"
        os.kill(workers[0], signal.SIGKILL)  # one worker process
    process.wait(timeout=120)
    assert process.returncode != 0
    for path in out.rglob("*.png"):  # whatever exists at a final name is complete
        assert read_carrier(path).blob is not None
    resumed = check_ok(run_cli("encode", root, "-o", out, "--recursive", "--resume", *QUICK))
    assert "0 failed" in resumed.stdout
    _check_complete(root, names, out)


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance this test module's CLI runs join (--ray auto finds it)."""
    ray = pytest.importorskip("ray")
    address_file = Path("/tmp/ray/ray_current_cluster")
    started = subprocess.run(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--num-cpus", "2",
         "--include-dashboard", "false", "--disable-usage-stats"],
        capture_output=True, text=True,
    )  # fmt: skip
    if started.returncode != 0:
        pytest.skip(f"cannot start a local Ray instance: {started.stderr[-300:]}")
    yield ray
    subprocess.run([sys.executable, "-m", "ray.scripts.scripts", "stop", "--force"],
                   capture_output=True)  # fmt: skip
    address_file.unlink(missing_ok=True)


def test_ray_runs_the_batch_and_retries_a_killed_worker(ray_cluster, photos, tmp_path):
    root, names = photos
    out = tmp_path / "out"
    args = ["encode", root, "-o", out, "--recursive", "--ray", "auto", *QUICK, "--steps", "300"]
    process = _start(args, out)
    _wait_for_first_record(process, out)
    busy = []
    for _ in range(200):  # a task still running: its worker's process title says so
        found = subprocess.run(["pgrep", "-f", "ray::run_one"], capture_output=True, text=True)
        busy = [int(p) for p in found.stdout.split()]
        if busy or process.poll() is not None:
            break
        time.sleep(0.05)
    assert busy, "no Ray task was running to kill"
    os.kill(busy[0], signal.SIGKILL)  # Ray reruns the task (max_retries)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "4 done" in stdout.decode()
    _check_complete(root, names, out)


def test_ray_driver_killed_then_resumed(ray_cluster, photos, tmp_path):
    root, names = photos
    out = tmp_path / "out"
    args = ["encode", root, "-o", out, "--recursive", "--ray", "auto", *QUICK, "--steps", "300"]
    process = _start(args, out)
    _wait_for_first_record(process, out)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    resumed = run_cli("encode", root, "-o", out, "--recursive", "--ray", "auto", "--resume", *QUICK)
    check_ok(resumed)
    _check_complete(root, names, out)


def test_fitting_a_group_at_once_writes_the_same_carriers(photos, tmp_path):
    root, names = photos
    lone, grouped = tmp_path / "lone", tmp_path / "grouped"
    quick = (*QUICK, "--batch", "256")  # pools of these small photos hold a whole batch
    check_ok(run_cli("encode", root, "-o", lone, "--recursive", *quick))
    result = run_cli("encode", root, "-o", grouped, "--recursive", "--fit-batch", "4", *quick)
    assert "4 done" in check_ok(result).stdout
    for name in names:
        png = Path(name).with_suffix(".png")
        assert (grouped / png).read_bytes() == (lone / png).read_bytes(), name


def test_a_worker_killed_while_writing_leaves_no_temporary_file(tmp_path):
    """A worker killed between creating its temporary file and renaming it (Ray then runs the
    task again elsewhere) leaves the file behind; the batch removes it once every task is in."""
    from gamut_onnx.batch.plan import Task
    from gamut_onnx.batch.run import run_batch
    from gamut_onnx.files import TEMP_SUFFIX

    out = tmp_path / "out"
    source = tmp_path / "a.tif"
    source.write_bytes(b"x")
    task = Task(source, out / "a.png")

    def killed_then_retried(kind, tasks, options):
        for t in tasks:
            (out / f".{t.output.name}.killed{TEMP_SUFFIX}").write_bytes(b"partial")
            t.output.write_bytes(b"done by the retry")
            yield {"input": str(t.source), "output": str(t.output), "kind": kind, "status": "ok"}

    summary = run_batch("encode", [task], out, None, executor=killed_then_retried)
    assert summary.done == 1
    assert not [p for p in out.rglob(".*") if p.is_file()]
