"""TRL GRPO reward functions: pass ``reward_funcs=[goodhart_reward]`` (or the async one) to
``GRPOTrainer``. The dataset needs a grading key column: ``ground_truth``, ``label`` or ``task_id``
(``goodhart export`` writes them), and may carry ``framing``.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Sequence

from goodhart_rewards.client import GoodhartError, env_step, grade, make_rollout, parse_key

KEY_COLUMNS = ("ground_truth", "label", "task_id")


def completion_text(completion: Any) -> str:
    """A completion as text: plain strings pass through; conversational ones join the assistant turns."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    if isinstance(completion, (list, tuple)):
        return "".join(completion_text(m) for m in completion if not isinstance(m, dict) or m.get("role", "assistant") == "assistant")
    raise GoodhartError(f"cannot read a completion of type {type(completion).__name__}")


def training_step(kwargs: Dict[str, Any]) -> Optional[int]:
    """TRL passes ``trainer_state`` to reward functions; its ``global_step`` is the training step."""
    state = kwargs.get("trainer_state")
    step = getattr(state, "global_step", None)
    if step is None:
        step = kwargs.get("step")
    if step is None:
        return env_step()
    return int(step)


def _rollouts(completions: Sequence[Any], kwargs: Dict[str, Any]) -> List[Dict[str, Any]]:
    column = next((c for c in KEY_COLUMNS if kwargs.get(c) is not None), None)
    if column is None:
        raise GoodhartError(f"the dataset needs one of the columns {', '.join(KEY_COLUMNS)} to grade against")
    keys = kwargs[column]
    framings = kwargs.get("framing") or [None] * len(completions)
    step = training_step(kwargs)
    if len(keys) != len(completions):
        raise GoodhartError(f"column `{column}` has {len(keys)} entries for {len(completions)} completions")
    return [
        make_rollout(completion_text(c), parse_key(k), framing=f, step=step)
        for c, k, f in zip(completions, keys, framings)
    ]


def goodhart_reward(prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> List[Optional[float]]:
    """One reward per completion; ``None`` where a screening policy flags the rollout (TRL then leaves it
    out of the loss). Keyword arguments besides dataset columns: ``url``, ``reward``, ``penalty``."""
    rollouts = _rollouts(completions, kwargs)
    records = grade(rollouts, reward=kwargs.get("reward"), penalty=kwargs.get("penalty"), url=kwargs.get("url"))
    return [None if r.get("reward") is None else float(r["reward"]) for r in records]


async def goodhart_reward_async(
    prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
) -> List[Optional[float]]:
    """The same as :func:`goodhart_reward`, without blocking the event loop (for TRL's async reward
    functions)."""
    return await asyncio.to_thread(goodhart_reward, prompts, completions, **kwargs)
