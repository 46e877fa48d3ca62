"""How generated text goes on the wire, one module per response family:

- :mod:`.legacy`: Workers AI's own ``{response, tool_calls, usage}`` and its SSE frames;
- :mod:`.openai`: OpenAI's ``chat.completion`` and its ``chat.completion.chunk`` stream;
- :mod:`.responses`: the OpenAI Responses object (gpt-oss) and its typed event stream.

:mod:`.sse` holds what the streams share (frames, named events, pacing, padding, tool-call deltas);
:mod:`.reasoning` the reasoning a catalog reasoning model shows, derived from the request and the
generation. A new family is a new module next to these, rendering a
:class:`~workersai.local.generation.Generation`.
"""
