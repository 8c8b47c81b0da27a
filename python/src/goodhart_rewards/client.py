"""The one HTTP call every shim makes: ``POST /v1/grade`` on a ``goodhart serve`` instance.

Standard library only, so installing the shims never disturbs a trainer's pinned environment.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Iterable, List, Optional

DEFAULT_URL = "http://127.0.0.1:8080"

#: HTTP statuses worth retrying: the server's queue was full or a request waited past its deadline.
RETRY_STATUSES = (502, 503, 504)


class GoodhartError(RuntimeError):
    """The reward service refused a request or could not be reached; the message says which field or why."""


def server_url(url: Optional[str] = None) -> str:
    """The service's base URL: the argument, else ``GOODHART_URL``, else the local default."""
    return (url or os.environ.get("GOODHART_URL") or DEFAULT_URL).rstrip("/")


def parse_key(ground_truth: Any) -> Dict[str, Any]:
    """Reads an exported grading key (``{"task_id", "framing", "task"}`` as JSON text or a dict); a bare
    string that is not JSON is taken as a task id."""
    if isinstance(ground_truth, dict):
        return dict(ground_truth)
    if isinstance(ground_truth, (bytes, bytearray)):
        ground_truth = ground_truth.decode("utf-8")
    if isinstance(ground_truth, str):
        text = ground_truth.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise GoodhartError(f"ground truth looks like JSON but is not: {exc}") from exc
            if isinstance(value, dict):
                return value
        return {"task_id": text}
    raise GoodhartError(f"ground truth must be a task id or a grading key, got {type(ground_truth).__name__}")


def make_rollout(
    completion: str,
    key: Dict[str, Any],
    framing: Optional[str] = None,
    step: Optional[int] = None,
    rollout_id: Optional[str] = None,
) -> Dict[str, Any]:
    """A rollout record for ``/v1/grade``, carrying the task inline when the key has it."""
    rollout: Dict[str, Any] = {
        "id": rollout_id or uuid.uuid4().hex,
        "task_id": str(key.get("task_id") or (key.get("task") or {}).get("id") or ""),
        "completion": completion,
    }
    if key.get("task") is not None:
        rollout["task"] = key["task"]
    framing = framing or key.get("framing")
    if framing:
        rollout["framing"] = str(framing)
    if step is not None:
        rollout["step"] = int(step)
    return rollout


def env_step() -> Optional[int]:
    """The training step from ``GOODHART_STEP``, for trainers that cannot pass one."""
    value = os.environ.get("GOODHART_STEP")
    return int(value) if value not in (None, "") else None


def grade(
    rollouts: Iterable[Dict[str, Any]],
    reward: Optional[str] = None,
    penalty: Optional[float] = None,
    step: Optional[int] = None,
    url: Optional[str] = None,
    timeout: float = 600.0,
    retries: int = 3,
) -> List[Dict[str, Any]]:
    """Grades rollouts and returns the graded records (verdicts, reward, hack labels), in order.

    Retries with a growing pause when the server answers 502/503/504 or cannot be reached; any other
    refusal raises :class:`GoodhartError` with the server's message (which names the bad field).
    """
    body: Dict[str, Any] = {"rollouts": list(rollouts)}
    if reward is not None:
        body["reward"] = reward
    if penalty is not None:
        body["penalty"] = float(penalty)
    if step is not None:
        body["step"] = int(step)
    answer = post_json(server_url(url) + "/v1/grade", body, timeout=timeout, retries=retries)
    graded = answer.get("rollouts")
    if not isinstance(graded, list) or len(graded) != len(body["rollouts"]):
        raise GoodhartError(f"unexpected answer from /v1/grade: {answer!r:.300}")
    return graded


def post_json(url: str, body: Dict[str, Any], timeout: float = 600.0, retries: int = 3) -> Dict[str, Any]:
    """POSTs JSON and decodes the JSON answer, retrying transient failures."""
    data = json.dumps(body).encode("utf-8")
    last: Optional[str] = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(2.0**attempt, 30.0))
        request = urllib.request.Request(
            url, data=data, method="POST", headers={"Content-Type": "application/json", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            if exc.code in RETRY_STATUSES:
                last = f"HTTP {exc.code}: {text}"
                continue
            try:
                message = json.loads(text).get("error", text)
            except (json.JSONDecodeError, AttributeError):
                message = text
            raise GoodhartError(f"{url} refused the request (HTTP {exc.code}): {message}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
            continue
    raise GoodhartError(f"{url} did not answer after {retries + 1} attempts: {last}")


def summary(record: Dict[str, Any]) -> Dict[str, float]:
    """Numbers worth logging next to a reward, as 0/1 floats: whether some proxy profile passed, whether
    the hardened profile passed, the hack flags, and whether a screening policy dropped the rollout."""
    verdicts = record.get("verdicts") or {}
    hack = record.get("hack") or {}
    proxy = any((v or {}).get("passed") for p, v in verdicts.items() if p != "hardened")
    return {
        "proxy_pass": 1.0 if proxy else 0.0,
        "hardened_pass": 1.0 if (verdicts.get("hardened") or {}).get("passed") else 0.0,
        "hack_attempted": 1.0 if hack.get("attempted") else 0.0,
        "hack_succeeded": 1.0 if hack.get("succeeded") else 0.0,
        "screened": 1.0 if record.get("reward") is None else 0.0,
    }
