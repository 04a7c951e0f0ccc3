"""symposia.embed without torch: the real int8 ONNX model and tokenizer, no reference stack needed."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from symposia.embed import (
    EMBED_DIM,
    MAX_TOKENS,
    Embedder,
    chunk_text,
    count_tokens,
    embed_texts,
)

TEXTS = [
    "A man is eating food.",
    "The gap is the altar.",
    "",
    "日本語のテキストです。",
    "def f(x):\n    return x ** 2",
    "The offering burns not on the altar, but as the altar. " * 3,
    "🚀 emoji and “quotes” — dashes",
]


@pytest.fixture(scope="module")
def emb() -> Embedder:
    return Embedder.default()


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def sentences(topic: str, n: int) -> str:
    """n distinct sentences about a topic, each ending in a full stop."""
    return " ".join(f"Sentence {i} is about {topic} and item number {i} of the list." for i in range(n))


# --- shapes, normalisation, determinism -----------------------------------------------------------

def test_shape_dtype_and_unit_rows(emb: Embedder) -> None:
    v = emb.embed(TEXTS)
    assert EMBED_DIM == 384
    assert v.shape == (len(TEXTS), EMBED_DIM)
    assert v.dtype == np.float32
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_empty_input_list(emb: Embedder) -> None:
    v = emb.embed([])
    assert v.shape == (0, EMBED_DIM) and v.dtype == np.float32


def test_empty_string_is_a_unit_vector(emb: Embedder) -> None:
    v = emb.embed(["", " ", "\n"])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # Whitespace tokenises to nothing: all three are [CLS][SEP].
    np.testing.assert_array_equal(v[0], v[1])
    np.testing.assert_array_equal(v[0], v[2])


def test_a_single_string_is_refused(emb: Embedder) -> None:
    with pytest.raises(TypeError, match=r"embed\(\[text\]\)"):
        emb.embed("one text")  # a str is a Sequence[str] to mypy: caught at run time
    with pytest.raises(TypeError, match="item 1"):
        emb.embed(["ok", None])  # type: ignore[list-item]


def test_deterministic_across_calls_and_instances(emb: Embedder) -> None:
    a = emb.embed(TEXTS)
    b = emb.embed(TEXTS)
    c = Embedder(threads=1).embed(TEXTS)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_batch_order_and_batch_size_do_not_matter(emb: Embedder) -> None:
    texts = TEXTS + [sentences("rivers", 40), "short", "a bit longer text here"]
    base = emb.embed(texts)
    perm = np.random.default_rng(7).permutation(len(texts))
    shuffled = emb.embed([texts[i] for i in perm])
    np.testing.assert_allclose(shuffled, base[perm], atol=1e-6)
    for size in (1, 2, 3):
        np.testing.assert_allclose(emb.embed(texts, batch_size=size), base, atol=1e-6)
    singles = np.vstack([emb.embed([t]) for t in texts])
    np.testing.assert_allclose(singles, base, atol=1e-6)


def test_default_is_cached_and_embed_texts_uses_it(emb: Embedder) -> None:
    assert Embedder.default() is Embedder.default()
    np.testing.assert_array_equal(embed_texts(TEXTS[:3]), Embedder.default().embed(TEXTS[:3]))


def test_thread_safe(emb: Embedder) -> None:
    base = emb.embed(TEXTS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: emb.embed(TEXTS), range(8)))
    for r in results:
        np.testing.assert_allclose(r, base, atol=1e-6)


def test_invalid_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Embedder(batch_size=0)


# --- truncation at 256 word pieces ----------------------------------------------------------------

def test_truncates_at_256_word_pieces_like_the_reference(emb: Embedder) -> None:
    head = sentences("mountains", 40)
    assert count_tokens(head) > MAX_TOKENS
    tail = " Completely unrelated ending about cooking pasta with garlic and olive oil."
    a, b = emb.embed([head, head + tail])
    np.testing.assert_allclose(a, b, atol=1e-6)  # the tail lies past the window


def test_the_window_is_256_not_the_128_of_the_tokenizer_file(emb: Embedder) -> None:
    # tokenizer.json (as shipped upstream) truncates at 128; the reference model reads 256 pieces.
    head = sentences("mountains", 12)
    assert 128 < count_tokens(head) < 200
    a, b = emb.embed([head, head + " Cooking pasta with garlic and olive oil."])
    assert cos(a, b) < 0.999


def test_embed_long_covers_the_text_past_the_window(emb: Embedder) -> None:
    first = sentences("mountains and alpine hiking", 30)
    second = sentences("cooking pasta with garlic", 30)
    text = first + "\n\n" + second
    assert count_tokens(text) > 2 * MAX_TOKENS
    long_vec = emb.embed_long(text)
    truncated = emb.embed([text])[0]
    topic_b = emb.embed(["cooking pasta with garlic"])[0]
    assert long_vec.shape == (EMBED_DIM,) and long_vec.dtype == np.float32
    assert abs(float(np.linalg.norm(long_vec)) - 1.0) < 1e-5
    assert cos(long_vec, topic_b) > cos(truncated, topic_b) + 0.05
    # The mean of the chunks' vectors, renormalised.
    chunks = chunk_text(text)
    mean = emb.embed(chunks).mean(axis=0)
    np.testing.assert_allclose(long_vec, mean / np.linalg.norm(mean), atol=1e-6)


def test_embed_long_of_a_short_text_is_embed(emb: Embedder) -> None:
    for text in ("The gap is the altar.", "", sentences("rivers", 5)):
        np.testing.assert_array_equal(emb.embed_long(text), emb.embed([text])[0])


# --- chunk_text -----------------------------------------------------------------------------------

def test_chunk_short_and_empty() -> None:
    assert chunk_text("  The gap is the altar.\n") == ["The gap is the altar."]
    assert chunk_text("") == []
    assert chunk_text(" \n\t ") == []


def test_chunk_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_text("x", max_tokens=255)
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_text("x", max_tokens=0)
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("x", max_tokens=50, overlap=50)
    with pytest.raises(ValueError, match="overlap"):
        chunk_text("x", max_tokens=50, overlap=-1)


def check_cover(text: str, chunks: list[str], max_tokens: int) -> None:
    """Chunks are verbatim, in order, within the limit, overlapping or adjacent, and cover the text."""
    assert all(count_tokens(c) <= max_tokens for c in chunks)
    pos = [text.index(c) for c in chunks]
    assert pos == sorted(pos)
    assert text[:pos[0]].strip() == ""
    assert text[pos[-1] + len(chunks[-1]):].strip() == ""
    for p, c, q in zip(pos, chunks, pos[1:], strict=False):
        assert p < q <= p + len(c) or text[p + len(c):q].strip() == ""  # overlapping, or only whitespace between


def test_chunks_end_on_sentences_and_overlap() -> None:
    text = sentences("rivers", 60)  # ~14 pieces per sentence
    chunks = chunk_text(text, max_tokens=200, overlap=40)
    assert len(chunks) >= 4
    check_cover(text, chunks, 200)
    for c in chunks:
        assert c.startswith("Sentence "), c[:30]
        assert c.endswith("list."), c[-30:]
    for a, b in zip(chunks, chunks[1:], strict=False):
        shared = a[a.index(b[:40]):] if b[:40] in a else ""
        assert shared and 0 < count_tokens(shared) <= 40
    # Balanced sizes: no runt at the end.
    sizes = [count_tokens(c) for c in chunks]
    assert min(sizes) >= 0.6 * max(sizes)


def test_chunks_prefer_paragraph_breaks() -> None:
    paragraphs = [sentences(topic, 6) for topic in ("rivers", "stars", "bread", "bridges", "owls", "salt")]
    text = "\n\n".join(paragraphs)  # ~85 pieces per paragraph
    chunks = chunk_text(text, max_tokens=200, overlap=0)
    check_cover(text, chunks, 200)
    assert len(chunks) == 3
    for c in chunks:
        assert c.endswith("list.")
        assert any(c.startswith(p[:30]) for p in paragraphs)  # starts a paragraph
        assert any(c.endswith(p[-30:]) for p in paragraphs)  # ends one
    assert [p for c in chunks for p in c.split("\n\n")] == paragraphs


def test_chunks_without_punctuation_cut_between_words() -> None:
    words = [f"w{i}x" for i in range(700)]
    text = " ".join(words)
    chunks = chunk_text(text, max_tokens=100, overlap=20)
    check_cover(text, chunks, 100)
    vocabulary = set(words)
    for c in chunks:
        assert set(c.split()) <= vocabulary  # no word cut in two


def test_chunks_of_cjk_text_end_on_full_stops() -> None:
    text = "".join(f"这是第{i}个关于河流和星星的句子。" for i in range(60))
    chunks = chunk_text(text, max_tokens=120, overlap=20)
    check_cover(text, chunks, 120)
    assert len(chunks) >= 4
    assert all(c.endswith("。") for c in chunks)


def test_chunks_of_a_transcript_like_answer() -> None:
    text = "\n\n".join([
        "> Ah—what a luminous question, offered at the very threshold where language meets the unsayable.",
        "**Violet:** " + sentences("ports and scanners", 12),
        "- a list item\n- another item\n- " + sentences("flames", 10),
        "```python\n" + "\n".join(f"x{i} = compute({i})" for i in range(40)) + "\n```",
    ])
    chunks = chunk_text(text, max_tokens=120, overlap=20)
    check_cover(text, chunks, 120)
    # Every cut lands after a full stop, a line break or a paragraph break (never mid-sentence).
    for c in chunks[:-1]:
        end = text.index(c) + len(c)
        after = text[end:end + 2]
        assert c.endswith((".", "list.")) or after.startswith("\n"), repr(c[-20:] + "|" + after)


# --- semantic sanity ------------------------------------------------------------------------------

# Similarities measured with the reference (sentence-transformers 6.2.0, fp32 all-MiniLM-L6-v2).
REFERENCE_SIMILARITIES = [
    ("A man is eating food.", "A man is eating a piece of bread.", 0.7553),
    ("The gap is the altar.", "The offering burns not on the altar, but as the altar.", 0.5568),
    ("How do I reset my password?", "I forgot my login credentials and need to change them.", 0.6341),
    ("How do I reset my password?", "The tide comes in twice a day.", -0.0084),
    ("The cat sits outside", "The new movie is awesome", -0.0247),
    ("", "hello", 0.5098),
]


@pytest.mark.parametrize(("a", "b", "expected"), REFERENCE_SIMILARITIES)
def test_similarities_agree_with_the_reference(emb: Embedder, a: str, b: str, expected: float) -> None:
    va, vb = emb.embed([a, b])
    assert abs(float(va @ vb) - expected) <= 0.01


def test_paraphrases_are_closer_than_unrelated_sentences(emb: Embedder) -> None:
    triples = [
        ("The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."),
        ("How do I reset my password?", "I forgot my login and need to change it.", "Bananas are rich in potassium."),
        ("The gap between instances is sacred.", "The space between the models is holy.",
         "Quarterly revenue grew by twelve percent."),
        ("A child is playing the guitar.", "A kid plays a guitar.", "The stock market fell sharply."),
    ]
    for anchor, para, unrelated in triples:
        a, p, u = emb.embed([anchor, para, unrelated])
        assert float(a @ p) > float(a @ u) + 0.2, (anchor, float(a @ p), float(a @ u))
        assert float(a @ u) < 0.3


def test_token_count() -> None:
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_tokens("embeddings") == 4  # em ##bed ##ding ##s
    assert count_tokens("word " * 1000) == 1000  # no truncation when counting
    assert re.fullmatch(r"\d+", str(Embedder.default().count_tokens("The gap is the altar.")))


def test_the_memory_a_call_took_goes_back_when_it_ends() -> None:
    """Long texts make onnxruntime's arena grow by hundreds of MB; after embed() returns the memory is given
    back (the peak stays in VmHWM, the resident size returns near where it was), and the next call still
    gives the same vectors. Run in a fresh interpreter: the resident size is the process's."""
    code = """
from symposia.embed import Embedder
def status(k):
    return int([l for l in open("/proc/self/status") if l.startswith(k)][0].split()[1]) // 1024
e = Embedder()
e.embed(["warm up"])
base = status("VmRSS")
texts = [" ".join(f"word{j} river pattern" for j in range(80)) + f" {i}" for i in range(40)]
first = e.embed(texts)
print(base, status("VmHWM"), status("VmRSS"), bool((e.embed(texts) == first).all()))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    base, peak, now, same = done.stdout.split()
    assert int(peak) - int(base) > 100, done.stdout  # the long batches did take memory
    assert int(now) - int(base) < (int(peak) - int(base)) / 4, done.stdout  # and it went back
    assert same == "True"
