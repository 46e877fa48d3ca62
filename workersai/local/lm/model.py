"""The Llama forward pass in numpy float32: RMSNorm, RoPE, grouped-query attention, SwiGLU.

A prompt is run in chunks of whole-sequence matmuls (batched prefill) and then one token at a time,
both against a per-request :class:`KVCache`. The weights are read-only and shared; a cache belongs to
one request, so requests may run on different threads (the engine serializes the steps anyway to keep
two BLAS calls from fighting over two cores).

Decoding runs one token through 30 layers of small matrices, so the numpy calls around the matmuls
cost as much as a third of the step; :meth:`Model._step` is the one-token path with as few of them as
the arithmetic allows (norm weights and the attention scale are folded into the weights, see
:mod:`.weights`; RoPE for Q and K is one product with the position's rotation matrix).

Every array stays float32: numpy 2 promotes to float64 through numpy float64 scalars, which would
make each matmul convert the weights, so scalars here are Python floats and results are asserted.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .weights import Array, Config, Weights

PREFILL_CHUNK = 256


class KVCache:
    """Keys and values of the tokens seen so far, one request's worth; grows as needed."""

    def __init__(self, config: Config, capacity: int = 256) -> None:
        self.config = config
        self.length = 0
        shape = (config.n_layers, config.n_kv_heads, max(1, capacity), config.head_dim)
        self.k: Array = np.zeros(shape, dtype=np.float32)
        self.v: Array = np.zeros(shape, dtype=np.float32)

    @property
    def capacity(self) -> int:
        return int(self.k.shape[2])

    def copy(self, capacity: int) -> KVCache:
        """A cache of its own holding the same tokens, with room for ``capacity`` in all."""
        other = KVCache(self.config, max(capacity, self.length))
        other.k[:, :, : self.length] = self.k[:, :, : self.length]
        other.v[:, :, : self.length] = self.v[:, :, : self.length]
        other.length = self.length
        return other

    def keep_branch(self, offset: int, length: int) -> None:
        """Append the ``length`` tokens laid at ``offset`` past the end (by ``forward_branches``)."""
        src = slice(self.length + offset, self.length + offset + length)
        if offset:
            self.k[:, :, self.length : self.length + length] = self.k[:, :, src].copy()
            self.v[:, :, self.length : self.length + length] = self.v[:, :, src].copy()
        self.length += length

    def reserve(self, total: int) -> None:
        if total > self.config.context_length:
            raise ValueError(f"{total} tokens exceed the model's context of {self.config.context_length}")
        if total <= self.capacity:
            return
        new = min(self.config.context_length, max(total, 2 * self.capacity))
        for name in ("k", "v"):
            old = getattr(self, name)
            grown = np.zeros((*old.shape[:2], new, old.shape[3]), dtype=np.float32)
            grown[:, :, : self.length] = old[:, :, : self.length]
            setattr(self, name, grown)


