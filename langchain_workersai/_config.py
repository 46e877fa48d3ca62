"""Settings shared by every LangChain class here: account, token, base URL, gateway, timeouts.

Each object builds one :class:`workersai.WorkersAI` lazily and reuses it (its connection pool too).
"""

from __future__ import annotations

from typing import Any

from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from workersai import WorkersAI


class WorkersAISettings(BaseModel):
    """Connection settings, from arguments or ``CLOUDFLARE_*`` environment variables."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    account_id: str | None = Field(default_factory=from_env("CLOUDFLARE_ACCOUNT_ID", default=None))
    api_token: SecretStr | None = Field(
        default_factory=secret_from_env("CLOUDFLARE_API_TOKEN", default=None), alias="api_key"
    )
    base_url: str | None = Field(default_factory=from_env("CLOUDFLARE_API_BASE_URL", default=None))
    gateway_id: str | None = Field(default_factory=from_env("CLOUDFLARE_AI_GATEWAY_ID", default=None))
    timeout: float | None = 60.0
    max_retries: int = 3
    client: WorkersAI | None = Field(default=None, exclude=True, repr=False)
    """An existing core client to use instead of building one from the settings above."""

    _built: WorkersAI | None = PrivateAttr(default=None)

    @property
    def workers_ai(self) -> WorkersAI:
        """The core client (built on first use)."""
        if self.client is not None:
            return self.client
        if self._built is None:
            self._built = WorkersAI(
                account_id=self.account_id,
                api_token=self.api_token,
                base_url=self.base_url,
                gateway_id=self.gateway_id,
                timeout=self.timeout or 60.0,
                max_retries=self.max_retries,
            )
        return self._built

    def _settings_repr(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "base_url": self.base_url}
