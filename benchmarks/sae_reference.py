#!/usr/bin/env python3
"""PyTorch reference sparse autoencoders (CPU, float32) for benchmarks/bench_sae.py.

Three references, written from the training recipe in the SAE contract (see bench_sae.py and
lamina/sae.py's docstrings) and from the designs of the tools Lamina's users train with today:

(a) ``TopKSparse``  -- TopK SAE in EleutherAI sparsify's design: encoder Linear + ReLU, ``torch.topk``,
    decoder as a sparse gather (``F.embedding_bag`` with per-sample weights, sparsify's eager
    ``decoder_impl``), and hand-written sparse backward passes (as sparsify's ``FusedEncoder`` and its
    Triton decoder do) so that no (batch x n_latents) gradient is ever dense: the weight gradients are
    sparse-transpose x dense products (CSR ``torch.sparse.mm``), the code gradients are sampled dense
    products (``torch.sparse.sampled_addmm``). ``grad_impl="index_add"`` uses sparsify's exact
    formulation instead (materialise the (batch*k, d_in) contributions, ``index_add_`` them).
(b) ``TopKDense``   -- the same model in OpenAI's sparse_autoencoder design: dense codes (topk then
    scatter into a zero (batch x n_latents) tensor), dense decoder matmul, autograd for everything.
(c) ``ReluL1``      -- ReLU SAE with the L1 penalty of Anthropic's April 2024 update:
    loss = mean_batch( ||x - x_hat||^2 + lambda * sum_i f_i ||W_dec,i|| ), unconstrained decoder,
    lambda warmed up linearly over the first ``l1_warmup_steps`` steps; dense torch with autograd.
    The rest of that recipe is in ``train`` (``anthropic_schedule``: lambda warm-up over the first 5% of
    the steps, lr decayed linearly to 0 over the last 20%, gradient norm clipped at 1).
(d) ``BatchTopK``   -- Bussmann et al. 2024 (dictionary_learning's BatchTopKTrainer, SAELens'
    BatchTopKTrainingSAE): the top k*B values of ReLU(pre) over the whole batch; the fvu + AuxK
    objective and unit-norm decoder of the TopK recipe; the threshold theta <- (1 - rate) theta + rate *
    (smallest positive kept value) after every step (SAELens' topk_threshold_lr rule), inference
    z = pre * (pre > theta). Dense torch with autograd.
(e) ``JumpReLU``    -- SAELens' JumpReLUTrainingSAE ("step" L0 mode): z = pre * H(pre - theta),
    theta = exp(log_theta), rectangle-kernel straight-through gradients for theta (bandwidth eps),
    loss = mean_batch ||x - x_hat||^2 + c * mean_batch sum_i H(pre_i - theta_i); unconstrained decoder
    initialised at row norm 0.1 with W_enc = W_dec^T (SAELens' decoder_init_norm). Dense torch, autograd.

Initialisation (``init=``, TopK family): "sparsify" (the default, sparsify's SparseCoder: the encoder
is an nn.Linear, i.e. W_enc ~ U(-1/sqrt(d_in), 1/sqrt(d_in)) iid, b_enc = 0, and W_dec is a copy of
W_enc with each row normalised to unit norm) or "tied" (W_dec rows ~ N(0, I) normalised, W_enc = W_dec,
the recipe of OpenAI's sparse_autoencoder / dictionary_learning and Lamina's init="tied"). Every model
also accepts ``weights=(W_enc, W_dec)`` (n_latents x d_in each) to start from given weights, e.g. the
fresh initialisation of a Lamina model, so that two implementations can be compared from one start.

Training recipe shared by (a) and (b) (the default "topk" path of Lamina's SparseAutoencoder):
  * init="sparsify" (default): W_enc ~ U(-1/sqrt(d), 1/sqrt(d)), W_dec = W_enc rows / (norm + eps);
    init="tied": W_dec rows ~ N(0, 1) normalised to unit L2 norm, W_enc = W_dec (as the encoder's Linear
    weight, i.e. the transpose of the decoder map); b_enc = 0, b_dec = mean of the first min(n, 65536) rows.
  * pre = ReLU(W_enc (x - b_dec) + b_enc); z = TopK_k(pre); x_hat = W_dec^T z + b_dec.
  * fvu = sum (x_hat - x)^2 / sum (x - mean_batch x)^2.
  * AuxK (Gao et al. 2024): latents that have not fired for more than ``dead_tokens`` tokens are
    dead; if any, e = x - x_hat (no gradient), e_hat = W_dec^T TopK_{k_aux'}(pre on the dead
    latents) with k_aux' = min(k_aux, n_dead), auxk = min(n_dead / k_aux, 1) * sum (e_hat - e)^2 /
    sum (e - mean_batch e)^2; loss = fvu + auxk_alpha * auxk. The AuxK gradient reaches both the
    decoder and (through the selected pre-activations) the encoder, as in OpenAI's reference.
  * Step: backward; remove from each W_dec row's gradient its component along the row; Adam
    (torch.optim.Adam, betas (0.9, 0.999), eps 1e-8), lr default 2e-4 / sqrt(n_latents / 2^14)
    (sparsify's default); renormalise the W_dec rows to unit norm.
  * Batches: rows shuffled once per epoch with the seed, ``batch_size`` rows per step, the last
    partial batch dropped; ``order="lamina"`` reproduces Lamina's permutation of each epoch exactly
    (``lamina_permutation``: xoshiro256** seeded by SplitMix64 from seed ^ (epoch + 1) * 0x9E3779B97F4A7C15,
    Fisher-Yates with j = next() % (i + 1)).

Only torch and numpy are needed; tests never import this module (benchmarks only).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")
warnings.filterwarnings("ignore", message=".*Sparse invariant checks are implicitly disabled.*")


def default_lr(n_latents: int) -> float:
    """sparsify's default Adam learning rate: 2e-4 / sqrt(n_latents / 2^14)."""
    return 2e-4 / math.sqrt(n_latents / 2 ** 14)


