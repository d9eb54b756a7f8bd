"""The model-call machinery: bounded requests, one retry policy, adaptive structured output, fallbacks.

Every request the product sends to a chat model (replies, summaries, importance scores,
reflection) goes through :mod:`langmem_ext.llm.call`:

* :mod:`.policy` - ``max_tokens`` per purpose, timeouts, retries, the per-turn budget;
* :mod:`.failures` - what went wrong, in kinds that decide what happens next;
* :mod:`.structured` - json_schema -> function_calling -> json_mode, per endpoint;
* :mod:`.endpoint` - what this process learnt about each server;
* :mod:`.turns` - the request and time budget of one user turn;
* :mod:`.stats` - valid / repaired / fallback counts and the one-line fallback log;
* :mod:`.window` - the context window of a model;
* :mod:`.testing` - a fake OpenAI-compatible server for tests.
"""

from langmem_ext.llm.call import CallResult, CallSpec, acall_structured, acall_text, call_structured, call_text
from langmem_ext.llm.failures import Failure, ModelCallError, OutputError, classify
from langmem_ext.llm.policy import (
    CallPolicy,
    default_policy,
    reflection_tokens,
    score_tokens,
    set_default_policy,
    summary_tokens,
)
from langmem_ext.llm.stats import fallback_line, record, reset_stats, snapshot
from langmem_ext.llm.turns import turn_key

__all__ = [
    "CallPolicy",
    "CallResult",
    "CallSpec",
    "Failure",
    "ModelCallError",
    "OutputError",
    "acall_structured",
    "acall_text",
    "call_structured",
    "call_text",
    "classify",
    "default_policy",
    "fallback_line",
    "record",
    "reflection_tokens",
    "reset_stats",
    "score_tokens",
    "set_default_policy",
    "snapshot",
    "summary_tokens",
    "turn_key",
]
