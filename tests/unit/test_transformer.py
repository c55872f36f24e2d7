"""The transformer's pieces against PyTorch's own layers (weights copied by from_torch), the paper's formula,
and invariants; bad input is refused with a line naming the argument."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attn_course.attention import causal_mask, padding_mask
from attn_course.transformer import (LearnedPositions, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                                     TransformerEncoderLayer,
                                     sinusoidal_positions)

D, H, FF = 12, 3, 20


# --- positions --------------------------------------------------------------------------

def test_sinusoidal_positions_follow_the_papers_formula_by_hand():
    pe = sinusoidal_positions(50, 6)
    for pos in (0, 1, 7, 49):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-6)
            assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-6)


def test_sinusoidal_positions_odd_width_ends_with_a_sine_and_rows_have_the_same_norm():
    pe = sinusoidal_positions(7, 5)
    assert pe.shape == (7, 5) and pe.dtype == torch.get_default_dtype()
    assert pe[3, 4].item() == pytest.approx(math.sin(3 / 10000 ** (4 / 5)), abs=1e-6)
    even = sinusoidal_positions(9, 8)
    torch.testing.assert_close(even.norm(dim=1), torch.full((9,), 2.0))        # sin² + cos² per pair


@settings(max_examples=25, deadline=None)
@given(shift=st.integers(0, 30), i=st.integers(0, 3))
def test_sinusoidal_position_shifts_are_rotations(shift, i):
    """PE[pos + k] is PE[pos] rotated pair by pair: relative positions are linear maps (the paper's reason)."""
    pe = sinusoidal_positions(80, 8).double()
    w = 1 / 10000 ** (2 * i / 8)
    rotation = torch.tensor([[math.cos(shift * w), -math.sin(shift * w)], [math.sin(shift * w), math.cos(shift * w)]],
                            dtype=torch.float64)
    torch.testing.assert_close(pe[:40, 2 * i:2 * i + 2] @ rotation, pe[shift:shift + 40, 2 * i:2 * i + 2],
                               atol=1e-5, rtol=1e-5)


def test_learned_positions_add_one_vector_per_position():
    torch.manual_seed(0)
    pos = LearnedPositions(10, 4)
    x = torch.zeros(2, 3, 4)
    torch.testing.assert_close(pos(x), pos.embedding.weight[:3].expand(2, 3, 4))


@pytest.mark.parametrize("call, error, words", [
    (lambda: sinusoidal_positions(-1, 4), ValueError, "length"),
    (lambda: sinusoidal_positions(3, 0), ValueError, "d_model"),
    (lambda: sinusoidal_positions(3, 4, base=1.0), ValueError, "base"),
    (lambda: sinusoidal_positions(3.5, 4), TypeError, "length"),
    (lambda: LearnedPositions(4, 8)(torch.zeros(1, 5, 8)), ValueError, "max_len=4"),
    (lambda: LearnedPositions(4, 8)(torch.zeros(1, 3, 6)), ValueError, "D=8"),
    (lambda: TransformerEncoderLayer(10, 3, 8), ValueError, "divisible"),
    (lambda: TransformerEncoderLayer(12, 3, 0), ValueError, "d_ff"),
    (lambda: TransformerEncoderLayer(12, 3, 8, norm_first="yes"), TypeError, "norm_first"),
    (lambda: TransformerEncoderLayer(12, 3, 8)(torch.zeros(2, 5, 10)), ValueError, "x must be (B, S, D) with D=d_model=12"),
    (lambda: TransformerEncoderLayer(12, 3, 8)(torch.zeros(2, 5)), ValueError, "x must be (B, S, D)"),
    (lambda: TransformerEncoderLayer(12, 3, 8)(torch.full((1, 2, 12), float("nan"))), ValueError, "x must be finite"),
    (lambda: TransformerEncoderLayer(12, 3, 8)(torch.zeros(2, 5, 12), mask=torch.ones(2, 5)), TypeError, "mask"),
    (lambda: TransformerDecoderLayer(12, 3, 8)(torch.zeros(2, 5, 12), torch.zeros(3, 4, 12)), ValueError,
     "memory must be (B, S, D) with B=2"),
    (lambda: TransformerEncoderLayer.from_torch(nn.Linear(2, 2)), TypeError, "module must be a TransformerEncoderLayer"),
    (lambda: TransformerEncoderLayer.from_torch(nn.TransformerEncoderLayer(12, 3, 8, activation="gelu")), ValueError,
     "ReLU"),
])
def test_bad_input_is_refused_naming_the_argument(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value)


# --- parity with PyTorch's layers ---------------------------------------------------------

def _inputs(seed: int):
    g = torch.Generator().manual_seed(seed)
    src = torch.randn(3, 6, D, generator=g, requires_grad=True)         # (B, S, D)
    tgt = torch.randn(3, 5, D, generator=g, requires_grad=True)         # (B, L, D)
    src_pad = padding_mask([6, 4, 2], 6)                                  # (B, 1, S), True = may attend
    tgt_pad = padding_mask([5, 3, 1], 5)                                  # (B, 1, L)
    return src, tgt, src_pad, tgt_pad


def _grads(outputs, inputs, params):
    weight = torch.linspace(-1, 1, outputs.numel()).reshape(outputs.shape)
    return torch.autograd.grad((outputs * weight).sum(), [*inputs, *params], retain_graph=True)


@pytest.mark.parametrize("norm_first", [True, False])
def test_the_encoder_layer_matches_pytorchs_in_outputs_and_gradients(norm_first):
    torch.manual_seed(1)
    theirs = nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = TransformerEncoderLayer.from_torch(theirs)
    src, _, src_pad, _ = _inputs(2)
    out, weights = ours(src, src_pad, need_weights=True)
    expected = theirs(src, src_key_padding_mask=~src_pad[:, 0])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    assert weights.shape == (3, H, 6, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, H, 6))
    assert (weights[1, :, :, 4:] == 0).all()                            # padded keys get no weight
    ours_g = _grads(out, [src], [ours.self_attn.q_proj.weight, ours.linear1.weight, ours.norms[0].weight])
    theirs_g = _grads(expected, [src], [theirs.self_attn.in_proj_weight, theirs.linear1.weight, theirs.norm1.weight])
    torch.testing.assert_close(ours_g[0], theirs_g[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours_g[1], theirs_g[1][:D], atol=1e-5, rtol=1e-5)   # W_q's rows of in_proj
    torch.testing.assert_close(ours_g[2:], theirs_g[2:], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm_first", [True, False])
def test_the_decoder_layer_matches_pytorchs_with_causal_and_padding_masks(norm_first):
    torch.manual_seed(3)
    theirs = nn.TransformerDecoderLayer(D, H, FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    ours = TransformerDecoderLayer.from_torch(theirs)
    src, tgt, src_pad, tgt_pad = _inputs(4)
    memory = src * 0.5
    causal = causal_mask(5)                                              # (L, L), True = may attend
    self_mask = causal[None] & tgt_pad                                   # (B, L, L)
    out, self_w, cross_w = ours(tgt, memory, self_mask, src_pad, need_weights=True)
    expected = theirs(tgt, memory, tgt_mask=~causal, tgt_key_padding_mask=~tgt_pad[:, 0],
                      memory_key_padding_mask=~src_pad[:, 0])
    rows = tgt_pad[:, 0, :]                     # PyTorch gives NaN to fully masked query rows; ours never does
    torch.testing.assert_close(out[rows], expected[rows], atol=1e-5, rtol=1e-5)
    assert torch.isfinite(out).all()
    assert (self_w.triu(1) == 0).all() and self_w.shape == (3, H, 5, 5) and cross_w.shape == (3, H, 5, 6)
    weight = rows[..., None].float()
    ours_g = _grads(out * weight, [tgt, src], [ours.cross_attn.out_proj.weight, ours.norms[2].weight])
    theirs_g = _grads(expected.nan_to_num() * weight, [tgt, src],
                      [theirs.multihead_attn.out_proj.weight, theirs.norm3.weight])
    for a, b in zip(ours_g, theirs_g):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_the_causal_decoder_cannot_see_the_future():
    torch.manual_seed(5)
    layer = TransformerDecoderLayer(D, H, FF)
    _, tgt, _, _ = _inputs(6)
    memory = torch.randn(3, 4, D)
    out, _, _ = layer(tgt, memory, causal_mask(5))
    changed = tgt.detach().clone()
    changed[:, 3:] += 1.0                                                 # change positions 3 and 4 only
    out2, _, _ = layer(changed, memory, causal_mask(5))
    torch.testing.assert_close(out[:, :3], out2[:, :3])
    assert not torch.allclose(out[:, 3:], out2[:, 3:])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), norm_first=st.booleans())
def test_without_positions_self_attention_is_permutation_equivariant(seed, norm_first):
    """Shuffle the inputs and the outputs shuffle the same way: why the transformer needs positions."""
    torch.manual_seed(seed)
    layer = TransformerEncoderLayer(D, H, FF, norm_first=norm_first)
    x = torch.randn(2, 7, D)
    perm = torch.randperm(7)
    out, _ = layer(x)
    out_perm, _ = layer(x[:, perm])
    torch.testing.assert_close(out_perm, out[:, perm], atol=1e-5, rtol=1e-5)


# --- the stacks, and decoding with a key/value cache ----------------------------------------

def _stacks(norm_first: bool, positions: str = "sinusoidal"):
    torch.manual_seed(7)
    enc = TransformerEncoder(11, D, H, FF, 2, positions=positions, norm_first=norm_first)
    dec = TransformerDecoder(9, D, H, FF, 2, positions=positions, norm_first=norm_first)
    src, lengths = torch.randint(0, 11, (3, 6)), torch.tensor([6, 4, 2])
    return dec, enc(src, lengths)


@pytest.mark.parametrize("norm_first, positions", [(True, "sinusoidal"), (False, "learned")])
def test_one_step_at_a_time_with_the_cache_gives_the_teacher_forced_logits(norm_first, positions):
    dec, memory = _stacks(norm_first, positions)
    assert memory.last is None and (memory.states[2, 2:] == 0).all()     # zeros at padding, like the LSTM's
    tgt = torch.randint(0, 9, (3, 7))
    full, cache, weights = dec(tgt, None, memory)
    assert cache.length == 7 and cache.past[0][0].shape == (3, H, 7, D // H) and weights.shape == (3, 7, 6)
    steps, cache = [], None
    for t in range(7):
        logits, cache, _ = dec(tgt[:, t:t + 1], cache, memory)
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)


def test_extend_equals_forward_with_a_causal_mask():
    torch.manual_seed(8)
    layer = TransformerDecoderLayer(D, H, FF)
    x, memory = torch.randn(2, 5, D), torch.randn(2, 4, D)
    expected, _, _ = layer(x, memory, causal_mask(5))
    kv = layer.cross_attn.keys_values(memory, memory)
    first, past, _ = layer.extend(x[:, :2], None, kv)
    rest, past, _ = layer.extend(x[:, 2:], past, kv)
    torch.testing.assert_close(torch.cat([first, rest], dim=1), expected, atol=1e-5, rtol=1e-5)
    assert past[0].shape == (2, H, 5, D // H)


@torch.no_grad()
def test_greedy_decoding_with_the_cache_equals_decoding_without_it():
    dec, memory = _stacks(True)
    token = torch.full((3, 1), 1)
    with_cache, cache = [token], None
    for _ in range(8):
        logits, cache, _ = dec(with_cache[-1], cache, memory)
        with_cache.append(logits[:, -1:].argmax(-1))
    without = token
    for _ in range(8):                                   # the whole prefix again at every step
        logits, _, _ = dec(without, None, memory)
        without = torch.cat([without, logits[:, -1:].argmax(-1)], dim=1)
    assert torch.equal(torch.cat(with_cache, dim=1), without)


def test_padded_source_positions_get_no_cross_attention():
    dec, memory = _stacks(True)
    _, _, weights = dec.decode(torch.randint(0, 9, (3, 4)), None, memory, need_weights=True)
    assert len(weights) == 2 and weights[0].shape == (3, H, 4, 6)
    assert (weights[-1][2, :, :, 2:] == 0).all() and (weights[-1][1, :, :, 4:] == 0).all()


def test_learned_positions_beyond_their_table_are_refused():
    torch.manual_seed(0)
    dec = TransformerDecoder(9, D, H, FF, 1, positions="learned")
    _, memory = _stacks(True)
    with pytest.raises(ValueError, match="max_len=256"):
        dec(torch.zeros(3, 257, dtype=torch.long), None, memory)
    with pytest.raises(ValueError, match="offset"):
        LearnedPositions(4, 8)(torch.zeros(1, 2, 8), offset=3)
