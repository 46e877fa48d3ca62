"""Clef and Clairic for LlamaIndex: structured output over a pydantic class (``WorkersAINative``'s
``structured_predict``, ``WorkersAINativeProgram``) and ``WorkersAIDecisionFilter``, a node
postprocessor that asks Clef about each retrieved node and filters or labels it.

The schema is answered natively (:mod:`workersai.structured`): strings, numbers, dates and lists of
strings by Clairic, booleans and enums/literals by Clef. No text is generated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from llama_index.core.base.llms.types import (
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.llms.custom import CustomLLM
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.prompts import BasePromptTemplate, PromptTemplate
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from llama_index.core.types import BasePydanticProgram
from pydantic import BaseModel, Field

from workersai import Decision, WorkersAI
from workersai.decisions import DEFAULT_DECISION_MODEL
from workersai.extraction import EXTRACTION_MODEL
from workersai.settings import ClientSettings
from workersai.structured import StructuredPlan

Model = TypeVar("Model", bound=BaseModel)


def _state(prompt: BasePromptTemplate | str | None, kwargs: Mapping[str, Any]) -> str:
    """The text the models read: the prompt filled with ``kwargs``, or the one keyword's value."""
    if prompt is None:
        if len(kwargs) != 1:
            raise TypeError("without a prompt, give the text as one keyword (state=...)")
        return str(next(iter(kwargs.values())))
    template = PromptTemplate(prompt) if isinstance(prompt, str) else prompt
    return template.format(**kwargs)


class WorkersAINativeProgram(BasePydanticProgram[Model]):
    """A program over ``output_cls``: ``program(**prompt_args)`` (or ``await program.acall(...)``)
    fills ``prompt`` (or takes the one keyword as the text) and answers the class with Clairic and
    Clef."""

    def __init__(
        self,
        output_cls: type[Model],
        client: WorkersAI,
        prompt: BasePromptTemplate | str | None = None,
        *,
        extraction_model: str = EXTRACTION_MODEL,
        decision_model: str = DEFAULT_DECISION_MODEL,
        boolean_threshold: float = 0.5,
    ) -> None:
        self._output_cls = output_cls
        self._client, self._prompt = client, prompt
        self._plan = StructuredPlan.build(
            output_cls.model_json_schema(),
            extraction_model=extraction_model,
            decision_model=decision_model,
            boolean_threshold=boolean_threshold,
        )

    @property
    def output_cls(self) -> type[Model]:
        return self._output_cls

    def __call__(self, *args: Any, **kwargs: Any) -> Model:
        answer = self._plan.run(self._client, _state(self._prompt, kwargs))
        return self._output_cls.model_validate(answer.values)

    async def acall(self, *args: Any, **kwargs: Any) -> Model:
        answer = await self._plan.arun(self._client, _state(self._prompt, kwargs))
        return self._output_cls.model_validate(answer.values)


class WorkersAINative(ClientSettings, CustomLLM):
    """Clairic and Clef as a LlamaIndex LLM for structured output only:
    ``structured_predict(OutputClass, PromptTemplate("..."), **args)`` (and ``astructured_predict``)
    answer the class natively. ``complete`` raises: these models generate no text."""

    extraction_model: str = EXTRACTION_MODEL
    decision_model: str = DEFAULT_DECISION_MODEL
    boolean_threshold: float = Field(default=0.5, ge=0, le=1)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAINative"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            model_name=self.extraction_model, is_chat_model=False, is_function_calling_model=False
        )

    def program(self, output_cls: type[Model], prompt: BasePromptTemplate | str | None = None) -> Any:
        """A :class:`WorkersAINativeProgram` over ``output_cls`` with this LLM's models."""
        return WorkersAINativeProgram(
            output_cls,
            self.workers_ai,
            prompt,
            extraction_model=self.extraction_model,
            decision_model=self.decision_model,
            boolean_threshold=self.boolean_threshold,
        )

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        return self.program(output_cls, prompt)(**prompt_args)  # type: ignore[no-any-return]

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        return await self.program(output_cls, prompt).acall(**prompt_args)  # type: ignore[no-any-return]

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raise NotImplementedError("Clairic and Clef generate no text: use structured_predict")

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        raise NotImplementedError("Clairic and Clef generate no text: use structured_predict")


class WorkersAIDecisionFilter(ClientSettings, BaseNodePostprocessor):
    """Asks Clef about each retrieved node (its text is the state): ``question`` (a ``noul``, with
    ``{query}`` filled in) and any further ``questions``. Each node gets the answers in
    ``metadata["clef"]``; with ``mode="filter"`` only the nodes whose ``question`` probability is over
    ``threshold`` are kept (their score becomes it). One request per node."""

    model: str = Field(default=DEFAULT_DECISION_MODEL, alias="model_name")
    question: str = "Does this passage help answer the question: {query}?"
    questions: dict[str, Any] = Field(default_factory=dict)
    mode: Literal["filter", "label"] = "filter"
    threshold: float = Field(default=0.5, ge=0, le=1)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIDecisionFilter"

    def _asked(self, query: QueryBundle | None) -> dict[str, Any]:
        text = self.question.replace("{query}", query.query_str if query else "")
        return {"relevant": {"type": "noul", "instructions": text}, **self.questions}

    def _apply(self, nodes: Sequence[NodeWithScore], decisions: Sequence[Decision]) -> list[NodeWithScore]:
        out = []
        for node, decision in zip(nodes, decisions, strict=True):
            node.node.metadata["clef"] = decision.values
            relevant = decision["relevant"].noul or 0.0
            if self.mode == "label":
                out.append(node)
            elif relevant > self.threshold:
                out.append(NodeWithScore(node=node.node, score=relevant))
        return out

    @staticmethod
    def _text(node: NodeWithScore) -> str:
        return node.node.get_content(metadata_mode=MetadataMode.NONE) or " "

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        asked = self._asked(query_bundle)
        decisions = [self.workers_ai.decide(self._text(n), asked, model=self.model) for n in nodes]
        return self._apply(nodes, decisions)

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        import asyncio

        asked = self._asked(query_bundle)
        decisions = await asyncio.gather(
            *(self.workers_ai.adecide(self._text(n), asked, model=self.model) for n in nodes)
        )
        return self._apply(nodes, decisions)
