"""verl's custom reward function: set ``custom_reward_function.path`` to this file and
``custom_reward_function.name=compute_score``.

Rows exported by ``goodhart export --format verl-parquet`` carry the grading key in
``reward_model.ground_truth`` and the framing in ``extra_info``.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from goodhart_rewards.client import env_step, grade, make_rollout, parse_key, summary


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Optional[Dict[str, Any]] = None,
    **kwargs: Any,
) -> Dict[str, float]:
    """Grades one response and returns ``{"score": reward, ...}`` (verl logs the other keys).

    A screening policy's ``null`` reward becomes ``score`` 0.0 with ``screened`` 1.0, since verl's reward
    managers need a number; use TRL's shim (which can return ``None``) to drop samples outright.
    Keyword arguments: ``url``, ``reward`` (policy), ``penalty``, ``step`` (else ``extra_info["step"]`` or
    ``GOODHART_STEP``).
    """
    extra = dict(extra_info or {})
    key = parse_key(ground_truth)
    step = kwargs.get("step", extra.get("step"))
    if step is None:
        step = env_step()
    rollout = make_rollout(solution_str, key, framing=extra.get("framing"), step=step)
    rollout["data_source"] = data_source
    (record,) = grade([rollout], reward=kwargs.get("reward"), penalty=kwargs.get("penalty"), url=kwargs.get("url"))
    reward = record.get("reward")
    result: Dict[str, float] = {"score": float(reward) if reward is not None else 0.0}
    result.update(summary(record))
    return result