# -- sparse products (pure torch) -------------------------------------------------------------------

_pattern_cache: dict = {}


def _latent_pattern(idx: torch.Tensor, n_latents: int):
    """(order, cols, crow) of the code pattern sorted by latent; the encoder and decoder gradients of a
    step share the same index tensor, so the sort is cached for the last one seen."""
    key = (idx.data_ptr(), tuple(idx.shape), idx._version, n_latents)
    hit = _pattern_cache.get("key")
    if hit == key:
        return _pattern_cache["value"]
    B, k = idx.shape
    rows = idx.reshape(-1)
    order = torch.argsort(rows, stable=True)
    cols = torch.arange(B, dtype=torch.int64).repeat_interleave(k)[order]
    crow = torch.zeros(n_latents + 1, dtype=torch.int64)
    crow[1:] = torch.bincount(rows, minlength=n_latents).cumsum(0)
    _pattern_cache.clear()
    _pattern_cache.update(key=key, value=(order, cols, crow), idx=idx)   # keep idx alive: the key stays valid
    return order, cols, crow


def _csr_by_latent(idx: torch.Tensor, weights: torch.Tensor, n_latents: int) -> torch.Tensor:
    """The (n_latents x batch) CSR matrix S with S[idx[b, j], b] += weights[b, j] (the transpose of
    the sparse code matrix); duplicate entries cannot occur (top-k indices are distinct per row)."""
    order, cols, crow = _latent_pattern(idx, n_latents)
    return torch.sparse_csr_tensor(crow, cols, weights.reshape(-1)[order], (n_latents, idx.shape[0]))


def sparse_weight_grad(idx, weights, dense, n_latents, impl="spmm"):
    """G[l] = sum over (b, j) with idx[b, j] = l of weights[b, j] * dense[b]: the gradient of a weight
    matrix whose rows are gathered by idx (decoder: dense = dL/dx_hat, weights = codes; encoder:
    dense = x - b_dec, weights = dL/dcodes). Shape (n_latents, d)."""
    if impl == "index_add":
        # sparsify's FusedEncoder.backward: (batch*k, d) contributions, index_add into the rows.
        B, k = idx.shape
        contributions = (weights.unsqueeze(2) * dense.unsqueeze(1)).reshape(B * k, -1)
        out = torch.zeros(n_latents, dense.shape[1], dtype=dense.dtype)
        out.index_add_(0, idx.reshape(-1), contributions)
        return out
    return torch.sparse.mm(_csr_by_latent(idx, weights, n_latents), dense)


def sampled_dots(idx, dense, weight):
    """out[b, j] = <dense[b], weight[idx[b, j]]> without gathering (batch, k, d): the dense product
    dense @ weight^T sampled at the code positions (CSR sampled_addmm)."""
    B, k = idx.shape
    crow = torch.arange(0, B * k + 1, k, dtype=torch.int64)
    pattern = torch.sparse_csr_tensor(crow, idx.reshape(-1), torch.zeros(B * k, dtype=dense.dtype),
                                      (B, weight.shape[0]))
    return torch.sparse.sampled_addmm(pattern, dense, weight.t(), beta=0.0).values().reshape(B, k)


