"""Scripted answers: a test says what a text generation model answers next, and the emulator answers
that instead of running its generator, in the model's own family shape on every route (``/ai/run``,
``/ai/v1/chat/completions``, ``/ai/v1/responses``, the gateway's; JSON or a stream).

A :class:`Script` is an answer (``text``, ``tool_calls``, ``json``, ``reasoning``, or an ``error`` such
as ``"3040"``, optionally a stream ``cut_after`` some frames) for a ``model`` (or any model) and the
requests that match its predicates (``contains``: text in any message; ``last_role``: the role of the
last message, e.g. ``"tool"`` once a tool has answered; ``path``: the end of the request path), used
``times`` times (None: always). Scripts are tried in the order they were added; the first that matches
a request answers it. Requests no script matches are generated as before.

Set them with ``POST /__local__/scripts`` (a script, or a list of them), list them with ``GET``,
remove them all with ``DELETE``; from Python with :meth:`~workersai.local.control.EmulatorControl.script`.
The request's own checks (a bad body, a context window exceeded, a deprecated model) still come first:
a script replaces only the generator. Its text is sent whole, whatever ``max_tokens`` says.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..catalog import did_you_mean, get_model
from .faults import ERRORS
from .wire.reasoning import content_text

__all__ = ["Script", "ScriptBook", "tool_call"]

SCRIPT_ERRORS = {name: spec for name, spec in ERRORS.items() if spec[0] >= 400 and "-" not in name}
"""The errors a script can answer: the fault kinds that are a status (3040, 3021, 3036, 500, 502, 503,
408, 3008, 5016), as :mod:`.faults` describes them."""
ROLES = ("user", "assistant", "tool", "system")
EXAMPLE_CALL = '{"name": "get_weather", "arguments": {"city": "Lyon"}}'


def tool_call(name: str, /, **arguments: Any) -> dict[str, Any]:
    """A tool call for :meth:`EmulatorControl.script`: ``tool_call("get_weather", city="Lyon")``."""
    return {"name": name, "arguments": arguments}


@dataclass
class Script:
    """One scripted answer and the requests it is for."""

    model: str | None = None
    text: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    reasoning: str | None = None
    json: Any = None
    error: str | None = None
    cut_after: int | None = None
    contains: str | None = None
    last_role: str | None = None
    path: str | None = None
    times: int | None = 1
    id: int = 0
    used: int = 0
    when: Callable[[dict[str, Any]], bool] | None = field(default=None, repr=False, compare=False)
    """In-process only (:meth:`LocalEmulator.script <workersai.local.LocalEmulator.script>`): a
    predicate on the request's body."""

    _FROM_JSON = ("model", "text", "tool_calls", "reasoning", "json", "error", "cut_after", "contains")
    _FROM_JSON_MORE = ("last_role", "path", "times")

    @classmethod
    def from_json(cls, data: Any) -> Script:
        """A script from its JSON form, checked: ValueError with what to change."""
        if not isinstance(data, Mapping):
            raise ValueError('a script is an object, e.g. {"model": "@cf/...", "text": "Hello"}')
        allowed = cls._FROM_JSON + cls._FROM_JSON_MORE
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise ValueError(f"unknown script fields {unknown}; the fields are {list(allowed)}")
        script = cls(**dict(data))
        script.check()
        return script

    def check(self) -> None:
        """ValueError naming the fix for a script that cannot be answered."""
        _check_model(self.model)
        for name in ("text", "reasoning", "contains", "path"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"'{name}' must be a string, got {type(value).__name__}")
        if isinstance(self.error, int) and not isinstance(self.error, bool):
            self.error = str(self.error)
        if self.error is not None and self.error not in SCRIPT_ERRORS:
            raise ValueError(
                f"unknown error {self.error!r}; a script's error is one of {sorted(SCRIPT_ERRORS)}"
            )
        if self.tool_calls is not None:
            self.tool_calls = _checked_calls(self.tool_calls)
        answers = [n for n in ("text", "tool_calls", "json") if getattr(self, n) is not None]
        if self.error is not None and (answers or self.reasoning is not None):
            raise ValueError(
                f"a script answers an error or an answer, not both: drop {answers or ['reasoning']}"
            )
        if self.json is not None and answers != ["json"]:
            raise ValueError("'json' is the whole answer: drop 'text' and 'tool_calls' from this script")
        if self.error is None and not answers and self.reasoning is None:
            raise ValueError("a script needs an answer: 'text', 'tool_calls', 'json', 'reasoning' or 'error'")
        if self.last_role is not None and self.last_role not in ROLES:
            raise ValueError(f"'last_role' must be one of {list(ROLES)}, got {self.last_role!r}")
        for name in ("cut_after", "times"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"'{name}' must be a whole number >= 0 (times: null for always)")
        if self.times == 0:
            raise ValueError("'times' must be at least 1 (null: always)")

    def matches(
        self, model: str, messages: Sequence[Mapping[str, Any]], body: dict[str, Any], path: str
    ) -> bool:
        if self.model is not None and self.model != model:
            return False
        if self.path is not None and not path.endswith(self.path):
            return False
        if self.last_role is not None and (not messages or messages[-1].get("role") != self.last_role):
            return False
        if self.contains is not None and self.contains not in " ".join(
            content_text(m.get("content")) for m in messages
        ):
            return False
        return self.when is None or bool(self.when(body))

    def to_json(self) -> dict[str, Any]:
        skip = {"when"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        out["when"] = None if self.when is None else getattr(self.when, "__name__", "a predicate")
        return out


def _check_model(model: Any) -> None:
    if model is None:
        return
    if not isinstance(model, str):
        raise ValueError(f"'model' must be a model name, got {type(model).__name__}")
    info = get_model(model)
    if info is None:
        close = did_you_mean(model)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise ValueError(
            f"no model {model} in the catalog: {hint}scripts are for catalog text generation models "
            "(GET /client/v4/accounts/{a}/ai/models/search lists them), or leave 'model' out for any model"
        )
    if not info.is_generation:
        raise ValueError(
            f"{model} is not a text generation model: scripts answer for text generation models "
            "(e.g. @cf/meta/llama-3.3-70b-instruct-fp8-fast)"
        )


def _checked_calls(calls: Any) -> list[dict[str, Any]]:
    if not isinstance(calls, list) or not calls:
        raise ValueError(f"'tool_calls' must be a non-empty list of calls like {EXAMPLE_CALL}")
    checked = []
    for i, call in enumerate(calls):
        if not isinstance(call, Mapping) or set(call) - {"name", "arguments"} or "name" not in call:
            raise ValueError(
                f"tool_calls[{i}] must be {EXAMPLE_CALL} (keys 'name' and 'arguments'), got {call!r}"
            )
        name, arguments = call["name"], call.get("arguments", {})
        if not isinstance(name, str) or not name:
            raise ValueError(f"tool_calls[{i}]: 'name' must be the tool's name, a non-empty string")
        if not isinstance(arguments, Mapping):
            raise ValueError(
                f'tool_calls[{i}]: \'arguments\' must be an object such as {{"city": "Lyon"}}, got '
                f"{type(arguments).__name__} {arguments!r}"
                + (" (decode the JSON string first: json.loads)" if isinstance(arguments, str) else "")
            )
        checked.append({"name": name, "arguments": dict(arguments)})
    return checked


class ScriptBook:
    """The scripts in force, in the order they were added."""

    def __init__(self) -> None:
        self._scripts: list[Script] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, script: Script) -> Script:
        script.check()
        with self._lock:
            script.id = next(self._ids)
            self._scripts.append(script)
        return script

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()

    def all(self) -> list[Script]:
        with self._lock:
            return list(self._scripts)

    def take(
        self, model: str, messages: Sequence[Mapping[str, Any]], body: dict[str, Any], path: str = ""
    ) -> Script | None:
        """The first script that matches this request, counted as used (and dropped once used up)."""
        with self._lock:
            for script in self._scripts:
                if script.matches(model, messages, body, path):
                    script.used += 1
                    if script.times is not None and script.used >= script.times:
                        self._scripts.remove(script)
                    return script
        return None