class Model:
    """SmolLM2 (Llama architecture) over :class:`Weights` laid out by :mod:`.weights`."""

    def __init__(self, weights: Weights) -> None:
        self.w = weights
        c = weights.config
        self.config = c
        half = c.head_dim // 2
        # theta_i = base^(-2i/d) for the pair (i, i + d/2) (pairs re-laid out from (2i, 2i+1))
        inv_freq = (1.0 / (c.rope_base ** (np.arange(half, dtype=np.float64) * 2.0 / c.head_dim))).astype(
            np.float64
        )
        angles = np.arange(c.context_length, dtype=np.float64)[:, None] * inv_freq[None, :]
        self._cos = np.cos(angles).astype(np.float32)  # (context, half)
        self._sin = np.sin(angles).astype(np.float32)
        self._eps = float(c.norm_eps)

    def new_cache(self, capacity: int = 256) -> KVCache:
        return KVCache(self.config, capacity)

    def _rms(self, x: Array) -> Array:
        """RMS-normalized rows (the norm's weight is folded into the next projection)."""
        out: Array = x * (1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self._eps))
        return out

    def _rotation(self, position: int) -> Array:
        """RoPE at ``position`` as a (head_dim, head_dim) matrix: ``heads @ R`` rotates every head."""
        half = self.config.head_dim // 2
        cos, sin = self._cos[position], self._sin[position]
        r = np.zeros((2 * half, 2 * half), dtype=np.float32)
        i = np.arange(half)
        r[i, i] = cos  # out[i] = a_i cos - b_i sin
        r[i + half, i] = -sin
        r[i, i + half] = sin  # out[i + half] = a_i sin + b_i cos
        r[i + half, i + half] = cos
        return r

    def _rope(self, x: Array, positions: NDArray[np.intp]) -> Array:
        """Rotate ``x`` (n, heads, head_dim) for its tokens' positions."""
        half = x.shape[-1] // 2
        cos = self._cos[positions, None, :]
        sin = self._sin[positions, None, :]
        a, b = x[..., :half], x[..., half:]
        return np.concatenate([a * cos - b * sin, a * sin + b * cos], axis=-1)

    def forward(self, tokens: Sequence[int], cache: KVCache, *, all_logits: bool = False) -> Array:
        """Logits after ``tokens`` (appended to ``cache``): (vocab,), or (n, vocab) with all_logits."""
        if not tokens:
            raise ValueError("forward needs at least one token")
        cache.reserve(cache.length + len(tokens))
        if len(tokens) == 1:
            h = self._step(int(tokens[0]), cache)
            return self._logits(h[None])[0] if not all_logits else self._logits(h[None])
        outs: list[Array] = []
        for i in range(0, len(tokens), PREFILL_CHUNK):
            chunk = tokens[i : i + PREFILL_CHUNK]
            last = i + PREFILL_CHUNK >= len(tokens)
            h = self._layers(np.asarray(chunk, dtype=np.intp), cache)
            if all_logits:
                outs.append(self._logits(h))
            elif last:
                outs.append(self._logits(h[-1:])[0])
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def forward_branches(self, branches: Sequence[Sequence[int]], cache: KVCache) -> list[Array]:
        """Logits after each token of each branch, every branch continuing the cache's tokens.

        The branches run in one pass: they are laid end to end in the cache, each at the positions it
        would have alone, each token attending to the cached tokens and to its own branch's earlier
        tokens. The cache's length is left unchanged (:meth:`KVCache.keep_branch` keeps one).
        """
        start = cache.length
        ids = [t for b in branches for t in b]
        if not ids or any(not b for b in branches):
            raise ValueError("every branch needs at least one token")
        cache.reserve(start + len(ids))
        positions = np.concatenate([start + np.arange(len(b)) for b in branches])
        owner = np.repeat(np.arange(len(branches)), [len(b) for b in branches])
        allowed = (owner[:, None] == owner[None, :]) & (positions[:, None] >= positions[None, :])
        mask = np.concatenate(
            [
                np.zeros((len(ids), start), dtype=np.float32),
                np.where(allowed, 0.0, -np.inf).astype(np.float32),
            ],
            axis=1,
        )
        h = self._layers(np.asarray(ids, dtype=np.intp), cache, positions=positions, mask=mask)
        cache.length = start
        logits = self._logits(h)
        bounds = np.cumsum([0, *[len(b) for b in branches]])
        return [logits[a:b] for a, b in itertools.pairwise(bounds)]

    def _logits(self, h: Array) -> Array:
        logits: Array = (self._rms(h) * self.w.out_norm) @ self.w.embed.T
        assert logits.dtype == np.float32
        return logits

    def _layers(
        self,
        ids: NDArray[np.intp],
        cache: KVCache,
        *,
        positions: NDArray[np.intp] | None = None,
        mask: Array | None = None,
    ) -> Array:
        c, w = self.config, self.w
        n, start = len(ids), cache.length
        end = start + n
        hd, nh, nkv = c.head_dim, c.n_heads, c.n_kv_heads
        group = nh // nkv
        x: Array = np.array(w.embed[ids], dtype=np.float32)
        if positions is None:
            positions = np.arange(start, end)
        if mask is None and n > 1:  # causal: query start+i sees keys 0..start+i
            mask = np.triu(np.full((n, end), -np.inf, dtype=np.float32), k=start + 1)
        for layer in range(c.n_layers):
            qkv = self._rms(x) @ w.wqkv[layer]
            q = self._rope(qkv[:, : c.dim].reshape(n, nh, hd), positions)
            k = self._rope(qkv[:, c.dim : c.dim + c.kv_dim].reshape(n, nkv, hd), positions)
            cache.k[layer, :, start:end] = k.transpose(1, 0, 2)
            cache.v[layer, :, start:end] = qkv[:, c.dim + c.kv_dim :].reshape(n, nkv, hd).transpose(1, 0, 2)
            keys = cache.k[layer, :, :end]  # (kv, end, hd)
            values = cache.v[layer, :, :end]
            # (n, nh, hd) -> (kv, group * n, hd): the query heads that share one key/value head
            qg = q.reshape(n, nkv, group, hd).transpose(1, 2, 0, 3).reshape(nkv, group * n, hd)
            scores = qg @ keys.transpose(0, 2, 1)  # (kv, group * n, end); Q carries 1/sqrt(hd)
            if mask is not None:
                scores = (scores.reshape(nkv, group, n, end) + mask).reshape(nkv, group * n, end)
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            attn = (scores @ values).reshape(nkv, group, n, hd).transpose(2, 0, 1, 3).reshape(n, c.dim)
            x = x + attn @ w.wo[layer]
            gate_up = self._rms(x) @ w.w_gate_up[layer]
            gate, up = gate_up[:, : c.ffn_dim], gate_up[:, c.ffn_dim :]
            x = x + ((gate / (1.0 + np.exp(-gate))) * up) @ w.w_down[layer]
        assert x.dtype == np.float32
        cache.length = end
        return x

    def _step(self, token: int, cache: KVCache) -> Array:
        """The hidden state after one more token: :meth:`_layers` for n = 1, in fewer numpy calls."""
        c, w = self.config, self.w
        pos = cache.length
        end = pos + 1
        dim, kvd, hd, nh, nkv, ffn = c.dim, c.kv_dim, c.head_dim, c.n_heads, c.n_kv_heads, c.ffn_dim
        rot = self._rotation(pos)
        inv_dim, eps = 1.0 / dim, self._eps
        x: Array = w.embed[token].copy()
        act = np.empty(ffn, dtype=np.float32)
        for layer in range(c.n_layers):
            qkv = x @ w.wqkv[layer]
            qkv *= 1.0 / math.sqrt(float(x @ x) * inv_dim + eps)
            qk = qkv[: dim + kvd].reshape(nh + nkv, hd) @ rot  # RoPE on every Q and K head at once
            cache.k[layer, :, pos] = qk[nh:]
            cache.v[layer, :, pos] = qkv[dim + kvd :].reshape(nkv, hd)
            # the query heads that share one key/value head: (kv, group, hd) @ (kv, hd, end)
            scores = qk[:nh].reshape(nkv, nh // nkv, hd) @ cache.k[layer, :, :end].transpose(0, 2, 1)
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            x += (scores @ cache.v[layer, :, :end]).reshape(dim) @ w.wo[layer]
            gate_up = x @ w.w_gate_up[layer]
            gate_up *= 1.0 / math.sqrt(float(x @ x) * inv_dim + eps)
            gate, up = gate_up[:ffn], gate_up[ffn:]
            np.negative(gate, out=act)  # silu(gate) * up = gate / (1 + e^-gate) * up
            np.exp(act, out=act)
            act += 1.0
            np.divide(gate, act, out=act)
            act *= up
            x += act @ w.w_down[layer]
        assert x.dtype == np.float32
        cache.length = end
        return x
