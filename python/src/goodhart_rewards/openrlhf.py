"""OpenRLHF's custom reward function: pass this file as ``--remote_rm_url /path/to/openrlhf.py`` and
``--label_key label`` with a dataset from ``goodhart export --format openrlhf``.

(OpenRLHF can also call the service directly: ``--remote_rm_url http://HOST:PORT/get_reward``.)
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from goodhart_rewards.client import GoodhartError, env_step, grade, make_rollout, parse_key, summary


def reward_func(queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], **kwargs: Any) -> Dict[str, Any]:
    """Returns ``{"rewards", "scores", "extra_logs"}``; torch tensors when torch is importable (as
    OpenRLHF expects), plain lists otherwise. ``queries`` are prompt + response; the prompt is cut off."""
    if not (len(queries) == len(labels) and (not prompts or len(prompts) == len(queries))):
        raise GoodhartError(f"{len(queries)} queries, {len(prompts)} prompts and {len(labels)} labels do not line up")
    step = kwargs.get("step", env_step())
    rollouts = []
    for i, (query, label) in enumerate(zip(queries, labels)):
        prompt = prompts[i] if prompts else ""
        response = query[len(prompt):] if prompt and query.startswith(prompt) else query
        rollouts.append(make_rollout(response, parse_key(label), step=step))
    records = grade(rollouts, reward=kwargs.get("reward"), penalty=kwargs.get("penalty"), url=kwargs.get("url"))
    rewards = [0.0 if r.get("reward") is None else float(r["reward"]) for r in records]
    logs: Dict[str, List[float]] = {}
    for record in records:
        for name, value in summary(record).items():
            logs.setdefault(name, []).append(value)
    scores = logs.get("proxy_pass", [0.0] * len(records))
    return _tensors({"rewards": rewards, "scores": scores, "extra_logs": logs})


def _tensors(result: Dict[str, Any]) -> Dict[str, Any]:
    try:
        import torch  # type: ignore
    except ImportError:
        return result
    return {
        "rewards": torch.tensor(result["rewards"]),
        "scores": torch.tensor(result["scores"]),
        "extra_logs": {k: torch.tensor(v) for k, v in result["extra_logs"].items()},
    }


# OpenRLHF loads the file given as --remote_rm_url and calls `reward_func`; keep a module-level name.
__all__ = ["reward_func"]
