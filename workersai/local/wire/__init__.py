"""How generated text goes on the wire, one module per response family:

- :mod:`.legacy`: Workers AI's own ``{response, tool_calls, usage}`` and its SSE frames;
- :mod:`.openai`: OpenAI's ``chat.completion`` and its ``chat.completion.chunk`` stream.

:mod:`.sse` holds what the streams share (frames, pacing, padding, tool-call deltas). A new family
(e.g. the Responses API) is a new module next to these, rendering a
:class:`~workersai.local.generator.Generation`.
"""
