"""The full ``chatbot`` graph on the asyncio backends (AsyncRedisSaver, AsyncRedisStore).

    python examples/async_chatbot.py

Prints, per turn, the reply and how many tokens reached the model.
"""

from __future__ import annotations

import asyncio

from langchain_core.messages import HumanMessage

from langmem_ext import redis_url
from langmem_ext.checkpoint import AsyncRedisSaver
from langmem_ext.graphs.chatbot import await_reflection, build_graph
from langmem_ext.graphs.common import STORE_INDEX, thread_config
from langmem_ext.store import AsyncRedisStore


async def main() -> None:
    url = redis_url()
    async with AsyncRedisSaver.from_conn_string(url) as saver, AsyncRedisStore.from_conn_string(url, index=STORE_INDEX) as store:
        chatbot = build_graph(checkpointer=saver, store=store, context_budget=500)
        for thread, text in [
            ("a", "My partner Tom and I are moving to Ghent in spring."),
            ("a", "I am a primary school teacher."),
            ("b", "Where are we moving?"),
        ]:
            if thread == "b":
                await await_reflection(chatbot)  # background reflection done before the new thread
            state = await chatbot.ainvoke({"messages": [HumanMessage(text)]}, thread_config(f"async-{thread}", user_id="ella"))
            print(f"[{thread}] you: {text}")
            print(f"[{thread}] bot: {state['messages'][-1].content}  ({state['context_tokens']} tokens in context)")
        await await_reflection(chatbot)


if __name__ == "__main__":
    asyncio.run(main())
