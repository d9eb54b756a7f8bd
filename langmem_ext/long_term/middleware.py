"""Long-term memory for LangChain v1 ``create_agent``: recall before the model, reflection after.

* :class:`RecallMiddleware` recalls, before every model call, the memories relevant to the
  conversation and the user's rules, and merges them into the agent's system message (the
  leading system content; the stored messages are never touched). Options as
  :class:`~langmem_ext.long_term.recall.RecallNode`.
* :class:`ReflectionMiddleware` hands each finished agent turn to a
  :class:`~langmem_ext.long_term.reflection.ReflectionNode`, in the background by default
  (debounced, retried, flushed at exit; :meth:`~ReflectionMiddleware.flush` waits now).
  Options as ``ReflectionNode``; ``model`` defaults to the configured memory model.

Both use the agent's store (``create_agent(..., store=...)``) and read the user from the run's
``configurable`` or the runtime ``context`` (``user_id``). Put ``RecallMiddleware`` before
``TrimMiddleware`` so the trimming budget counts the memory block.

Example:
    >>> from langchain.agents import create_agent
    >>> from langchain_core.messages import HumanMessage
    >>> from langgraph.store.memory import InMemoryStore
    >>> from langmem_ext.long_term.testing import HASH_DIMS, ScriptedChatModel, hash_embed
    >>> store = InMemoryStore(index={"dims": HASH_DIMS, "embed": hash_embed, "fields": ["content"]})
    >>> model = ScriptedChatModel(responses=["Noted.", "Peanuts."])
    >>> reflect = ReflectionMiddleware(model=None)  # None: the offline extractor
    >>> agent = create_agent(model, system_prompt="Be brief.", store=store,
    ...                      middleware=[RecallMiddleware(reinforce="off"), reflect])
    >>> user = {"configurable": {"user_id": "u1", "thread_id": "a"}}
    >>> _ = agent.invoke({"messages": [HumanMessage("I am allergic to peanuts.")]}, user)
    >>> reflect.flush()
    1
    >>> _ = agent.invoke({"messages": [HumanMessage("What am I allergic to?")]}, {**user, "configurable": {"user_id": "u1"}})
    >>> "allergic to peanuts" in model.calls[-1][0].content  # in the system message the model saw
    True
    >>> reflect.flush()
    1
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from langchain.agents.middleware.types import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import SystemMessage
from langchain_core.runnables import RunnableConfig

from langmem_ext._options import CONFIGURED
from langmem_ext.contract import merge_system, run_config
from langmem_ext.long_term.recall import RecallNode
from langmem_ext.long_term.reflection import ReflectionNode

__all__ = ["RecallMiddleware", "ReflectionMiddleware"]


def _config() -> RunnableConfig:
    from langgraph.config import get_config

    try:
        return run_config(get_config())
    except RuntimeError:  # outside a run (a test calling the hook directly)
        return {}


class RecallMiddleware(AgentMiddleware):
    """Recalled memories and rules in the agent's system message, before every model call.

    Args:
        **options: :class:`~langmem_ext.long_term.recall.RecallNode`'s options (``kinds``,
            ``namespaces``, ``max_tokens``, ``quotas``, ``mode``, ``reinforce`` ...).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__()
        self.recaller = RecallNode(**options, name="recall_middleware")

    @staticmethod
    def _with_block(request: ModelRequest, text: str) -> ModelRequest:
        if not text:
            return request
        head = [request.system_message] if request.system_message is not None else []
        (merged,) = merge_system([*head, SystemMessage(text)])
        return request.override(system_message=merged)

    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> ModelResponse:
        found = self.recaller.recall(request.messages, config=_config(), store=request.runtime.store)
        return handler(self._with_block(request, found.text))

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        found = await self.recaller.arecall(request.messages, config=_config(), store=request.runtime.store)
        return await handler(self._with_block(request, found.text))

    def flush(self) -> None:
        """Write the pending background reinforcement now."""
        self.recaller.flush()

    async def aflush(self) -> None:
        """Async :meth:`flush`."""
        await self.recaller.aflush()


class ReflectionMiddleware(AgentMiddleware):
    """Reflect on each finished agent turn (in the background by default).

    Args:
        model: The reflection model; default: the configured memory model (offline when
            none is configured); ``None``: always offline.
        background: Reflect in the background (debounced per thread) instead of before the
            agent returns.
        **options: :class:`~langmem_ext.long_term.reflection.ReflectionNode`'s other options.
    """

    def __init__(self, *, model: Any = CONFIGURED, background: bool = True, **options: Any) -> None:
        super().__init__()
        self.reflector = ReflectionNode(model=model, background=background, name="reflection_middleware", **options)

    def after_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        self.reflector.handle(state["messages"], config=_config(), store=runtime.store)
        return None

    async def aafter_agent(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        await self.reflector.ahandle(state["messages"], config=_config(), store=runtime.store)
        return None

    def flush(self, timeout: float | None = None) -> int:
        """Run the pending background reflections now and wait (see ``ReflectionNode.flush``)."""
        return self.reflector.flush(timeout=timeout)

    async def aflush(self) -> int:
        """Async :meth:`flush`."""
        return await self.reflector.aflush()
