"""The exit-code contract on the paths a user meets by accident, driven as a user would.

0 ok, 1 policy violations, 2 invalid input or usage, 3 apply failed; 130 interrupted
(Ctrl-C), 141 the reader of the output went away. Each path ends with its code and one
line that names what is wrong, never a traceback, and leaves nothing half-written.

The full and read-only disks are real: a 64 KiB tmpfs mounted in a private mount namespace
(`unshare -rm`, no root needed where user namespaces are allowed), gone with the process.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import jsonout
import pytest
import realparts
import typer

from citycloud.cli import app

CITYCLOUD = pathlib.Path(sys.executable).parent / "citycloud"
BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of the app, as the words that name it."""
    group = typer.main.get_command(app.app)
    ctx = group.make_context("citycloud", ["--help"], resilient_parsing=True)

    def walk(command: object, path: list[str]) -> list[list[str]]:
        found = [path] if path else []
        names = getattr(command, "list_commands", None)
        for name in names(ctx) if names else []:
            found += walk(command.get_command(ctx, name), [*path, name])  # type: ignore[attr-defined]
        return found

    return walk(group, [])


COMMANDS = _command_paths()


def test_every_command_is_walked() -> None:
    assert ["apply"] in COMMANDS and ["nodes", "prepare"] in COMMANDS and ["doctor"] in COMMANDS
    assert len(COMMANDS) >= 30


@pytest.mark.parametrize("path", [pytest.param(p, id=" ".join(p)) for p in COMMANDS])
def test_usage_error_under_json_is_the_envelope(citycloud, path: list[str]) -> None:
    result = citycloud(*path, "-o", "json", "--no-such-option")
    assert result.exit_code == 2
    error = jsonout.envelope(result.stdout)["error"]
    # Commands without -o meet their mistake there: "No such option: -o".
    assert error["exitCode"] == 2 and error["message"].startswith("No such option: -"), error


