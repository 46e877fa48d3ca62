"""Checks made before any request, so bad input fails fast with a clear, typed error."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence

from .catalog import deprecation, did_you_mean, get_model, is_third_party
from .errors import BadInput, ConfigurationError, ModelNotFound

_MODEL_ID = re.compile(r"@(cf|hf)/[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+")
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def clean_setting(value: str, what: str, *, ascii_only: bool = False) -> str:
    """``value`` without surrounding whitespace (as read from a secret file or a pasted line).

    Whitespace or control characters left inside would corrupt a header or a URL, so they are refused
    with an error that names the setting, never its value (the value may be a token)."""
    value = value.strip()
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ConfigurationError(f"{what} contains whitespace or control characters")
    if ascii_only and not value.isascii():
        raise ConfigurationError(f"{what} contains non-ASCII characters")
    return value


def check_account_id(account_id: str) -> str:
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise ConfigurationError("account id must be letters, digits, '-' or '_' (a 32-hex Cloudflare id)")
    return account_id


def check_gateway_id(gateway_id: str) -> str:
    if not _ACCOUNT_ID.fullmatch(gateway_id):
        raise ConfigurationError("AI Gateway id must be letters, digits, '-' or '_'")
    return gateway_id


_WARNED: set[str] = set()
"""The deprecated models warned about in this process (once each)."""


def warn_if_deprecated(model: str) -> None:
    """A :class:`DeprecationWarning` (once per model per process) for a model with an announced
    deprecation date, naming the catalog's replacement. The service refuses such a model from that
    date (410, code 5028); the request is still sent: the service decides."""
    found = deprecation(model)
    if found is None or model in _WARNED:
        return
    _WARNED.add(model)
    instead = f"; use {found.replacement} instead" if found.replacement else ""
    warnings.warn(
        f"{model} is deprecated on Workers AI from {found.date.isoformat()}{instead} "
        "(https://developers.cloudflare.com/changelog/post/2026-05-08-planned-model-deprecations/)",
        DeprecationWarning,
        stacklevel=4,
    )


def check_model(model: str, task: str | None = None, *, use_catalog: bool = True) -> str:
    """Check a model id's form, and, when ``use_catalog`` and the bundled catalog knows the model,
    that it is a model for ``task``. A well-formed id the catalog lacks is sent as it is: the service
    decides (it answers 5007 for a model it does not have), so models newer than the snapshot work.
    A model with a deprecation date is warned about (:func:`warn_if_deprecated`)."""
    if not isinstance(model, str) or not _MODEL_ID.fullmatch(model):
        if is_third_party(model):
            raise ModelNotFound(
                f"{model!r} is a third-party model (AI Gateway Unified Billing), served through chat only"
            )
        close = did_you_mean(model) if isinstance(model, str) else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ModelNotFound(f"not a Workers AI model id: {model!r} (expected '@cf/<author>/<name>'){hint}")
    warn_if_deprecated(model)
    if use_catalog:
        info = get_model(model)
        if info is not None and task is not None and info.task != task:
            raise BadInput(f"model {model!r} is a {info.task} model, not {task}")
    return model


def check_texts(texts: Sequence[str]) -> list[str]:
    """Texts to embed: a non-empty list of non-blank strings."""
    if isinstance(texts, str):
        raise BadInput("texts must be a list of strings, not one string")
    items = list(texts)
    if not items:
        raise BadInput("texts must not be empty")
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise BadInput(f"texts[{i}] is {type(text).__name__}, not str")
        if not text.strip():
            raise BadInput(f"texts[{i}] is empty; Workers AI cannot embed an empty text")
    return items