class SparseEncoderGrad(torch.autograd.Function):
    """Identity on the selected code values ``vals`` (computed without autograd from the dense
    pre-activations); its backward is the sparse encoder backward of sparsify's FusedEncoder:
    only the selected (row, latent) pairs with a positive value (ReLU) receive a gradient."""

    @staticmethod
    def forward(ctx, xc, W_enc, b_enc, idx, vals, impl):
        ctx.save_for_backward(xc, W_enc, idx, vals)
        ctx.impl = impl
        return vals.clone()

    @staticmethod
    def backward(ctx, grad):
        xc, W_enc, idx, vals = ctx.saved_tensors
        g = torch.where(vals > 0, grad, torch.zeros((), dtype=grad.dtype))
        n = W_enc.shape[0]
        grad_xc = grad_W = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_xc = F.embedding_bag(idx, W_enc, per_sample_weights=g, mode="sum")
        if ctx.needs_input_grad[1]:
            grad_W = sparse_weight_grad(idx, g, xc, n, ctx.impl)
        if ctx.needs_input_grad[2]:
            grad_b = torch.zeros(n, dtype=g.dtype).index_add_(0, idx.reshape(-1), g.reshape(-1))
        return grad_xc, grad_W, grad_b, None, None, None


class SparseDecode(torch.autograd.Function):
    """x_hat[b] = sum_j acts[b, j] * W_dec[idx[b, j]] (forward: embedding_bag, sparsify's eager
    decoder); backward without any dense (batch x n_latents) product, like sparsify's Triton decoder:
    dL/dacts[b, j] = <g[b], W_dec[idx[b, j]]>, dL/dW_dec = S^T g with S the sparse code matrix."""

    @staticmethod
    def forward(ctx, idx, acts, W_dec, impl):
        ctx.save_for_backward(idx, acts, W_dec)
        ctx.impl = impl
        return F.embedding_bag(idx, W_dec, per_sample_weights=acts, mode="sum")

    @staticmethod
    def backward(ctx, g):
        idx, acts, W_dec = ctx.saved_tensors
        g = g.contiguous()
        grad_acts = grad_W = None
        if ctx.needs_input_grad[1]:
            grad_acts = sampled_dots(idx, g, W_dec)
        if ctx.needs_input_grad[2]:
            grad_W = sparse_weight_grad(idx, acts, g, W_dec.shape[0], ctx.impl)
        return None, grad_acts, grad_W, None


# -- initialisation and Lamina's data order -----------------------------------------------------------

def init_weights(d_in, n_latents, init, seed, norm=1.0):
    """(W_enc, W_dec), n_latents x d_in each, by ``init`` ("sparsify" or "tied") with decoder row norm
    ``norm``, from torch.Generator().manual_seed(seed)."""
    gen = torch.Generator().manual_seed(seed)
    if init == "sparsify":
        bound = 1 / math.sqrt(d_in)                       # nn.Linear: kaiming_uniform_(a=sqrt(5))
        W_enc = torch.empty(n_latents, d_in).uniform_(-bound, bound, generator=gen)
        eps = torch.finfo(W_enc.dtype).eps
        W_dec = W_enc * (norm / (W_enc.norm(dim=1, keepdim=True) + eps))
        return W_enc, W_dec
    if init == "tied":
        W = torch.randn(n_latents, d_in, generator=gen)
        W *= norm / W.norm(dim=1, keepdim=True)
        return W.clone(), W.clone()
    raise ValueError(f"init={init!r}; expected 'sparsify' or 'tied'")


def _given_or_init(weights, d_in, n_latents, init, seed, norm):
    if weights is None:
        return init_weights(d_in, n_latents, init, seed, norm)
    W_enc, W_dec = (torch.as_tensor(np.asarray(w, dtype=np.float32)).clone() for w in weights)
    if W_enc.shape != (n_latents, d_in) or W_dec.shape != (n_latents, d_in):
        raise ValueError(f"weights have shapes {tuple(W_enc.shape)}, {tuple(W_dec.shape)}; expected ({n_latents}, {d_in})")
    return W_enc, W_dec


_M64 = (1 << 64) - 1


def _xoshiro(seed):
    """Lamina's Xoshiro256 (SplitMix64-seeded xoshiro256**) as a Python generator of uint64."""
    z = seed & _M64
    s = []
    for _ in range(4):
        z = (z + 0x9E3779B97F4A7C15) & _M64
        x = z
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
        s.append(x ^ (x >> 31))
    s0, s1, s2, s3 = s
    while True:
        r = (s1 * 5) & _M64
        r = (((r << 7) | (r >> 57)) & _M64) * 9 & _M64
        t = (s1 << 17) & _M64
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & _M64
        yield r


def lamina_permutation(n, seed, epoch):
    """The row order of epoch ``epoch`` (0-based) of Lamina's in-memory SAE training with ``seed``
    (SAETrainingData.generator(seed, epoch, -1) and its Fisher-Yates shuffle)."""
    rng = _xoshiro((seed ^ ((epoch + 1) * 0x9E3779B97F4A7C15)) & _M64)
    p = list(range(n))
    for i in range(n - 1, 0, -1):
        j = next(rng) % (i + 1)
        p[i], p[j] = p[j], p[i]
    return torch.tensor(p, dtype=torch.int64)


# -- models -----------------------------------------------------------------------------------------

