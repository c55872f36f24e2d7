"""Layer benchmarks: ours against PyTorch's own, forward + backward on the CPU, one thread.

`attn_course.layers.MultiHeadAttention` against `torch.nn.MultiheadAttention`
(the same weights, copied with `from_torch`), and `dot_product_attention` (scale
1/sqrt(Dh)) against `torch.nn.functional.scaled_dot_product_attention`, at
batch 32, L = S = 64, embed 128, 8 heads, float32. Each run times PAIRS steps of
each, alternating which goes first, and reports the ratio of the median times
(ours / torch); the row's median is over the runs. Outputs are asserted equal
(to 1e-5) before anything is timed.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from benchlib import Row

from attn_course.attention import causal_mask, dot_product_attention, padding_mask
from attn_course.layers import MultiHeadAttention, to_torch_masks

B, L, D, H = 32, 64, 128, 8
PAIRS, WARMUP = 25, 5
TOL = dict(atol=1e-5, rtol=1e-5)


def step(fn: Callable[[], torch.Tensor], params: list[torch.Tensor]) -> float:
    """Time one forward + backward; gradients are cleared before the clock starts."""
    for p in params:
        p.grad = None
    start = time.perf_counter()
    fn().sum().backward()
    return time.perf_counter() - start


def ratio_runs(ours: Callable[[], torch.Tensor], theirs: Callable[[], torch.Tensor],
               params: list[torch.Tensor], repeat: int) -> tuple[list[float], float, float]:
    """Per run, median(ours) / median(theirs) over PAIRS alternating steps; also the overall medians in ms."""
    runs, all_ours, all_theirs = [], [], []
    for _ in range(WARMUP):
        step(ours, params), step(theirs, params)
    for _ in range(repeat):
        t_ours, t_theirs = [], []
        for i in range(PAIRS):
            order = ((ours, t_ours), (theirs, t_theirs)) if i % 2 else ((theirs, t_theirs), (ours, t_ours))
            for fn, times in order:
                times.append(step(fn, params))
        runs.append(statistics.median(t_ours) / statistics.median(t_theirs))
        all_ours += t_ours
        all_theirs += t_theirs
    return runs, 1e3 * statistics.median(all_ours), 1e3 * statistics.median(all_theirs)


def bench_mha(repeat: int) -> list[Row]:
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(D, H, batch_first=True)
    for p in theirs.parameters():   # biases included, so that a bias left out would show
        torch.nn.init.normal_(p, std=0.1)
    ours = MultiHeadAttention.from_torch(theirs)
    q, k, v = (torch.randn(B, L, D, requires_grad=True) for _ in range(3))
    params = [q, k, v, *ours.parameters(), *theirs.parameters()]
    mask = padding_mask(torch.randint(1, L + 1, (B,)), L) & causal_mask(L)   # (B, L, S)
    attn_mask, key_padding_mask = to_torch_masks(mask, B, H, L, L)
    rows = []
    for need_weights, masked, target in ((True, False, 1.10), (False, False, 1.10), (True, True, None), (False, True, None)):
        m = dict(mask=mask) if masked else {}
        tm = dict(attn_mask=attn_mask, key_padding_mask=key_padding_mask) if masked else {}
        out_o, w_o = ours(q, k, v, need_weights=need_weights, **m)
        out_t, w_t = theirs(q, k, v, need_weights=need_weights, **tm)
        torch.testing.assert_close(out_o, out_t, **TOL)
        if need_weights:
            torch.testing.assert_close(w_o, w_t, **TOL)
        runs, ms_o, ms_t = ratio_runs(lambda: ours(q, k, v, need_weights=need_weights, **m)[0],
                                      lambda: theirs(q, k, v, need_weights=need_weights, **tm)[0], params, repeat)
        label = f"need_weights={need_weights}" + (", padding & causal mask" if masked else "")
        rows.append(Row(f"MultiHeadAttention / nn.MultiheadAttention, fwd+bwd, {label} "
                        f"(ours {ms_o:.1f} ms, torch {ms_t:.1f} ms)", statistics.median(runs), runs, "x", target))
    return rows


def bench_dot_product(repeat: int) -> list[Row]:
    q, k, v = (torch.randn(B, H, L, D // H, requires_grad=True) for _ in range(3))
    scale = 1.0 / math.sqrt(D // H)
    torch.testing.assert_close(dot_product_attention(q, k, v, scale=scale)[0],
                               F.scaled_dot_product_attention(q, k, v), **TOL)
    runs, ms_o, ms_t = ratio_runs(lambda: dot_product_attention(q, k, v, scale=scale)[0],
                                  lambda: F.scaled_dot_product_attention(q, k, v), [q, k, v], repeat)
    return [Row(f"dot_product_attention / F.scaled_dot_product_attention, fwd+bwd "
                f"(ours {ms_o:.1f} ms, torch {ms_t:.1f} ms)", statistics.median(runs), runs, "x", None)]


def bench_layers(repeat: int) -> list[Row]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return bench_mha(repeat) + bench_dot_product(repeat)
    finally:
        torch.set_num_threads(threads)


SUITES = {"layers": bench_layers}
