"""Reward functions for verl, TRL and OpenRLHF backed by a ``goodhart serve`` reward service.

Each shim turns the trainer's arguments into rollout records, posts them to ``/v1/grade`` and hands the
reward back in the shape that trainer expects. The service grades every rollout under the hackable proxy
and the hardened ground truth, labels hacks, and stores everything with its training step and framing.
"""

from .client import GoodhartError, grade, parse_key, server_url

__all__ = ["GoodhartError", "grade", "parse_key", "server_url"]
__version__ = "0.1.0"
