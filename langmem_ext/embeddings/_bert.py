"""A BERT encoder forward pass in plain NumPy (float32), for sentence embeddings.

Follows the Hugging Face ``BertModel`` definition (absolute position embeddings,
post-LayerNorm blocks, exact erf GELU) and sentence-transformers' mean pooling with L2
normalisation. The linear layers run over all tokens of a batch stacked as one 2-D matrix,
Q, K and V come from one fused matmul, and only attention works per sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["BertWeights", "encode_batch", "erf", "gelu", "layer_norm", "load_bert_weights"]


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3*hidden), already transposed for x @ w
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


@dataclass(frozen=True)
class BertWeights:
    """The tensors of a BERT encoder, laid out for the NumPy forward pass."""

    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    emb_ln_g: np.ndarray
    emb_ln_b: np.ndarray
    layers: tuple[_Layer, ...]
    num_heads: int
    eps: float

    @property
    def hidden_size(self) -> int:
        """Width of the hidden states (384 for MiniLM-L6)."""
        return int(self.word.shape[1])


def load_bert_weights(
    tensors: Mapping[str, np.ndarray], *, num_heads: int, eps: float = 1e-12
) -> BertWeights:
    """Arrange a Hugging Face BERT state dict (``safetensors.numpy.load_file``) for inference.

    Args:
        tensors: Tensor name to array, as stored by ``transformers`` (with or without the
            ``bert.`` prefix).
        num_heads: Attention heads (``num_attention_heads`` in config.json).
        eps: LayerNorm epsilon (``layer_norm_eps``).

    Raises:
        ValueError: A tensor is missing (the file is not a BERT encoder).
    """
    t = {k.removeprefix("bert."): v for k, v in tensors.items()}

    def get(name: str) -> np.ndarray:
        if name not in t:
            raise ValueError(
                f"weights have no tensor {name!r}: not a BERT encoder checkpoint "
                "(expected a sentence-transformers all-MiniLM-L6-v2 model.safetensors)"
            )
        return np.ascontiguousarray(t[name], dtype=np.float32)

    n = 0
    while f"encoder.layer.{n}.attention.self.query.weight" in t:
        n += 1
    if n == 0:
        get("encoder.layer.0.attention.self.query.weight")  # raises the helpful error
    layers = []
    for i in range(n):
        p = f"encoder.layer.{i}."
        qkv_w = np.concatenate(
            [get(p + f"attention.self.{m}.weight") for m in ("query", "key", "value")]
        ).T
        qkv_b = np.concatenate([get(p + f"attention.self.{m}.bias") for m in ("query", "key", "value")])
        layers.append(
            _Layer(
                qkv_w=np.ascontiguousarray(qkv_w),
                qkv_b=qkv_b,
                out_w=np.ascontiguousarray(get(p + "attention.output.dense.weight").T),
                out_b=get(p + "attention.output.dense.bias"),
                ln1_g=get(p + "attention.output.LayerNorm.weight"),
                ln1_b=get(p + "attention.output.LayerNorm.bias"),
                up_w=np.ascontiguousarray(get(p + "intermediate.dense.weight").T),
                up_b=get(p + "intermediate.dense.bias"),
                down_w=np.ascontiguousarray(get(p + "output.dense.weight").T),
                down_b=get(p + "output.dense.bias"),
                ln2_g=get(p + "output.LayerNorm.weight"),
                ln2_b=get(p + "output.LayerNorm.bias"),
            )
        )
    return BertWeights(
        word=get("embeddings.word_embeddings.weight"),
        position=get("embeddings.position_embeddings.weight"),
        token_type=get("embeddings.token_type_embeddings.weight"),
        emb_ln_g=get("embeddings.LayerNorm.weight"),
        emb_ln_b=get("embeddings.LayerNorm.bias"),
        layers=tuple(layers),
        num_heads=num_heads,
        eps=eps,
    )


# Abramowitz & Stegun 7.1.26: |error| < 1.5e-7, below float32 resolution of GELU's output.
_P = np.float32(0.3275911)
_A = tuple(np.float32(a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))


def erf(x: np.ndarray) -> np.ndarray:
    """Vectorised error function: 1.5e-7 from ``math.erf`` in float64, 5e-7 in float32.

    >>> import math
    >>> xs = np.linspace(-4, 4, 801)
    >>> max(abs(float(a) - math.erf(float(b))) for a, b in zip(erf(xs), xs)) < 1.5e-7
    True
    >>> xs32 = xs.astype(np.float32)
    >>> max(abs(float(a) - math.erf(float(b))) for a, b in zip(erf(xs32), xs32)) < 5e-7
    True
    """
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + _P * a)
    poly = t * (_A[0] + t * (_A[1] + t * (_A[2] + t * (_A[3] + t * _A[4]))))
    return sign * (1.0 - poly * np.exp(-a * a))


_INV_SQRT2 = np.float32(1.0 / np.sqrt(2.0))


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as BERT's ``hidden_act="gelu"``: ``x * (1 + erf(x / sqrt 2)) / 2``.

    Computed as ``q = x * erfc(|x| / sqrt 2) / 2`` (in place, one exp), then ``x - q`` for
    ``x >= 0`` and ``q`` otherwise.

    >>> import math
    >>> xs = np.linspace(-6, 6, 121, dtype=np.float32)
    >>> ref = [v * (1 + math.erf(v / math.sqrt(2))) / 2 for v in xs.tolist()]
    >>> float(np.max(np.abs(gelu(xs) - np.array(ref)))) < 2e-6
    True
    """
    a = np.abs(x)
    a *= _INV_SQRT2
    t = a * _P
    t += 1.0
    np.reciprocal(t, out=t)
    q = t * _A[4]
    for coef in (_A[3], _A[2], _A[1], _A[0]):
        q += coef
        q *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    q *= a
    q *= np.float32(0.5)
    q *= x
    return np.where(x >= 0, x - q, q)


def layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis."""
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, -1, keepdims=True)
    return xc / np.sqrt(var + np.float32(eps)) * g + b


def encode_batch(w: BertWeights, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence vectors for one padded batch.

    Args:
        w: The encoder weights.
        ids: Token ids, shape (batch, length), padded on the right.
        mask: 1 for real tokens, 0 for padding, same shape.

    Returns:
        float32 array (batch, hidden), each row of unit length.
    """
    bsz, length = ids.shape
    h = w.hidden_size
    nh = w.num_heads
    hd = h // nh
    x = w.word[ids] + w.position[:length][None, :, :] + w.token_type[0][None, None, :]
    x = layer_norm(x.reshape(bsz * length, h), w.emb_ln_g, w.emb_ln_b, w.eps)
    maskf = mask.astype(np.float32)
    bias = ((1.0 - maskf) * np.float32(-1e9))[:, None, None, :]  # (b, 1, 1, L)
    scale = np.float32(1.0 / np.sqrt(hd))
    for layer in w.layers:
        qkv = x @ layer.qkv_w + layer.qkv_b  # (b*L, 3h)
        qkv = qkv.reshape(bsz, length, 3, nh, hd).transpose(2, 0, 3, 1, 4)  # (3, b, nh, L, hd)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q * scale) @ k.transpose(0, 1, 3, 2) + bias  # (b, nh, L, L)
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(bsz * length, h)
        x = layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_g, layer.ln1_b, w.eps)
        ff = gelu(x @ layer.up_w + layer.up_b)
        x = layer_norm(ff @ layer.down_w + layer.down_b + x, layer.ln2_g, layer.ln2_b, w.eps)
    x = x.reshape(bsz, length, h)
    summed = np.einsum("blh,bl->bh", x, maskf)
    pooled = summed / np.maximum(maskf.sum(1, keepdims=True), np.float32(1e-9))
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32)