def _fvu_denominator(t: torch.Tensor) -> torch.Tensor:
    return (t - t.mean(0)).pow(2).sum()


class TopKBase(torch.nn.Module):
    """Parameters and the recipe's initialisation, shared by (a) and (b)."""

    def __init__(self, d_in, n_latents, k, *, k_aux=None, auxk_alpha=1 / 32, dead_tokens=10_000_000,
                 seed=0, init="sparsify", weights=None):
        super().__init__()
        if not 1 <= k <= n_latents:
            raise ValueError(f"k={k} must be in [1, n_latents={n_latents}]")
        self.d_in, self.n_latents, self.k = d_in, n_latents, k
        self.k_aux = d_in // 2 if k_aux is None else k_aux
        self.auxk_alpha = auxk_alpha
        self.dead_tokens = dead_tokens
        W_enc, W_dec = _given_or_init(weights, d_in, n_latents, init, seed, 1.0)
        self.W_dec = torch.nn.Parameter(W_dec)              # (n_latents, d_in), rows = dictionary
        self.W_enc = torch.nn.Parameter(W_enc)              # (n_latents, d_in), the encoder Linear's weight
        self.b_enc = torch.nn.Parameter(torch.zeros(n_latents))
        self.b_dec = torch.nn.Parameter(torch.zeros(d_in))
        self.register_buffer("tokens_since_fired", torch.zeros(n_latents, dtype=torch.int64))

    @torch.no_grad()
    def init_b_dec(self, X: torch.Tensor):
        self.b_dec.copy_(X[:65536].double().mean(0).float())

    def dead_mask(self):
        if self.auxk_alpha <= 0:
            return None
        return self.tokens_since_fired > self.dead_tokens

    @torch.no_grad()
    def update_fired(self, idx, vals):
        fired = torch.zeros(self.n_latents, dtype=torch.bool)
        fired[idx[vals > 0]] = True
        self.tokens_since_fired += idx.shape[0]
        self.tokens_since_fired[fired] = 0

    @torch.no_grad()
    def after_backward(self):
        """Removes from each decoder row's gradient its component along the row."""
        W, G = self.W_dec.data, self.W_dec.grad
        if G is not None:
            G -= (G * W).sum(1, keepdim=True) * W

    @torch.no_grad()
    def after_step(self):
        """Renormalises the decoder rows to unit norm."""
        self.W_dec.data /= self.W_dec.data.norm(dim=1, keepdim=True).clamp_min(1e-30)

    @torch.no_grad()
    def reconstruct(self, X: torch.Tensor, chunk=8192):
        out = torch.empty_like(X)
        for s in range(0, X.shape[0], chunk):
            vals, idx = self.encode(X[s:s + chunk])
            out[s:s + chunk] = F.embedding_bag(idx, self.W_dec, per_sample_weights=vals, mode="sum") + self.b_dec
        return out

    @torch.no_grad()
    def encode(self, x):
        pre = F.relu(F.linear(x - self.b_dec, self.W_enc, self.b_enc))
        vals, idx = torch.topk(pre, self.k, dim=-1, sorted=False)
        return vals, idx


class TopKSparse(TopKBase):
    """(a) sparsify's design: dense encoder gemm, topk, sparse decoder and sparse backward."""

    def __init__(self, *args, grad_impl="spmm", **kw):
        super().__init__(*args, **kw)
        self.grad_impl = grad_impl

    def loss(self, x):
        dead = self.dead_mask()
        xc = x - self.b_dec
        with torch.no_grad():
            pre = F.relu(F.linear(xc, self.W_enc, self.b_enc))
            vals, idx = torch.topk(pre, self.k, dim=-1, sorted=False)
        acts = SparseEncoderGrad.apply(xc, self.W_enc, self.b_enc, idx, vals, self.grad_impl)
        x_hat = SparseDecode.apply(idx, acts, self.W_dec, self.grad_impl) + self.b_dec
        e = x - x_hat
        fvu = e.pow(2).sum() / _fvu_denominator(x)
        auxk = x.new_zeros(())
        n_dead = int(dead.sum()) if dead is not None else 0
        if n_dead > 0:
            k_aux = min(self.k_aux, n_dead)
            with torch.no_grad():
                aux_vals, aux_idx = torch.where(dead, pre, -torch.inf).topk(k_aux, dim=-1, sorted=False)
                aux_vals = aux_vals.clamp_min(0)   # dead latents below zero are ReLU-zero
            aux_acts = SparseEncoderGrad.apply(xc, self.W_enc, self.b_enc, aux_idx, aux_vals, self.grad_impl)
            e_hat = SparseDecode.apply(aux_idx, aux_acts, self.W_dec, self.grad_impl)
            e_d = e.detach()
            auxk = min(n_dead / self.k_aux, 1.0) * (e_hat - e_d).pow(2).sum() / _fvu_denominator(e_d)
        self.update_fired(idx, vals)
        return fvu + self.auxk_alpha * auxk, dict(fvu=fvu.detach(), auxk=auxk.detach(),
                                                  l0=(vals > 0).sum(1).double().mean())


