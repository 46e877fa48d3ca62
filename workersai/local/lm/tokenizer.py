"""SmolLM2's tokenizer, built with `tokenizers` from the GGUF's own vocabulary and merges.

GPT-2 style byte-level BPE with SmolLM2's pre-tokenizer (single digits split off first). Ids 0-16
are special (``<|endoftext|>`` 0, ``<|im_start|>`` 1, ``<|im_end|>`` 2, ...). Text is always encoded
with special-token parsing off, so ``<|im_start|>`` typed by a user stays text; prompts insert the
special ids themselves (see :mod:`workersai.local.lm.prompt`).
"""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

_CONTROL = 3  # GGUF token type of special (control) tokens


def tokenizer_json_from_gguf(tokens: Sequence[str], merges: Sequence[str], token_types: Sequence[int]) -> str:
    """A `tokenizers` JSON document for the GGUF's vocabulary ("gpt2" model, "smollm" pre-tokenizer)."""
    vocab = {tok: i for i, tok in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False))  # type: ignore[arg-type]
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    special = [tokens[i] for i, kind in enumerate(token_types) if kind == _CONTROL]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in special])
    return str(tok.to_str())


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-in for each byte, inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


class TextTokenizer:
    """Encodes text (never parsing special tokens) and maps each token id to its bytes."""

    def __init__(self, tokenizer_json: str) -> None:
        self.json = tokenizer_json
        self._tok = Tokenizer.from_str(tokenizer_json)
        # True means: special tokens in the input are encoded as ordinary text.
        self._tok.encode_special_tokens = True
        vocab: dict[str, int] = self._tok.get_vocab(with_added_tokens=True)
        self.vocab_size = max(vocab.values()) + 1
        self.special_ids = {
            tid for tid, added in self._tok.get_added_tokens_decoder().items() if added.special
        }
        byte_of = _byte_decoder()
        table: list[bytes] = [b""] * self.vocab_size
        for text, tid in vocab.items():
            if tid in self.special_ids:
                table[tid] = text.encode()
            else:
                table[tid] = bytes(byte_of[c] for c in text)
        self._bytes = table
        self.im_start = vocab["<|im_start|>"]
        self.im_end = vocab["<|im_end|>"]
        self.endoftext = vocab["<|endoftext|>"]

    def encode(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def token_bytes(self, token: int) -> bytes:
        return self._bytes[token]

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self._bytes[i] for i in ids if i not in self.special_ids).decode("utf-8", "replace")
