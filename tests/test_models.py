from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from langmem_ext.models import (
    OFFLINE_NOTICE,
    OfflineResponder,
    compose_reply,
    load_chat_model,
    model_name,
    rank_candidates,
    resolve_models,
)

MEMORY_BLOCK = SystemMessage(
    "You are a helpful assistant.\nMemories about the user:\n"
    "- The user lives in Porto.\n- The user's dog is called Pixel.\n- The user drinks green tea every morning."
)


@pytest.mark.parametrize(
    ("env", "chat", "memory"),
    [
        ({}, None, None),
        ({"LANGMEM_EXT_CHAT_MODEL": "anthropic:claude-x"}, "anthropic:claude-x", "anthropic:claude-x"),
        ({"LANGMEM_EXT_CHAT_MODEL": "a:b", "LANGMEM_EXT_MEMORY_MODEL": "c:d"}, "a:b", "c:d"),
        ({"OPENAI_API_KEY": "k"}, "gpt-4o-mini", "gpt-4o-mini"),
        ({"OPENAI_API_KEY": "k", "LANGMEM_EXT_OFFLINE": "1"}, None, None),
        ({"LANGMEM_EXT_MEMORY_MODEL": "c:d"}, None, "c:d"),
    ],
)
def test_model_names_per_role(env, chat, memory) -> None:
    assert model_name("chat", env=env) == chat
    assert model_name("memory", env=env) == memory


def test_bad_role_is_named() -> None:
    with pytest.raises(ValueError, match="'chat' or 'memory'"):
        model_name("judge", env={})  # type: ignore[arg-type]


def test_offline_when_nothing_configured() -> None:
    models = resolve_models(env={})
    assert models.offline and models.memory is None
    assert isinstance(models.chat, OfflineResponder)
    assert models.description == OFFLINE_NOTICE and "\n" not in OFFLINE_NOTICE


def test_openai_compatible_endpoint_needs_no_key() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "LANGMEM_EXT_CHAT_MODEL": "llama3"}
    models = resolve_models(env=env)
    assert not models.offline
    assert type(models.chat).__name__ == "ChatOpenAI"
    assert models.chat.model_name == "llama3"
    assert str(models.chat.openai_api_base).startswith("http://127.0.0.1:9")
    assert models.memory is models.chat