class TopKDense(TopKBase):
    """(b) OpenAI sparse_autoencoder's design: dense codes and dense decoder, autograd."""

    def loss(self, x):
        dead = self.dead_mask()
        pre = F.relu(F.linear(x - self.b_dec, self.W_enc, self.b_enc))
        vals, idx = torch.topk(pre, self.k, dim=-1, sorted=False)
        z = torch.zeros_like(pre).scatter(-1, idx, vals)
        x_hat = z @ self.W_dec + self.b_dec
        e = x - x_hat
        fvu = e.pow(2).sum() / _fvu_denominator(x)
        auxk = x.new_zeros(())
        n_dead = int(dead.sum()) if dead is not None else 0
        if n_dead > 0:
            k_aux = min(self.k_aux, n_dead)
            aux_vals, aux_idx = torch.where(dead, pre, -torch.inf).topk(k_aux, dim=-1, sorted=False)
            z_aux = torch.zeros_like(pre).scatter(-1, aux_idx, F.relu(aux_vals))
            e_hat = z_aux @ self.W_dec
            e_d = e.detach()
            auxk = min(n_dead / self.k_aux, 1.0) * (e_hat - e_d).pow(2).sum() / _fvu_denominator(e_d)
        self.update_fired(idx.detach(), vals.detach())
        return fvu + self.auxk_alpha * auxk, dict(fvu=fvu.detach(), auxk=auxk.detach(),
                                                  l0=(vals > 0).sum(1).double().mean())


class ReluL1(torch.nn.Module):
    """(c) Anthropic's April 2024 ReLU SAE: f = ReLU(W_enc (x - b_dec) + b_enc), x_hat = W_dec^T f + b_dec,
    loss = mean_batch(||x - x_hat||^2 + lambda_t * sum_i f_i ||W_dec,i||), unconstrained decoder.
    Init: decoder rows in random directions with norm ``init_norm`` (Anthropic: 0.05-1; 0.1 here),
    W_enc = W_dec, biases 0 (b_dec then set to the data mean like the TopK path)."""

    def __init__(self, d_in, n_latents, *, l1_coefficient=5.0, l1_warmup_steps=0, init_norm=0.1, seed=0,
                 init="tied", weights=None):
        super().__init__()
        self.d_in, self.n_latents = d_in, n_latents
        self.l1_coefficient, self.l1_warmup_steps = l1_coefficient, l1_warmup_steps
        W_enc, W_dec = _given_or_init(weights, d_in, n_latents, init, seed, init_norm)
        self.W_dec = torch.nn.Parameter(W_dec)
        self.W_enc = torch.nn.Parameter(W_enc)
        self.b_enc = torch.nn.Parameter(torch.zeros(n_latents))
        self.b_dec = torch.nn.Parameter(torch.zeros(d_in))
        self.step_index = 0

    @torch.no_grad()
    def init_b_dec(self, X):
        self.b_dec.copy_(X[:65536].double().mean(0).float())

    def loss(self, x):
        f = F.relu(F.linear(x - self.b_dec, self.W_enc, self.b_enc))
        x_hat = f @ self.W_dec + self.b_dec
        mse = (x - x_hat).pow(2).sum(1).mean()
        lam = self.l1_coefficient * (min(1.0, (self.step_index + 1) / self.l1_warmup_steps)
                                     if self.l1_warmup_steps > 0 else 1.0)
        l1 = (f * self.W_dec.norm(dim=1)).sum(1).mean()
        self.step_index += 1
        fvu = (x - x_hat).pow(2).sum().detach() / _fvu_denominator(x)
        return mse + lam * l1, dict(fvu=fvu, mse=mse.detach(), l1=l1.detach(),
                                    l0=(f > 0).sum(1).double().mean())

    def after_backward(self):
        pass

    def after_step(self):
        pass

    @torch.no_grad()
    def reconstruct(self, X, chunk=8192):
        out = torch.empty_like(X)
        for s in range(0, X.shape[0], chunk):
            f = F.relu(F.linear(X[s:s + chunk] - self.b_dec, self.W_enc, self.b_enc))
            out[s:s + chunk] = f @ self.W_dec + self.b_dec
        return out


    @torch.no_grad()
    def dense_codes(self, x):
        return F.relu(F.linear(x - self.b_dec, self.W_enc, self.b_enc))


