"""The encoder-decoders: shapes, padding that never leaks, decoding rules, overfitting a tiny batch; the
attention decoder's weights, and swapping them for another function (attending_with)."""

import pytest
import torch

from attn_course.attention import dot_product_attention
from attn_course.data import EOS_ID, PAD_ID, SOS_ID, Vocab, encode_pairs
from attn_course.models import DECODERS, Seq2Seq, Seq2SeqConfig, dot_attention_weights
from attn_course.train import build_model

PAIRS = [("abc", "xy"), ("ba", "yyx"), ("cab", "x"), ("a", "xyxy")]
SRC, TGT = Vocab.build(s for s, _ in PAIRS), Vocab.build(t for _, t in PAIRS)
VARIANTS = [(d, "dot") for d in DECODERS] + [("attention", "general"), ("attention", "additive")]


def model_for(decoder, score="dot", seed=0, hidden=16):
    return build_model(Seq2SeqConfig(SRC, TGT, decoder=decoder, score=score, embed_dim=8, hidden_dim=hidden), seed)


@pytest.fixture(scope="module")
def batch():
    return encode_pairs(PAIRS, SRC, TGT, reverse_source=True)


@pytest.mark.parametrize("decoder, score", VARIANTS)
def test_forward_shapes(decoder, score, batch):
    logits, weights = model_for(decoder, score)(batch.src, batch.src_lengths, batch.tgt_in)
    B, S = batch.src.shape
    L = batch.tgt_in.shape[1]
    assert logits.shape == (B, L, len(TGT))
    if decoder in ("attention", "transformer"):
        assert weights.shape == (B, L, S)
        real = torch.arange(S)[None, :] < batch.src_lengths[:, None]                 # (B, S)
        assert torch.all(weights.masked_select(~real[:, None, :].expand_as(weights)) == 0)
        torch.testing.assert_close(weights.sum(-1), torch.ones(B, L))
    else:
        assert weights is None


@pytest.mark.parametrize("decoder, score", VARIANTS)
def test_padding_never_leaks(decoder, score, batch):
    """Changing what sits at padded source positions changes nothing downstream."""
    model = model_for(decoder, score)
    scribbled = batch.src.clone()
    real = torch.arange(batch.src.shape[1])[None, :] < batch.src_lengths[:, None]
    scribbled[~real] = 5                                                                 # a real token id
    a, wa = model(batch.src, batch.src_lengths, batch.tgt_in)
    b, wb = model(scribbled, batch.src_lengths, batch.tgt_in)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    memory = model.encoder(batch.src, batch.src_lengths)
    assert torch.all(memory.states[~real] == 0)


def test_vanilla_sees_only_the_last_state(batch):
    """The vanilla decoder's output depends on the source only through (h, c)."""
    model = model_for("vanilla")
    memory = model.encoder(batch.src, batch.src_lengths)
    other = memory._replace(states=torch.randn_like(memory.states))
    a, _, _ = model.decoder(batch.tgt_in, memory.last, memory)
    b, _, _ = model.decoder(batch.tgt_in, other.last, other)
    torch.testing.assert_close(a, b)


def test_peeky_uses_the_last_state_at_every_step(batch):
    model = model_for("peeky")
    memory = model.encoder(batch.src, batch.src_lengths)
    h, c = memory.last
    changed = memory._replace(last=(h + 1.0, c))
    zero_state = (torch.zeros_like(h), torch.zeros_like(c))
    a, _, _ = model.decoder(batch.tgt_in, zero_state, memory)          # same initial state,
    b, _, _ = model.decoder(batch.tgt_in, zero_state, changed)         # different peek
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("decoder, score", VARIANTS)
def test_greedy_decoding_stops_at_eos_and_respects_max_len(decoder, score, batch):
    model = model_for(decoder, score).eval()
    tokens, weights = model.greedy_decode(batch.src, batch.src_lengths, max_len=5)
    assert tokens.shape[0] == len(PAIRS) and tokens.shape[1] <= 5
    for row in tokens.tolist():
        if EOS_ID in row:
            assert all(t == PAD_ID for t in row[row.index(EOS_ID) + 1:])
        assert SOS_ID not in row
    if decoder == "attention":
        assert weights.shape == (*tokens.shape, batch.src.shape[1])


def test_greedy_decoding_stops_early_when_every_output_ended(batch):
    model = model_for("vanilla").eval()
    with torch.no_grad():                                       # make EOS always the most likely token
        model.decoder.out.bias.fill_(-10.0)
        model.decoder.out.bias[EOS_ID] = 10.0
    tokens, _ = model.greedy_decode(batch.src, batch.src_lengths, max_len=20)
    assert tokens.shape[1] == 1 and torch.all(tokens == EOS_ID)


