"""Model lifecycle: a model past its deprecation date is refused, as the service refuses it.

The dates come from the bundled catalog (data only: :func:`workersai.catalog.deprecation`), which
records the 18 models of the changelog of 2026-05-08
(https://developers.cloudflare.com/changelog/post/2026-05-08-planned-model-deprecations/), deprecated on
2026-05-30.

The answer: HTTP 410 with code 5028 and ``AiError: Model has been deprecated: {model} was deprecated on
{date}. See the model catalog for alternatives``. The errors page does not list 5028; status, code and
message are those of the service's REST answers as captured by users after 2026-05-30 (a logged
``POST /ai/run/@cf/meta/llama-3-8b-instruct -> 410 {"errors": [{"message": "AiError: Model has been
deprecated: @cf/meta/llama-3-8b-instruct was deprecated on 2026-05-30...", "code": 5028}]}`` of
2026-09-14, and the same message in full in a litellm ``CloudflareException`` kept in a test suite); the
Workers binding words it ``5028: This model was deprecated on 2026-05-30. Please use an alternative
model`` (cloudflare/cloudflare-docs#32501).

Kimi K2.5 is the exception the changelog states: its requests are aliased to Kimi K2.6 from the date, so
it is served (as itself here: one generator stands behind every model) rather than refused.

``today`` sets the date the rules are read at (tests; ``workersai-local --today``) and ``serve_anyway``
serves every model whatever its date (``--serve-deprecated``).
"""

from __future__ import annotations

import datetime as dt

from ...catalog import deprecation
from . import Rejected

RETIRED_STATUS = 410
RETIRED_CODE = 5028
ALIASED = frozenset({"@cf/moonshotai/kimi-k2.5"})
"""Deprecated models the service keeps answering under another model (the changelog's Kimi K2.5)."""


def check_not_retired(model: str, today: dt.date | None = None, *, serve_anyway: bool = False) -> None:
    """Refuse ``model`` (410/5028) when its deprecation date is on or before ``today`` (default: the
    real date), unless ``serve_anyway`` or the service aliases it."""
    found = deprecation(model)
    if found is None or serve_anyway or model in ALIASED:
        return
    if found.date <= (today or dt.date.today()):
        raise Rejected(
            RETIRED_STATUS,
            RETIRED_CODE,
            f"AiError: Model has been deprecated: {model} was deprecated on {found.date.isoformat()}. "
            "See the model catalog for alternatives",
        )