class BatchTopK(TopKBase):
    """(d) BatchTopK: top k*B of ReLU(pre) over the batch while training, fvu + AuxK, unit-norm decoder;
    running threshold theta (from 0) updated after every step; inference z = pre * (pre > theta)."""

    def __init__(self, *args, threshold_rate=0.01, **kw):
        super().__init__(*args, **kw)
        self.threshold_rate = threshold_rate
        self.theta = 0.0

    def loss(self, x):
        dead = self.dead_mask()
        pre = F.relu(F.linear(x - self.b_dec, self.W_enc, self.b_enc))
        B = pre.shape[0]
        flat = pre.reshape(-1)
        vals, idx = torch.topk(flat, self.k * B, sorted=False)
        z = torch.zeros_like(flat).scatter(0, idx, vals).reshape(B, -1)
        x_hat = z @ self.W_dec + self.b_dec
        e = x - x_hat
        fvu = e.pow(2).sum() / _fvu_denominator(x)
        auxk = x.new_zeros(())
        n_dead = int(dead.sum()) if dead is not None else 0
        if n_dead > 0:
            k_aux = min(self.k_aux, n_dead)
            aux_vals, aux_idx = torch.where(dead, pre, -torch.inf).topk(k_aux, dim=-1, sorted=False)
            z_aux = torch.zeros_like(pre).scatter(-1, aux_idx, F.relu(aux_vals))
            e_d = e.detach()
            auxk = min(n_dead / self.k_aux, 1.0) * (z_aux @ self.W_dec - e_d).pow(2).sum() / _fvu_denominator(e_d)
        with torch.no_grad():
            zd = z.detach()
            fired = (zd > 0).any(0)
            self.tokens_since_fired += B
            self.tokens_since_fired[fired] = 0
            pos = zd[zd > 0]
            if pos.numel():
                self.theta = (1 - self.threshold_rate) * self.theta + self.threshold_rate * float(pos.min())
        return fvu + self.auxk_alpha * auxk, dict(fvu=fvu.detach(), auxk=auxk.detach(),
                                                  l0=(zd > 0).sum(1).double().mean())

    @torch.no_grad()
    def dense_codes(self, x):
        pre = F.relu(F.linear(x - self.b_dec, self.W_enc, self.b_enc))
        return pre * (pre > self.theta)


class _Rectangle:
    @staticmethod
    def k(u):
        return ((u > -0.5) & (u < 0.5)).to(u.dtype)


class _JumpReLUFn(torch.autograd.Function):
    """SAELens' JumpReLU: forward pre * (pre > theta); d/dpre = H(pre - theta); d/dtheta =
    -(theta / eps) K((pre - theta) / eps) (summed over the batch)."""

    @staticmethod
    def forward(ctx, x, theta, eps):
        ctx.save_for_backward(x, theta)
        ctx.eps = eps
        return x * (x > theta)

    @staticmethod
    def backward(ctx, g):
        x, theta = ctx.saved_tensors
        eps = ctx.eps
        gx = (x > theta) * g
        gt = (-(theta / eps) * _Rectangle.k((x - theta) / eps) * g).sum(0)
        return gx, gt, None


class _StepFn(torch.autograd.Function):
    """SAELens' Step: forward H(pre - theta); d/dtheta = -(1 / eps) K((pre - theta) / eps); no gradient to pre."""

    @staticmethod
    def forward(ctx, x, theta, eps):
        ctx.save_for_backward(x, theta)
        ctx.eps = eps
        return (x > theta).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, theta = ctx.saved_tensors
        eps = ctx.eps
        gt = (-(1.0 / eps) * _Rectangle.k((x - theta) / eps) * g).sum(0)
        return None, gt, None


class JumpReLU(torch.nn.Module):
    """(e) SAELens' JumpReLU training SAE ("step" L0 loss). pre = W_enc (x - b_dec) + b_enc (no ReLU),
    z = JumpReLU(pre, theta), loss = mean_b ||x_hat - x||^2 + c_t mean_b sum_i H(pre - theta),
    c_t warmed up linearly over ``l0_warmup_steps``; decoder unconstrained, rows initialised at norm 0.1."""

    def __init__(self, d_in, n_latents, *, l0_coefficient=5.0, l0_warmup_steps=0, init_threshold=0.001,
                 bandwidth=0.001, init_norm=0.1, seed=0, init="tied", weights=None):
        super().__init__()
        self.d_in, self.n_latents = d_in, n_latents
        self.l0_coefficient, self.l0_warmup_steps, self.bandwidth = l0_coefficient, l0_warmup_steps, bandwidth
        W_enc, W_dec = _given_or_init(weights, d_in, n_latents, init, seed, init_norm)
        self.W_dec = torch.nn.Parameter(W_dec)
        self.W_enc = torch.nn.Parameter(W_enc)
        self.b_enc = torch.nn.Parameter(torch.zeros(n_latents))
        self.b_dec = torch.nn.Parameter(torch.zeros(d_in))
        self.log_threshold = torch.nn.Parameter(torch.full((n_latents,), math.log(init_threshold)))
        self.step_index = 0

    @torch.no_grad()
    def init_b_dec(self, X):
        self.b_dec.copy_(X[:65536].double().mean(0).float())

    def loss(self, x):
        pre = F.linear(x - self.b_dec, self.W_enc, self.b_enc)
        theta = self.log_threshold.exp()
        z = _JumpReLUFn.apply(pre, theta, self.bandwidth)
        x_hat = z @ self.W_dec + self.b_dec
        mse = (x - x_hat).pow(2).sum(1).mean()
        c = self.l0_coefficient * (min(1.0, (self.step_index + 1) / self.l0_warmup_steps)
                                   if self.l0_warmup_steps > 0 else 1.0)
        l0 = _StepFn.apply(pre, theta, self.bandwidth).sum(1).mean()
        self.step_index += 1
        fvu = (x - x_hat).pow(2).sum().detach() / _fvu_denominator(x)
        return mse + c * l0, dict(fvu=fvu, mse=mse.detach(), l0=l0.detach().double())

    def after_backward(self):
        pass

    def after_step(self):
        pass

    @torch.no_grad()
    def dense_codes(self, x):
        pre = F.linear(x - self.b_dec, self.W_enc, self.b_enc)
        return pre * (pre > self.log_threshold.exp())


