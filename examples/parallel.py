"""Parallel execution: sentiment, summary and an embedding of the same text in one RunnableParallel."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnableParallel

from langchain_workersai import ChatWorkersAI, WorkersAIEmbeddings, get_workersai_callback

REVIEW = "The new index made our search fast. Setup took five minutes. Support answered within the hour."


def main() -> None:
    with cloudflare_env(), get_workersai_callback() as usage:
        llm = ChatWorkersAI(temperature=0, max_tokens=40)
        embeddings = WorkersAIEmbeddings()
        sentiment = (
            ChatPromptTemplate.from_messages(
                [
                    ("system", "Classify the sentiment of the user's review: positive, negative or mixed."),
                    ("human", "{text}"),
                ]
            )
            | llm
            | StrOutputParser()
        )
        summary = (
            ChatPromptTemplate.from_messages(
                [("system", "Summarise the user's review in a few words."), ("human", "{text}")]
            )
            | llm
            | StrOutputParser()
        )
        embed = RunnableLambda(lambda x: embeddings.embed_query(x["text"]))
        result = RunnableParallel(sentiment=sentiment, summary=summary, embedding=embed).invoke(
            {"text": REVIEW}
        )
        print("sentiment:", result["sentiment"])
        print("summary:", result["summary"])
        print("embedding:", len(result["embedding"]), "dimensions")
        assert result["sentiment"].strip() and result["summary"].strip() and len(result["embedding"]) == 768
    print("usage:", usage.summary())


if __name__ == "__main__":
    main()
