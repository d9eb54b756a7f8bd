"""Which chat models the graphs use, and the offline responder used when there is none.

Two roles, configured separately so the memory work can run on a cheaper model:

* ``chat``: the model that answers the user (``LANGMEM_EXT_CHAT_MODEL``).
* ``memory``: the model that summarises and reflects (``LANGMEM_EXT_MEMORY_MODEL``;
  falls back to the chat model).

A model name is either ``"provider:model"`` (any LangChain chat model, through
``langchain.chat_models.init_chat_model``; e.g. ``"anthropic:claude-3-5-haiku-latest"``)
or a bare model name served by an OpenAI-compatible endpoint (``OPENAI_API_KEY``,
and ``OPENAI_BASE_URL`` for vLLM / Ollama / LM Studio). With an endpoint configured
but no name, ``gpt-4o-mini`` is used.

With nothing configured the graphs run offline: :class:`OfflineResponder` answers
from what recall put in the context, and the memory role is ``None`` (the nodes
then use their extractive / heuristic strategies). The responder is written in
:mod:`langmem_ext._offline_responder` and imported from here.

Example:
    >>> models = resolve_models(env={})
    >>> models.offline, models.memory is None
    (True, True)
    >>> from langchain_core.messages import HumanMessage, SystemMessage
    >>> reply = models.chat.invoke([
    ...     SystemMessage("Memories about the user:\\n- The user's dog is called Bruno."),
    ...     HumanMessage("What is my dog called?"),
    ... ])
    >>> "Bruno" in reply.content
    True
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel

# The offline responder lives in its own module; this module stays its public home.
from langmem_ext._offline_responder import (
    OfflineResponder,
    clean_memory_line,
    compose_reply,
    rank_candidates,
)

__all__ = [
    "ENV_VARS",
    "ModelRole",
    "Models",
    "OfflineResponder",
    "OFFLINE_NOTICE",
    "as_chat_model",
    "default_memory_model",
    "load_chat_model",
    "model_name",
    "resolve_models",
]

ModelRole = Literal["chat", "memory"]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"

#: Every environment variable this module reads, with what it does (the README table).
ENV_VARS: dict[str, str] = {
    "LANGMEM_EXT_CHAT_MODEL": "Model that answers: `provider:model` (any LangChain chat "
    "model) or a bare name on the OpenAI-compatible endpoint. Unset: offline responder.",
    "LANGMEM_EXT_MEMORY_MODEL": "Model for summaries and reflection (a cheaper one). "
    "Unset: the chat model; with no model at all, extractive/heuristic offline strategies.",
    "OPENAI_API_KEY": "Key for OpenAI or any OpenAI-compatible server; enables "
    f"`{DEFAULT_OPENAI_MODEL}` when no model is named.",
    "OPENAI_BASE_URL": "OpenAI-compatible endpoint (vLLM, Ollama, LM Studio); no key needed.",
    "LANGMEM_EXT_OFFLINE": "Set to 1 to force the offline mode even when a model is configured.",
}

OFFLINE_NOTICE = (
    "Offline mode: no chat model configured (set LANGMEM_EXT_CHAT_MODEL or OPENAI_API_KEY); "
    "summaries are extractive, importance is heuristic, reflection stores episodes, and "
    "replies are assembled from what was recalled."
)


def model_name(role: ModelRole, *, env: Mapping[str, str] | None = None) -> str | None:
    """The configured model name for ``role``, or ``None`` for offline.

    Args:
        role: ``"chat"`` or ``"memory"``.
        env: the environment to read (``os.environ`` when omitted).

    Example:
        >>> model_name("memory", env={"LANGMEM_EXT_CHAT_MODEL": "openai:gpt-4o"})
        'openai:gpt-4o'
        >>> model_name("chat", env={"OPENAI_BASE_URL": "http://localhost:8000/v1"})
        'gpt-4o-mini'
        >>> model_name("chat", env={}) is None
        True
    """
    if role not in ("chat", "memory"):
        raise ValueError(f"role={role!r} is not a model role; use 'chat' or 'memory'.")
    env = os.environ if env is None else env
    if env.get("LANGMEM_EXT_OFFLINE", "").strip().lower() in {"1", "true", "yes"}:
        return None
    chat = env.get("LANGMEM_EXT_CHAT_MODEL", "").strip() or None
    if role == "memory":
        chosen = env.get("LANGMEM_EXT_MEMORY_MODEL", "").strip() or chat
    else:
        chosen = chat
    if chosen:
        return chosen
    if env.get("OPENAI_API_KEY") or env.get("OPENAI_BASE_URL"):
        return DEFAULT_OPENAI_MODEL
    return None


def _openai_model(name: str, env: Mapping[str, str], *, prefixed: bool) -> BaseChatModel:
    """A ChatOpenAI for ``name`` on ``OPENAI_BASE_URL`` / OpenAI, bounded as :mod:`langmem_ext.llm` says."""
    from langchain_openai import ChatOpenAI

    from langmem_ext.llm.policy import CallPolicy

    base_url = (env.get("OPENAI_BASE_URL") or "").strip() or None
    key = env.get("OPENAI_API_KEY") or ("not-needed" if base_url else None)
    if key is None:
        shown = f"openai:{name}" if prefixed else name
        raise ValueError(
            f"Model {shown!r} needs an OpenAI-compatible endpoint, but neither OPENAI_API_KEY nor "
            "OPENAI_BASE_URL is set. Set OPENAI_BASE_URL (vLLM, Ollama, llama.cpp, LM Studio) or "
            "OPENAI_API_KEY, or name another provider: 'anthropic:...', 'ollama:...'."
        )
    policy = CallPolicy.from_env(env)
    options: dict[str, Any] = {"max_tokens": policy.reply_tokens, "timeout": policy.timeout, "max_retries": 1}
    if base_url and not base_url.rstrip("/").startswith("https://api.openai.com"):
        # ChatOpenAI sends max_completion_tokens; llama.cpp, vLLM and Ollama read max_tokens.
        options["extra_body"] = {"max_tokens": policy.reply_tokens}
    try:
        return ChatOpenAI(model=name, base_url=base_url, api_key=key, **options)  # type: ignore[arg-type]
    except Exception as exc:  # openai.OpenAIError and friends: one line, not a traceback of the client
        raise ValueError(f"Cannot build the OpenAI client for {name!r}: {exc}") from exc


def load_chat_model(name: str, *, env: Mapping[str, str] | None = None) -> BaseChatModel:
    """Build the chat model called ``name`` (``"provider:model"`` or a bare OpenAI name).

    The provider prefix is case-insensitive. ``openai:...`` and bare names use
    ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` the same way (no key needed with a base
    URL), with the reply bound and the request timeout of :class:`~langmem_ext.llm.CallPolicy`.

    Example:
        >>> env = {"OPENAI_BASE_URL": "http://127.0.0.1:7200/v1"}
        >>> load_chat_model("OPENAI:smollm2", env=env).model_name
        'smollm2'
        >>> load_chat_model("openai:gpt-4o-mini", env={})
        Traceback (most recent call last):
        ...
        ValueError: Model 'openai:gpt-4o-mini' needs an OpenAI-compatible endpoint, but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set. Set OPENAI_BASE_URL (vLLM, Ollama, llama.cpp, LM Studio) or OPENAI_API_KEY, or name another provider: 'anthropic:...', 'ollama:...'.

    Raises:
        ValueError: naming the missing integration package, endpoint or the bad name.
    """
    env = os.environ if env is None else env
    if not name or not name.strip():
        raise ValueError("Empty model name; use 'provider:model' (e.g. 'openai:gpt-4o-mini').")
    name = name.strip()
    if ":" not in name:
        return _openai_model(name, env, prefixed=False)
    provider, model = (part.strip() for part in name.split(":", 1))
    if provider.lower() == "openai":
        return _openai_model(model, env, prefixed=True)
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(f"{provider.lower()}:{model}")
    except ImportError as exc:
        raise ValueError(
            f"Cannot load model {name!r}: {exc}. Install the provider's LangChain package "
            "(e.g. `pip install langchain-anthropic`)."
        ) from exc
    except ValueError:
        raise
    except Exception as exc:  # a provider client that cannot start (no key ...): one line
        raise ValueError(f"Cannot load model {name!r}: {type(exc).__name__}: {exc}") from exc


def as_chat_model(model: BaseChatModel | str | None) -> BaseChatModel | None:
    """A chat model from a model or a name (:func:`load_chat_model`); ``None`` stays ``None``."""
    return load_chat_model(model) if isinstance(model, str) else model


logger = logging.getLogger(__name__)
_announced_offline = False


def default_memory_model(*, env: Mapping[str, str] | None = None) -> BaseChatModel | None:
    """The configured memory model (what nodes use when no ``model=`` is given), or None.

    ``None`` means no model is configured: the nodes then run their offline strategies,
    and the first call in a process says so once in the log (INFO).

    Example:
        >>> default_memory_model(env={}) is None
        True
        >>> default_memory_model(env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}).model_name
        'gpt-4o-mini'
    """
    global _announced_offline
    name = model_name("memory", env=env)
    if name is None:
        if not _announced_offline:
            _announced_offline = True
            logger.info("%s", OFFLINE_NOTICE)
        return None
    return load_chat_model(name, env=env)


@dataclass(frozen=True)
class Models:
    """The models a graph runs with.

    Attributes:
        chat: answers the user (an :class:`OfflineResponder` when offline).
        memory: summarises and reflects; ``None`` selects the offline strategies.
        offline: whether no real chat model is configured.
        description: one line saying which models are in use.
    """

    chat: BaseChatModel
    memory: BaseChatModel | None
    offline: bool
    description: str


def resolve_models(*, env: Mapping[str, str] | None = None) -> Models:
    """The chat and memory models configured in ``env`` (``os.environ`` by default)."""
    chat_name = model_name("chat", env=env)
    memory_name = model_name("memory", env=env)
    if chat_name is None:
        return Models(chat=OfflineResponder(), memory=None, offline=True, description=OFFLINE_NOTICE)
    chat = load_chat_model(chat_name, env=env)
    memory = chat if memory_name == chat_name else load_chat_model(memory_name or chat_name, env=env)
    return Models(
        chat=chat,
        memory=memory,
        offline=False,
        description=f"Models: chat={chat_name}, memory={memory_name or chat_name}.",
    )