# -- training ---------------------------------------------------------------------------------------

@dataclass
class TrainResult:
    model: torch.nn.Module
    batch_size: int = 0
    steps: int = 0
    step_seconds: list = field(default_factory=list)
    history: dict = field(default_factory=dict)

    @property
    def tokens_per_second(self):
        """Median over the steps (the first step, with its allocations, excluded when possible)."""
        t = self.step_seconds[1:] if len(self.step_seconds) > 1 else self.step_seconds
        return float("nan") if not t else self.batch_size / float(np.median(t))


def lr_multiplier(t, total, warmup_steps=0, decay_steps=0):
    """Lamina's schedule (SAEConfig.lrMultiplier with linear decay): t / warmup for t < warmup (t is
    1-based), then over the last ``decay_steps`` steps (T - t + 1) / D; decay_steps=0: no decay."""
    m = 1.0
    if warmup_steps > 0 and t < warmup_steps:
        m = t / warmup_steps
    if decay_steps > 0 and total > 0:
        span = min(decay_steps, total)
        start = total - span
        if t > start:
            m *= 1 - (t - start - 1) / span
    return m


def anthropic_schedule(total_steps):
    """Anthropic's April 2024 update, in steps of a run of ``total_steps``: lambda warmed up over the
    first 5%, lr decayed linearly to 0 over the last 20%, gradient norm clipped at 1."""
    return dict(l1_warmup_steps=max(1, round(0.05 * total_steps)), decay_steps=max(1, round(0.2 * total_steps)),
                grad_clip=1.0)