def _in_a_small_disk(tmp_path: pathlib.Path, script: str, *, read_only: bool,
                     env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) with DISK mounted as a 64 KiB tmpfs, read-only if asked."""
    if shutil.which("unshare") is None:
        realparts.unavailable("unshare (util-linux) is not installed",
                              how="apt-get install util-linux")
    disk = tmp_path / "disk"
    disk.mkdir()
    remount = f"mount -o remount,ro {disk} && " if read_only else ""
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c",
         f"mount -t tmpfs -o size=64k tmpfs {disk} && {remount}{script}"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **env, "DISK": str(disk), "CITYCLOUD": str(CITYCLOUD)})


WRITERS = [
    pytest.param('"$CITYCLOUD" -r "$WUHAN" render "$DISK/out"', "$DISK/out", id="render"),
    pytest.param('"$CITYCLOUD" schema --out "$DISK/schema"', "$DISK/schema", id="schema-out"),
    pytest.param('"$CITYCLOUD" init "$DISK/city"', "$DISK/city", id="init"),
    pytest.param('"$CITYCLOUD" -r "$WUHAN" capacity --html "$DISK/c.html"', "$DISK/c.html",
                 id="capacity-html"),
    pytest.param('"$CITYCLOUD" -r "$REG" --state-dir "$DISK/state" tenant new wh-gongan '
                 'wh-gongan-zz --cpu 1 --memory 1Gi --description 测试', "$DISK/state",
                 id="state-dir"),
]


@pytest.mark.parametrize("read_only", [pytest.param(False, id="full"),
                                       pytest.param(True, id="read-only")])
@pytest.mark.parametrize(("command", "named"), WRITERS)
def test_an_unwritable_path_is_one_line_and_exit_2(
        wuhan: pathlib.Path, wuhan_copy: pathlib.Path, tmp_path: pathlib.Path, command: str,
        named: str, read_only: bool) -> None:
    # The schemas fit in 64 KiB: fill the disk first so that every writer meets a full one.
    fill = "" if read_only else 'dd if=/dev/zero of="$DISK/filler" bs=1k 2>/dev/null; '
    done = _in_a_small_disk(
        tmp_path, f'{fill}{command}; echo "exit $?"; cd "$DISK" && find . ! -name filler',
        read_only=read_only, env={"WUHAN": str(wuhan), "REG": str(wuhan_copy)})
    path = named.replace("$DISK", str(tmp_path / "disk"))
    reason = "the file system is read-only" if read_only else "the disk is full"
    assert done.stderr.splitlines() == [
        f"error: cannot write {path}: {reason}; "
        + ("choose another path" if read_only else "free space or choose another path")], (
        done.stderr)
    assert done.stdout.splitlines()[0] == "exit 2", done.stdout
    # Nothing half-written; the state directory may keep its (empty) lock file.
    left = set(done.stdout.splitlines()[1:]) - {".", "./state", "./state/audit.lock"}
    assert left == set(), "left behind on the disk"
    assert not list((wuhan_copy / "tenants" / "wh-gongan").glob("wh-gongan-zz*"))


def test_a_prompt_without_an_answer_is_refused_with_the_yes_hint(wuhan_copy: pathlib.Path) -> None:
    done = subprocess.run(
        [CITYCLOUD, "-r", wuhan_copy, "audit", "prune", "--older-than", "400"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "error: no answer to the confirmation (no terminal, or the input ended): pass --yes "
        "to go ahead without asking")
    assert "Traceback" not in done.stderr and "Aborted" not in done.stderr


def test_a_closed_pipe_is_exit_141(wuhan: pathlib.Path) -> None:
    with subprocess.Popen([CITYCLOUD, "-r", wuhan, "plan", "--diff"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.readline()
        process.stdout.close()  # the reader goes away after one line
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=300) == 141
    assert stderr == ""


def test_ctrl_c_is_interrupted_exit_130(tmp_path: pathlib.Path) -> None:
    """A registry of 2,000 generated tenants: `plan --diff` takes ~25 s, so a signal after
    6 s arrives while it works, well past start-up (a signal during the imports of start-up
    would meet Python's own handling, before citycloud runs)."""
    registry = tmp_path / "city"
    subprocess.run([sys.executable, BENCH / "generate.py", registry, "--tenants", "2000"],
                   check=True, capture_output=True, timeout=300)
    with subprocess.Popen([CITYCLOUD, "-r", registry, "plan", "--diff"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        time.sleep(6.0)
        assert process.poll() is None, "plan finished before the signal: make it bigger"
        process.send_signal(signal.SIGINT)
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
        assert process.wait(timeout=120) == 130
    assert stderr.splitlines() == ["error: interrupted"], stderr


@pytest.mark.parametrize("command", [["plan", "--diff"], ["render", "OUT"]],
                         ids=["plan", "render"])
def test_long_work_shows_what_it_does_on_a_terminal_only(wuhan: pathlib.Path,
                                                         tmp_path: pathlib.Path,
                                                         command: list[str]) -> None:
    """`script` gives the command a real terminal (a pty); a pipe gets no spinner."""
    argv = [str(CITYCLOUD), "-r", str(wuhan),
            *(str(tmp_path / "out") if word == "OUT" else word for word in command)]
    on_terminal = subprocess.run(["script", "-qec", " ".join(argv), "/dev/null"],
                                 capture_output=True, text=True, timeout=300, check=False)
    assert on_terminal.returncode == 0, on_terminal.stdout
    assert "rendering 3 pools and 85 tenants" in on_terminal.stdout
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    piped = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert piped.returncode == 0 and "rendering" not in piped.stderr + piped.stdout


def test_doctor_says_what_this_install_has(citycloud, tmp_path: pathlib.Path) -> None:
    result = citycloud("doctor", "-o", "json", "--kubeconfig", tmp_path / "none")
    assert result.exit_code == 0, result.output
    report = jsonout.data(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["citycloud"]["version"] == report["version"] == app.doctor.version()
    assert checks["rules and dashboards"]["found"] is True
    assert {"extra deploy", "extra nodes", "extra exporter"} <= set(checks)
    assert all(checks[f"extra {e}"]["found"] for e in ("deploy", "nodes", "exporter"))
    # A kubeconfig that does not exist: said in one line, not a crash.
    assert checks["cluster"]["found"] is False and "none" in checks["cluster"]["note"]


# Every command with -o json that runs without a cluster or nodes, with arguments that make it
# succeed on the example registry (the cluster commands: tests/e2e and tests/stacks).
JSON_COMMANDS = [
    ["validate"], ["plan"], ["pools"], ["capacity"], ["doctor"], ["policies", "list"],
    ["policies", "explain", "security.default-deny"], ["networks", "check"],
    ["networks", "report"], ["networks", "allocate", "--prefix-length", "24"],
    ["audit", "log"], ["audit", "verify"], ["services", "list"], ["services", "graph"],
    ["services", "report"],
]


def test_every_json_command_is_listed() -> None:
    """A new command with -o json must join JSON_COMMANDS or be a cluster/node command."""
    group = typer.main.get_command(app.app)
    ctx = group.make_context("citycloud", ["--help"], resilient_parsing=True)
    with_json = set()
    for path in COMMANDS:
        command = group
        for word in path:
            command = command.get_command(ctx, word)  # type: ignore[attr-defined]
        if any("--output" in getattr(p, "opts", ()) for p in command.params):
            with_json.add(path[0] if path[0] in {"apply", "onboard", "resize", "offboard",
                                                 "nodes"} else " ".join(path))
    listed = {" ".join(c[:2] if c[0] in {"policies", "networks", "audit", "services"} else c[:1])
              for c in JSON_COMMANDS}
    assert with_json - listed - {"apply", "onboard", "resize", "offboard", "nodes",
                                 "audit prune"} == set()


@pytest.mark.parametrize("command", [pytest.param(c, id=" ".join(c)) for c in JSON_COMMANDS])
def test_json_output_is_the_envelope(citycloud, wuhan_copy: pathlib.Path,
                                     command: list[str]) -> None:
    result = citycloud("-r", wuhan_copy, *command, "-o", "json")
    assert result.exit_code == 0, result.output
    document = jsonout.envelope(result.stdout)
    assert document["ok"] is True and document["data"] is not None
