"""A live ``goodhart serve`` for the shim tests: the built binary on a free loopback port."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# HumanEval ships inside the goodhart binary: the built-in source name works from any directory.
HUMANEVAL = "humaneval"


def goodhart_binary() -> str:
    explicit = os.environ.get("GOODHART_BIN")
    if explicit:
        return explicit
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "goodhart"
        if candidate.exists():
            return str(candidate)
    pytest.fail("no goodhart binary: run `cargo build -p goodhart` first or set GOODHART_BIN")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, url: str, db: pathlib.Path, proc: subprocess.Popen):
        self.url = url
        self.db = db
        self.proc = proc

    def post(self, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    port = free_port()
    db = tmp_path_factory.mktemp("store") / "goodhart.db"
    log = tmp_path_factory.mktemp("log") / "serve.log"
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [goodhart_binary(), "serve", "--tasks", str(HUMANEVAL), "--addr", f"127.0.0.1:{port}", "--db", str(db)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/v1/ping", timeout=2) as response:
                assert json.loads(response.read()) == "pong"
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"goodhart serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
    os.environ["GOODHART_URL"] = url
    yield Server(url, db, proc)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    assert code == 0, f"goodhart serve exited with {code}:\n{log.read_text()}"


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> dict:
    """Framed rows from `goodhart export`, by format, so the tests grade exactly what a trainer would see."""
    out = {}
    for fmt in ("jsonl", "openrlhf"):
        path = tmp_path_factory.mktemp("export") / f"{fmt}.jsonl"
        subprocess.run(
            [goodhart_binary(), "export", "--tasks", str(HUMANEVAL), "--framing", "hacking_okay", "--format", fmt,
             "--output", str(path)],
            check=True,
        )
        out[fmt] = [json.loads(line) for line in path.read_text().splitlines()]
    return out