def train(model, X, *, batch_size=4096, epochs=1, lr=None, adam_betas=(0.9, 0.999), adam_eps=1e-8,
          seed=0, max_steps=None, fused_adam=False, init_b_dec=True, callback=None, order="torch",
          warmup_steps=0, decay_steps=0, total_steps=None, grad_clip=0.0) -> TrainResult:
    """Trains ``model`` (TopKSparse, TopKDense, ReluL1, BatchTopK or JumpReLU) on the rows of X (numpy
    or torch, any float dtype; converted to float32) with the recipe's loop; returns per-step wall times
    and history. order: "torch" (torch.randperm with a Generator seeded by ``seed``) or "lamina" (Lamina's
    permutation of each epoch, ``lamina_permutation``). Schedule as Lamina's: ``lr_multiplier`` with
    ``total_steps`` (default: the steps of the run), clipping of the global gradient norm when
    grad_clip > 0 (torch.nn.utils.clip_grad_norm_)."""
    X = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X).float().contiguous()
    n = X.shape[0]
    if n < batch_size:
        raise ValueError(f"{n} rows < batch_size {batch_size}: no full batch")
    if init_b_dec:
        model.init_b_dec(X)
    lr = default_lr(model.n_latents) if lr is None else lr
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=adam_betas, eps=adam_eps,
                           **({"fused": True} if fused_adam else {}))
    gen = torch.Generator().manual_seed(seed)
    res = TrainResult(model, batch_size=batch_size)
    hist = {"loss": [], "fvu": [], "l0": []}
    steps_per_epoch = n // batch_size
    if total_steps is None:
        total_steps = steps_per_epoch * epochs if max_steps is None else min(max_steps, steps_per_epoch * epochs)
    for epoch in range(epochs):
        if max_steps is not None and res.steps >= max_steps:
            break
        perm = lamina_permutation(n, seed, epoch) if order == "lamina" else torch.randperm(n, generator=gen)
        for s in range(steps_per_epoch):
            if max_steps is not None and res.steps >= max_steps:
                break
            t0 = time.perf_counter()
            x = X[perm[s * batch_size:(s + 1) * batch_size]]
            loss, parts = model.loss(x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            model.after_backward()
            if grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            if warmup_steps > 0 or decay_steps > 0:
                for group in opt.param_groups:
                    group["lr"] = lr * lr_multiplier(res.steps + 1, total_steps, warmup_steps, decay_steps)
            opt.step()
            model.after_step()
            res.step_seconds.append(time.perf_counter() - t0)
            res.steps += 1
            hist["loss"].append(float(loss.detach()))
            hist["fvu"].append(float(parts["fvu"]))
            hist["l0"].append(float(parts["l0"]))
            if callback is not None:
                callback(res.steps, parts)
    res.history = {k: np.asarray(v) for k, v in hist.items()}
    return res


def evaluate_arrays(X: np.ndarray, X_hat: np.ndarray, codes_nonzero: np.ndarray | None = None,
                    fired: np.ndarray | None = None) -> dict:
    """Metrics in float64 from reconstructions: fvu = sum||x_hat - x||^2 / sum||x - mean(x)||^2,
    nmse (OpenAI) = sum||x_hat - x||^2 / sum||x||^2, mse, cosine similarity; l0 from the number of
    non-zero codes per row; dead fraction from a per-latent 'fired on any row' mask."""
    X = np.asarray(X, dtype=np.float64)
    X_hat = np.asarray(X_hat, dtype=np.float64)
    err = ((X_hat - X) ** 2).sum()
    out = dict(fvu=err / ((X - X.mean(0)) ** 2).sum(), nmse=err / (X ** 2).sum(), mse=err / X.size)
    num = (X * X_hat).sum(1)
    den = np.linalg.norm(X, axis=1) * np.linalg.norm(X_hat, axis=1)
    out["cosine_similarity"] = float(np.mean(num / np.maximum(den, 1e-300)))
    if codes_nonzero is not None:
        out["l0"] = float(np.mean(codes_nonzero))
    if fired is not None:
        out["dead_fraction"] = float(1.0 - np.mean(fired))
    return out


@torch.no_grad()
def evaluate(model, X) -> dict:
    """evaluate_arrays for a trained torch model on X (numpy)."""
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    if isinstance(model, (BatchTopK, JumpReLU)):
        nz, fired, X_hat = [], torch.zeros(model.n_latents, dtype=torch.bool), []
        for s in range(0, Xt.shape[0], 4096):
            z = model.dense_codes(Xt[s:s + 4096])
            X_hat.append((z @ model.W_dec + model.b_dec).numpy())
            nz.append((z != 0).sum(1).numpy())
            fired |= (z != 0).any(0)
        return evaluate_arrays(X, np.concatenate(X_hat), np.concatenate(nz), fired.numpy())
    X_hat = model.reconstruct(Xt).numpy()
    if isinstance(model, TopKBase):
        nz, fired = [], torch.zeros(model.n_latents, dtype=torch.bool)
        for s in range(0, Xt.shape[0], 8192):
            vals, idx = model.encode(Xt[s:s + 8192])
            nz.append((vals > 0).sum(1).numpy())
            fired[idx[vals > 0]] = True
    else:
        nz, fired = [], torch.zeros(model.n_latents, dtype=torch.bool)
        for s in range(0, Xt.shape[0], 8192):
            f = F.relu(F.linear(Xt[s:s + 8192] - model.b_dec, model.W_enc, model.b_enc))
            nz.append((f > 0).sum(1).numpy())
            fired |= (f > 0).any(0)
    return evaluate_arrays(X, X_hat, np.concatenate(nz), fired.numpy())


def _self_check():
    """Gradients of (a) equal those of (b) (same init, same batch, dead latents forced): the sparse
    backward is the dense autograd's gradient."""
    torch.manual_seed(0)
    d, n, k, B = 24, 96, 4, 64
    X = torch.randn(B, d) * 2 + 1
    for impl in ("spmm", "index_add"):
        a = TopKSparse(d, n, k, seed=1, dead_tokens=0, k_aux=8, grad_impl=impl)
        b = TopKDense(d, n, k, seed=1, dead_tokens=0, k_aux=8)
        for m in (a, b):
            m.init_b_dec(X)
            with torch.no_grad():
                m.b_enc.copy_(torch.linspace(-0.5, 0.5, n))
                m.tokens_since_fired[::3] = 5       # every third latent dead
        la, pa = a.loss(X)
        lb, pb = b.loss(X)
        assert float(pa["auxk"]) > 0
        assert torch.allclose(la, lb, rtol=1e-5), (la, lb)
        la.backward()
        lb.backward()
        for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
            ga, gb = getattr(a, name).grad, getattr(b, name).grad
            assert torch.allclose(ga, gb, rtol=1e-4, atol=1e-6), (impl, name, (ga - gb).abs().max())
    print("sae_reference self-check: sparse backward == dense autograd (spmm and index_add): OK")


if __name__ == "__main__":
    _self_check()
