"""Prompt patterns: JSON-only answers, concise answers, step by step, and few-shot extraction to JSON
(with a pydantic schema through with_structured_output)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env, corpus
from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate
from pydantic import BaseModel, Field

from langchain_workersai import ChatWorkersAI

CONTEXT = " ".join(corpus())


class Contact(BaseModel):
    """A person mentioned in a message."""

    name: str = Field(description="full name")
    age: int = Field(description="age in years")


def main() -> None:
    with cloudflare_env():
        llm = ChatWorkersAI(temperature=0, max_tokens=60)

        answer_schema = {"title": "answer", "type": "object", "properties": {"answer": {"type": "string"}}}
        json_only = llm.with_structured_output(answer_schema, method="json_mode")
        reply = json_only.invoke(f"Context: {CONTEXT}\nReturn JSON with an 'answer' key: what is Vectorize?")
        print("JSON only:", reply)
        assert isinstance(reply, dict) and "answer" in reply

        concise = ChatPromptTemplate.from_messages(
            [("system", "Answer in one sentence from this context: {context}"), ("human", "{q}")]
        ) | llm.bind(max_tokens=25)
        print("Concise:", concise.invoke({"context": CONTEXT, "q": "What is AI Gateway?"}).content)

        steps = (
            ChatPromptTemplate.from_messages(
                [("system", "Think step by step, using only: {context}"), ("human", "{q}")]
            )
            | llm
        )
        print(
            "Step by step:",
            steps.invoke({"context": CONTEXT, "q": "How should a client handle error 3040?"}).content,
        )

        examples = [
            {"text": "name: Grace Hopper, age: 85", "json": '{"name": "Grace Hopper", "age": 85}'},
            {"text": "name: Alan Turing, age: 41", "json": '{"name": "Alan Turing", "age": 41}'},
        ]
        few_shot = FewShotChatMessagePromptTemplate(
            examples=examples,
            example_prompt=ChatPromptTemplate.from_messages([("human", "{text}"), ("ai", "{json}")]),
        )
        extract = ChatPromptTemplate.from_messages(
            [("system", "Extract the contact as JSON."), few_shot, ("human", "{text}")]
        ) | llm.with_structured_output(Contact, method="json_schema")
        contact = extract.invoke({"text": "name: Ada Lovelace, age: 36"})
        print("Few-shot extraction:", contact)
        # Structure, not wording: the reply parsed into a Contact (the schema constrains the model's output).
        assert isinstance(contact, Contact) and contact.name.strip()


if __name__ == "__main__":
    main()
