"""Cloudflare's own models: Clef decisions (``decide``) and Clairic extraction (``extract``).

Each request is checked and built in :mod:`workersai.decisions` / :mod:`workersai.extraction` (every
limit the pages state, before any request) and sent as :meth:`run` sends any model: REST or the
binding, with the client's pacing, retries, ``rejectIfBusy`` and gateway."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from ..decisions import DEFAULT_DECISION_MODEL, Decision, DecisionRequest, Media
from ..extraction import EXTRACTION_MODEL, Extraction, ExtractionRequest
from ..gateway import GatewayOptions
from .base import ClientBase


class Native(ClientBase):
    """``decide`` / ``adecide`` (Clef) and ``extract`` / ``aextract`` (Clairic)."""

    # The builders shared by the twins: the public methods' keywords, checked against the catalog when
    # the client validates models.
    def _decision(self, state: Any, questions: Mapping[str, Any], **options: Any) -> DecisionRequest:
        return DecisionRequest.build(state, questions, use_catalog=self.validate_models, **options)

    def _extraction(self, state: str, fields: Mapping[str, Any], **options: Any) -> ExtractionRequest:
        return ExtractionRequest.build(state, fields, use_catalog=self.validate_models, **options)

    def decide(
        self,
        state: Any,
        questions: Mapping[str, Any],
        *,
        model: str = DEFAULT_DECISION_MODEL,
        images: Sequence[Media] | None = None,
        audio: Sequence[Media] | None = None,
        videos: Sequence[Media] | None = None,
        gateway: GatewayOptions | None = None,
    ) -> Decision:
        """Ask Clef typed ``questions`` about ``state`` (text, or a JSON object or array): each is
        ``{"type": "noul" | "choice" | "score", "instructions": ..., "criteria": ...}``. Returns a
        probability for every option of every question (:class:`~workersai.decisions.Decision`).
        1-64 questions, 2-255 options a choice, 2-10 levels a score, images embedded (never a
        remote URL), audio and videos only for clef-omni: anything else raises
        :class:`~workersai.errors.LimitExceeded` or :class:`~workersai.errors.UnsupportedInput`
        before any request."""
        request = self._decision(state, questions, model=model, images=images, audio=audio, videos=videos)
        return request.parse(self.run(model, request.payload, gateway=gateway))

    async def adecide(
        self,
        state: Any,
        questions: Mapping[str, Any],
        *,
        model: str = DEFAULT_DECISION_MODEL,
        images: Sequence[Media] | None = None,
        audio: Sequence[Media] | None = None,
        videos: Sequence[Media] | None = None,
        gateway: GatewayOptions | None = None,
    ) -> Decision:
        """Async twin of :meth:`decide`."""
        request = self._decision(state, questions, model=model, images=images, audio=audio, videos=videos)
        return request.parse(await self.arun(model, request.payload, gateway=gateway))

    def extract(
        self,
        state: str,
        fields: Mapping[str, Any],
        *,
        model: str = EXTRACTION_MODEL,
        images: Sequence[Media] | None = None,
        reference_date: str | dt.date | None = None,
        options: Mapping[str, Any] | None = None,
        gateway: GatewayOptions | None = None,
    ) -> Extraction:
        """Extract typed ``fields`` from ``state`` with Clairic: each ``{"type": "text" | "number" |
        "date" | "time" | "datetime" | "duration" | "list" | "estimate" | "forecast", ...}``. Returns
        values with their spans and confidences (:class:`~workersai.extraction.Extraction`); a value
        the state does not settle is ``None``. At most four images, embedded: anything else raises
        before any request."""
        request = self._extraction(
            state, fields, model=model, images=images, reference_date=reference_date, options=options
        )
        return request.parse(self.run(model, request.payload, gateway=gateway))

    async def aextract(
        self,
        state: str,
        fields: Mapping[str, Any],
        *,
        model: str = EXTRACTION_MODEL,
        images: Sequence[Media] | None = None,
        reference_date: str | dt.date | None = None,
        options: Mapping[str, Any] | None = None,
        gateway: GatewayOptions | None = None,
    ) -> Extraction:
        """Async twin of :meth:`extract`."""
        request = self._extraction(
            state, fields, model=model, images=images, reference_date=reference_date, options=options
        )
        return request.parse(await self.arun(model, request.payload, gateway=gateway))
