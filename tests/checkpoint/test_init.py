"""The public names of langmem_ext.checkpoint."""

from __future__ import annotations

import inspect

from langgraph.checkpoint.base import BaseCheckpointSaver

import langmem_ext.checkpoint as checkpoint


def test_public_names_are_exported_once_and_are_real() -> None:
    assert sorted(checkpoint.__all__) == sorted(set(checkpoint.__all__))
    assert all(getattr(checkpoint, name) is not None for name in checkpoint.__all__)
    assert issubclass(checkpoint.RedisSaver, BaseCheckpointSaver)
    assert issubclass(checkpoint.AsyncRedisSaver, BaseCheckpointSaver)


def test_sync_and_async_savers_offer_the_same_operations_with_the_same_options() -> None:
    pairs = [("get_tuple", "aget_tuple"), ("list", "alist"), ("put", "aput"),
             ("put_writes", "aput_writes"), ("delete_thread", "adelete_thread"),
             ("delete_for_runs", "adelete_for_runs"), ("copy_thread", "acopy_thread"),
             ("prune", "aprune"), ("purge_messages", "apurge_messages"), ("setup", "asetup")]  # fmt: skip
    for sync_name, async_name in pairs:
        sync_sig = inspect.signature(getattr(checkpoint.RedisSaver, sync_name))
        async_sig = inspect.signature(getattr(checkpoint.AsyncRedisSaver, async_name))
        assert list(sync_sig.parameters) == list(async_sig.parameters), sync_name
    for name in ("__init__", "from_conn_string"):
        sync_params = inspect.signature(getattr(checkpoint.RedisSaver, name)).parameters
        async_params = inspect.signature(getattr(checkpoint.AsyncRedisSaver, name)).parameters
        assert list(sync_params) == list(async_params)
        assert all(
            p.kind is p.KEYWORD_ONLY
            for n, p in sync_params.items()
            if n not in ("self", "cls", "client", "url")
        )
