"""The parts :class:`~workersai.WorkersAI` is made of, one module a resource (as openai-python's
``resources/``): :mod:`.base` (settings, URLs, ``run``), :mod:`.embeddings` (embeddings and reranking),
:mod:`.batches` (the Batch API), :mod:`.chat` (chat and streaming chat) and :mod:`.models` (the live
catalog). Each holds the sync and async twins of its calls, which share everything but the send."""