def test_provider_prefixed_names_use_init_chat_model(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = load_chat_model("openai:gpt-4o-mini")
    assert type(model).__name__ == "ChatOpenAI" and model.model_name == "gpt-4o-mini"


def test_separate_memory_model() -> None:
    env = {"OPENAI_API_KEY": "k", "LANGMEM_EXT_CHAT_MODEL": "gpt-4o", "LANGMEM_EXT_MEMORY_MODEL": "gpt-4o-mini"}
    models = resolve_models(env=env)
    assert models.chat.model_name == "gpt-4o" and models.memory.model_name == "gpt-4o-mini"


def test_bare_name_without_endpoint_says_what_to_set() -> None:
    with pytest.raises(ValueError, match="OPENAI_API_KEY nor OPENAI_BASE_URL"):
        load_chat_model("gpt-4o", env={})


def test_unknown_provider_is_an_error() -> None:
    with pytest.raises(ValueError):
        load_chat_model("no-such-provider-xyz:model", env={})


def test_responder_answers_from_the_memory_block() -> None:
    reply = OfflineResponder().invoke([MEMORY_BLOCK, HumanMessage("Where do I live?")])
    assert "Porto" in reply.content
    assert "Pixel" not in reply.content  # only what matches the question


def test_responder_says_when_it_found_nothing() -> None:
    reply = OfflineResponder().invoke([MEMORY_BLOCK, HumanMessage("What is my favourite film?")])
    assert "found nothing" in reply.content and "film" in reply.content


def test_responder_uses_earlier_statements_of_the_conversation() -> None:
    messages = [
        HumanMessage("I play the cello on Tuesdays."),
        AIMessage("ok"),
        HumanMessage("Which instrument do I play?"),
    ]
    assert "cello" in OfflineResponder().invoke(messages).content


def test_statements_are_acknowledged_in_the_users_words() -> None:
    reply = OfflineResponder().invoke([HumanMessage("My sister lives in Berlin.")])
    assert reply.content.startswith("Noted: your sister lives in Berlin")


def test_embeddings_find_what_words_miss() -> None:
    from langmem_ext.embeddings import MiniLMEmbeddings

    lines = ["The user has a dog called Pixel.", "The user drinks green tea every morning."]
    assert rank_candidates("What pet do I own?", lines) == []
    ranked = rank_candidates("What pet do I own?", lines, embed=MiniLMEmbeddings().embed_documents)
    assert ranked and ranked[0][1] == 0


def test_responder_calls_memory_tools_when_bound() -> None:
    @tool
    def search_memory(query: str) -> str:
        """Search memories."""
        return ""

    @tool
    def manage_memory(content: str, action: str = "create") -> str:
        """Store a memory."""
        return ""

    model = OfflineResponder().bind_tools([search_memory, manage_memory])
    ask = model.invoke([HumanMessage("Where do I live?")])
    assert ask.tool_calls[0]["name"] == "search_memory"
    assert ask.tool_calls[0]["args"] == {"query": "Where do I live?"}
    tell = model.invoke([HumanMessage("I live in Porto.")])
    assert tell.tool_calls[0]["name"] == "manage_memory"
    assert tell.tool_calls[0]["args"] == {"content": "The user lives in Porto.", "action": "create"}
    call_id = ask.tool_calls[0]["id"]
    answer = model.invoke(
        [HumanMessage("Where do I live?"), ask, ToolMessage("The user lives in Porto.", tool_call_id=call_id)]
    )
    assert not answer.tool_calls and "Porto" in answer.content


def test_compose_reply_without_a_user_message() -> None:
    assert "no message" in compose_reply([SystemMessage("x")])


def test_responder_ignores_memories_no_longer_true() -> None:
    block = SystemMessage(
        "<memories>\n"
        '- [semantic] (no longer true since 2026-01-02) "User lives in Lisbon"\n'
        '- [semantic] "User lives in Porto"\n'
        "</memories>"
    )
    reply = OfflineResponder().invoke([block, HumanMessage("Where do I live now?")]).content
    assert "Porto" in reply and "Lisbon" not in reply and '"' not in reply


def test_responder_fills_nested_memory_arguments_of_the_manage_tool() -> None:
    from langgraph.store.memory import InMemoryStore

    from langmem_ext.long_term.tools import create_manage_memory_tool, create_search_memory_tool

    store = InMemoryStore()
    tools = [create_manage_memory_tool(store=store), create_search_memory_tool(store=store)]
    call = OfflineResponder().bind_tools(tools).invoke([HumanMessage("I work at the aquarium.")]).tool_calls[0]
    assert call["args"] == {"action": "create", "memory": {"content": "The user works at the aquarium."}}
    tools[0].invoke(call["args"], {"configurable": {"user_id": "u"}})
    assert [i.value["content"] for i in store.search(("memories", "u"))] == ["The user works at the aquarium."]


def test_openai_prefixed_name_on_a_local_endpoint_needs_no_key() -> None:
    model = load_chat_model("openai:qwen2.5", env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert model.model_name == "qwen2.5" and str(model.openai_api_base).startswith("http://127.0.0.1:9")


def test_default_memory_model_is_the_configured_one_and_offline_is_announced_once(caplog, monkeypatch) -> None:
    import langmem_ext.models as models

    env = {"LANGMEM_EXT_MEMORY_MODEL": "my-model", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    assert models.default_memory_model(env=env).model_name == "my-model"
    monkeypatch.setattr(models, "_announced_offline", False)
    with caplog.at_level("INFO", logger="langmem_ext.models"):
        assert models.default_memory_model(env={}) is None
        assert models.default_memory_model(env={"LANGMEM_EXT_OFFLINE": "1", "OPENAI_API_KEY": "k"}) is None
    assert [r.getMessage() for r in caplog.records] == [OFFLINE_NOTICE]


@pytest.mark.parametrize("name", ["openai:gpt-4o-mini", "OPENAI:gpt-4o-mini", "OpenAI: gpt-4o-mini", "gpt-4o-mini"])
def test_openai_names_use_the_base_url_without_a_key(name) -> None:
    model = load_chat_model(name, env={"OPENAI_BASE_URL": "http://127.0.0.1:7299/v1"})
    assert type(model).__name__ == "ChatOpenAI" and model.model_name == "gpt-4o-mini"
    assert str(model.openai_api_base).startswith("http://127.0.0.1:7299")
    # bounded replies: max_tokens under both names (llama.cpp reads max_tokens), a timeout
    assert model.max_tokens == 512 and model.extra_body == {"max_tokens": 512} and model.request_timeout == 60


@pytest.mark.parametrize("name", ["openai:gpt-4o-mini", "gpt-4o-mini"])
def test_no_endpoint_and_no_key_is_one_line_of_ours(monkeypatch, name) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError) as info:
        load_chat_model(name)
    message = str(info.value)
    assert "\n" not in message and "OPENAI_BASE_URL" in message and "OPENAI_API_KEY" in message
    assert type(info.value) is ValueError  # not openai.OpenAIError