@pytest.mark.parametrize("decoder, score", VARIANTS)
def test_each_model_overfits_a_tiny_batch(decoder, score, batch):
    torch.manual_seed(0)
    model = model_for(decoder, score, hidden=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(150):
        optimizer.zero_grad()
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05
    model.eval()
    assert [model.translate(s)[0] for s, _ in PAIRS] == [t for _, t in PAIRS]


def test_translate_returns_weights_in_written_order():
    model = model_for("attention").eval()
    text, weights = model.translate("abc")
    assert weights.shape[1] == 3 and weights.shape[0] >= 1
    reversed_cfg = model.config.__class__(**{**model.config.__dict__, "reverse_source": False})
    plain = Seq2Seq(reversed_cfg)
    plain.load_state_dict(model.state_dict())
    # The same weights applied to the reversed string, unreversed, see the same tokens in the same order.
    _, w_plain = plain.eval().translate("cba")
    torch.testing.assert_close(weights.flip(-1), w_plain)


def test_unknown_characters_become_unk_and_still_decode():
    out, _ = model_for("attention").eval().translate("a#c")
    assert isinstance(out, str)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"decoder": "gru"}, ValueError, "decoder must be one of"),
    ({"score": "cosine"}, ValueError, "score must be one of"),
    ({"hidden_dim": 0}, ValueError, "hidden_dim must be an int >= 1"),
    ({"embed_dim": 2.5}, TypeError, "embed_dim must be an int; got float"),
])
def test_config_is_validated(kwargs, error, message):
    with pytest.raises(error, match=message):
        Seq2SeqConfig(SRC, TGT, **kwargs)


def test_config_round_trips_through_a_dict():
    config = Seq2SeqConfig(SRC, TGT, decoder="peeky", hidden_dim=12)
    assert Seq2SeqConfig.from_dict(config.to_dict()) == config


def test_same_seed_same_weights_different_seed_different_weights():
    a, b, c = model_for("attention", seed=1), model_for("attention", seed=1), model_for("attention", seed=2)
    for (name, p), q, r in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(p, q), name
    assert not all(torch.equal(p, r) for p, r in zip(a.parameters(), c.parameters()))


# ---------------------------------------------------------------- the decoder's weights, and swapping them


def test_dot_attention_weights_by_hand():
    query = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])                   # (B, L, H) = (1, 2, 2)
    keys = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])        # (B, S, H) = (1, 3, 2)
    mask = torch.tensor([[True, True, False]])                         # the third key is padding
    e = torch.e
    expected = torch.tensor([[[e / (e + 1), 1 / (e + 1), 0.0], [1 / (1 + e**2), e**2 / (1 + e**2), 0.0]]])
    torch.testing.assert_close(dot_attention_weights(query, keys, mask), expected)


def test_dot_attention_weights_match_dot_product_attention_at_every_step():
    g = torch.Generator().manual_seed(0)
    query, keys = torch.randn(3, 4, 5, generator=g), torch.randn(3, 6, 5, generator=g)
    mask = torch.arange(6)[None, :] < torch.tensor([6, 2, 4])[:, None]   # (B, S)
    weights = dot_attention_weights(query, keys, mask)                   # (B, L, S)
    _, expected = dot_product_attention(query, keys, keys, mask[:, None, :])
    torch.testing.assert_close(weights, expected)
    assert torch.all(weights.masked_select(~mask[:, None, :].expand_as(weights)) == 0)
    for step in range(4):                                                 # one step at a time, L = 1
        torch.testing.assert_close(dot_attention_weights(query[:, step:step + 1], keys, mask), weights[:, step:step + 1])


@pytest.mark.parametrize("score", ["dot", "general"])
def test_attending_with_swaps_the_weights_inside_the_block_only(score, batch):
    model = model_for("attention", score).eval()
    before, w_before = model(batch.src, batch.src_lengths, batch.tgt_in)
    seen = []

    def uniform(query, keys, mask):                                       # every real position alike
        seen.append((query.shape, keys.shape, mask.shape))
        return (mask[:, None, :].float() / mask.sum(-1)[:, None, None]).expand(-1, query.shape[1], -1)

    with model.attending_with(uniform) as same:
        assert same is model
        logits, weights = model(batch.src, batch.src_lengths, batch.tgt_in)
        _, decoded = model.greedy_decode(batch.src, batch.src_lengths, max_len=3)
    B, S = batch.src.shape
    L, H = batch.tgt_in.shape[1], model.config.hidden_dim
    assert seen[0] == ((B, L, H), (B, S, H), (B, S)) and seen[-1] == ((B, 1, H), (B, S, H), (B, S))
    torch.testing.assert_close(weights[:, 0], (batch.src != PAD_ID).float() / batch.src_lengths[:, None])
    assert not torch.allclose(logits, before)
    assert torch.allclose(decoded.sum(-1), torch.ones(decoded.shape[:2]))
    after, w_after = model(batch.src, batch.src_lengths, batch.tgt_in)     # restored after the block
    torch.testing.assert_close(after, before, rtol=0, atol=0)
    torch.testing.assert_close(w_after, w_before, rtol=0, atol=0)


def test_attending_with_the_package_weights_changes_nothing_and_is_restored_after_an_error(batch):
    model = model_for("attention").eval()
    text, weights = model.translate("abc")
    with model.attending_with(dot_attention_weights):
        assert model.translate("abc")[0] == text
        torch.testing.assert_close(model.translate("abc")[1], weights, rtol=0, atol=0)
    with pytest.raises(ZeroDivisionError):
        with model.attending_with(lambda q, k, m: 1 / 0):
            model.translate("abc")
    assert model.decoder.weights_fn is dot_attention_weights
    assert model.translate("abc")[0] == text


def test_attending_with_gradients_flow_through_the_function(batch):
    model = model_for("attention")
    scale = torch.tensor(1.0, requires_grad=True)
    with model.attending_with(lambda q, k, m: dot_attention_weights(q * scale, k, m)):
        logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
    logits.sum().backward()
    assert scale.grad is not None and scale.grad != 0
