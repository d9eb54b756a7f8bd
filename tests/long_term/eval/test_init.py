from __future__ import annotations

import langmem_ext.embeddings as emb
import langmem_ext.long_term.eval as ev


def test_public_names_resolve_once():
    for module in (ev, emb):
        assert len(module.__all__) == len(set(module.__all__))
        for name in module.__all__:
            assert getattr(module, name) is not None, name
    for name in ("run_locomo_eval", "print_locomo_report", "load_locomo"):
        assert name in ev.__all__
    assert "recall" not in ev.__all__  # the recipe is exported once, by langmem_ext.long_term.retrieval
    for name in ("MiniLMEmbeddings", "resolve_embeddings", "MINILM_SPEC"):
        assert name in emb.__all__
