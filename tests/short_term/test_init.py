import langmem_ext.short_term as st


def test_every_public_name_is_exported_once_and_resolves():
    assert len(st.__all__) == len(set(st.__all__))
    for name in st.__all__:
        assert getattr(st, name) is not None
    for name in ("TrimNode", "SummarizationNode", "DeletionNode", "ImportanceFilterNode",
                 "SummaryMiddleware", "trim_history", "summarize_history", "build_context"):
        assert name in st.__all__
