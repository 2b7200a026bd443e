#!/usr/bin/env python3
"""Train Molt's small test tokenizer and record what the reference implementation does with it.

Writes, under --out (default: <repo>/Fixtures/tokenizer):

  tokenizer.json   a 4096-token byte-level BPE configured like GPT-NeoX-20B's (NFC normalizer,
                   ByteLevel pre-tokenizer without prefix space, ByteLevel decoder,
                   <|endoftext|> = id 0, <|padding|> = id 1)
  corpus.json      test strings with the ids and decodings the Python `tokenizers` package
                   produces for that tokenizer, plus id sequences that decode to invalid UTF-8,
                   plus variants of the tokenizer (each a replacement for some top-level members
                   of tokenizer.json) with the ids they give for the test strings

The training text is every top-level .py file of this Python's standard library, in bytewise
sorted order (about 4.7 MB for CPython 3.11).  Tokenizer training is deterministic for a given
text and `tokenizers` version; the versions used are written into corpus.json.
--write-training-text PATH writes the same documents joined by <|endoftext|> so a model can be
trained on exactly the text the tokenizer saw.

With --check-neox PATH, also encodes the corpus strings, more random ones and whole files of
the standard library with a real GPT-NeoX-20B tokenizer.json, and writes the results to
neox_corpus.json beside PATH (not committed; MOLT_NEOX_DIR=that directory makes the Swift tests
check against it).

Requires: pip install tokenizers
"""

import argparse
import json
import os
import random
import sys
import sysconfig

import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

VOCAB_SIZE = 4096
SPECIAL_TOKENS = ["<|endoftext|>", "<|padding|>"]
EOT = SPECIAL_TOKENS[0]


def training_files():
    stdlib = sysconfig.get_paths()["stdlib"]
    names = sorted((n for n in os.listdir(stdlib) if n.endswith(".py")), key=lambda n: n.encode())
    return [os.path.join(stdlib, n) for n in names]


def training_documents():
    docs = []
    for path in training_files():
        with open(path, "rb") as f:
            docs.append(f.read().decode("utf-8"))
    return docs


def train(docs):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    return tok


def test_strings():
    long_word = "pneumonoultramicroscopicsilicovolcanoconiosis" * 12
    return [
        "",
        "Hello, world!",
        "hello world",
        " leading space",
        "trailing space ",
        "The quick brown fox jumps over the lazy dog.",
        "def f(x):\n    return x + 1\n",
        "import os\nimport sys\n\n\nclass Foo(object):\n    \"\"\"Doc.\"\"\"\n    pass\n",
        "for i in range(10):\n\tprint(i)\n",
        "if a != b and c <= d:\r\n    x = {'k': [1, 2.5, -3e10]}\r\n",
        "it's, don't, we're, they've, I'm, you'll, he'd",
        "IT'S DON'T WE'RE",
        "'s't're've'm'll'd",
        "''''",
        "caf\u00e9 na\u00efve r\u00e9sum\u00e9",
        "cafe\u0301 nai\u0308ve re\u0301sume\u0301",
        "\u212b \u2126 \u1e9b\u0323",
        "\u1100\u1161\u11a8 \ud55c\uad6d\uc5b4",
        "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \u4e2d\u6587\u5b57\u7b26",
        "\u0417\u0434\u0440\u0430\u0432\u0441\u0442\u0432\u0443\u0439, \u043c\u0438\u0440! \u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5",
        "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947",
        "emoji \U0001f600\U0001f389 thumbs \U0001f44d\U0001f3fd",
        "family \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 flag \U0001f1ef\U0001f1f5 \u2764\ufe0f",
        "mixed: abc\u65e5\u672c123\u0661\u0662\u0663 \u00bd \u2167",
        "numbers 0 12 345 6789 3.14159 1,000,000 0x1F",
        "a  b   c    d",
        "   ",
        "\t\t\tindented",
        "line1\nline2\r\nline3\rline4",
        "\n\n\n\n\n\n\n\n",
        "end\n\n\n   \n\t\n",
        "word   \n  next",
        "\u00a0non-breaking\u2003em-space\u3000ideographic",
        "zero\u200bwidth",
        "control\x00chars\x07\x1b[0m",
        "Hello<|endoftext|>World",
        "<|endoftext|>",
        "<|endoftext|><|endoftext|><|padding|>",
        " <|endoftext|> spaced ",
        "text <|padding|>\n<|endoftext|>\nmore",
        "<|endof partial <|endoftext",
        "<|<|endoftext|>|>",
        long_word,
        "x" * 1000,
        "=" * 300 + "\n" + "#" * 80,
        "!!!??? ... --- ***",
        "https://example.com/path?q=1&r=two#frag",
        "snake_case_name CamelCaseName __dunder__",
        "\U0001d4d0\U0001d4d1 \U00010348 \U0010ffff",
        "\ufeffbom at start",
    ]


def invalid_utf8_id_sequences(tok):
    """Id sequences whose bytes are not valid UTF-8: partial characters, stray continuation bytes."""
    from tokenizers.pre_tokenizers import ByteLevel

    alphabet = ByteLevel.alphabet()
    table = bytes_to_unicode()
    byte_id = {b: tok.token_to_id(table[b]) for b in range(256)}
    assert all(i is not None for i in byte_id.values()) and len(alphabet) == 256
    seqs = [
        [byte_id[0xE6]],
        [byte_id[0xE6], byte_id[0x97]],
        [byte_id[0x80]],
        [byte_id[0xFF], byte_id[0x41]],
        [byte_id[0xF0], byte_id[0x9F], byte_id[0x98]],
        [byte_id[0xC3], byte_id[0x28]],
        [byte_id[0xED], byte_id[0xA0], byte_id[0x80]],
        [byte_id[0xE0], byte_id[0x80], byte_id[0xAF]],
        [byte_id[0xF4], byte_id[0x90], byte_id[0x80], byte_id[0x80]],
        [byte_id[0x41], byte_id[0xF0], byte_id[0x9F], byte_id[0x42]],
    ]
    rng = random.Random(7)
    for _ in range(20):
        seqs.append([rng.randrange(tok.get_vocab_size()) for _ in range(rng.randrange(1, 12))])
    return seqs


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def stress_strings(count, seed):
    """Random mixtures of the characters and runs the pre-tokenizer and the added tokens treat
    specially: whitespace of every kind and length, contractions, marks, emoji, CJK, digits."""
    pieces = [
        " ", "  ", "    ", " " * 9, " " * 30, "\t", "\n", "\r\n", "\n\n\n", "\u00a0", "\u2028", "\u3000", "\u200b",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'", "''",
        "a", "Z", "word", "\u00e9", "e\u0301", "\u0301", "\u0915\u093f", "\u05e9", "\u0416",
        "0", "42", "\u0663", "\u00bd", "\u2167", "\U0001d7d8",
        "!", "?!", "...", "(", ")", "_", "-", "#", "\\", "\"", "\u00ad", "\x00", "\x7f", "\u0085",
        "\u65e5\u672c", "\ud55c", "\U0001f600", "\U0001f44d\U0001f3fd", "\u200d", "\ufe0f", "\U0001f1ef\U0001f1f5",
        "<|endoftext|>", "<|padding|>", "<|endoftext", "|>",
    ]
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40))) for _ in range(count)]


def sampled_lines(docs, count, seed=1):
    lines = [line for doc in docs for line in doc.split("\n") if line.strip()]
    rng = random.Random(seed)
    return [lines[i] for i in sorted(rng.sample(range(len(lines)), count))]


def added(id, content, special=False, lstrip=False, rstrip=False, single_word=False, normalized=True):
    return {"id": id, "content": content, "single_word": single_word, "lstrip": lstrip,
            "rstrip": rstrip, "normalized": normalized, "special": special}


def variants(base):
    """Top-level members to replace in tokenizer.json, exercising options the base file leaves off."""
    pre = dict(base["pre_tokenizer"])
    model = dict(base["model"])
    extra_added = base["added_tokens"] + [
        added(4096, "<mask>", special=True, lstrip=True, rstrip=True, normalized=False),
        added(4097, "[W]", single_word=True, normalized=False),
        added(4098, "e\u0301t\u00e9"),
        added(4099, "    "),
        added(4100, "\U0001f600", special=True, normalized=False),
        added(4101, "\u00a0", rstrip=True),
    ]
    return {
        "prefix_space": {"pre_tokenizer": {**pre, "add_prefix_space": True}},
        "no_regex": {"pre_tokenizer": {**pre, "use_regex": False}},
        "no_normalizer": {"normalizer": None},
        "ignore_merges": {"model": {**model, "ignore_merges": True}},
        "added_options": {"added_tokens": extra_added},
    }


def variant_strings():
    return test_strings()[:50] + [
        "a <mask> b",
        "a<mask>b",
        "x  <mask>\t\n y",
        "<mask><mask> <mask>",
        "[W] x[W] [W]y ([W]) _[W] \u00e9[W] [W]\u0301",
        "[W][W]",
        "ete\u0301 e\u0301t\u00e9 \u00e9t\u00e9s",
        "def f():\n        return 1\n",
        "          ten spaces",
        "smile\U0001f600\U0001f600!",
        "no\u00a0 \u00a0break",
    ]


def record(tok, strings, id_sequences):
    cases = []
    for s in strings:
        ids = tok.encode(s).ids
        cases.append({
            "text": s,
            "ids": ids,
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skipping_special": tok.decode(ids, skip_special_tokens=True),
        })
    decodes = [{"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)} for ids in id_sequences]
    return {"encode": cases, "decode": decodes}


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(repo, "Fixtures", "tokenizer"))
    ap.add_argument("--write-training-text", metavar="PATH")
    ap.add_argument("--check-neox", metavar="TOKENIZER_JSON")
    args = ap.parse_args()

    docs = training_documents()
    if args.write_training_text:
        with open(args.write_training_text, "w", encoding="utf-8", newline="") as f:
            f.write(EOT.join(docs))

    os.makedirs(args.out, exist_ok=True)
    tok = train(docs)
    assert tok.token_to_id(EOT) == 0 and tok.token_to_id("<|padding|>") == 1
    assert tok.get_vocab_size() == VOCAB_SIZE, tok.get_vocab_size()
    tok_path = os.path.join(args.out, "tokenizer.json")
    tok.save(tok_path, pretty=False)
    tok = Tokenizer.from_file(tok_path)

    strings = test_strings() + stress_strings(60, seed=3) + sampled_lines(docs, 300)
    corpus = {
        "generator": "Scripts/make_tokenizer.py",
        "tokenizers_version": tokenizers.__version__,
        "python_version": sys.version.split()[0],
        "training_files": len(docs),
        "training_chars": sum(len(d) for d in docs),
        **record(tok, strings, invalid_utf8_id_sequences(tok)),
    }

    base = json.loads(open(tok_path, encoding="utf-8").read())
    corpus["variants"] = []
    for name, patch in variants(base).items():
        vtok = Tokenizer.from_str(json.dumps({**base, **patch}))
        corpus["variants"].append({"name": name, "replace": patch, **record(vtok, variant_strings(), [])})
    with open(os.path.join(args.out, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=True, indent=0)
        f.write("\n")

    if args.check_neox:
        neox = Tokenizer.from_file(args.check_neox)
        stdlib = sysconfig.get_paths()["stdlib"]
        others = sorted(
            os.path.join(d, n) for d, _, names in os.walk(stdlib) for n in names
            if n.endswith((".py", ".txt", ".rst")) and d != stdlib and "site-packages" not in d)
        files = [open(p, "rb").read().decode("utf-8", "replace") for p in random.Random(5).sample(others, 200)]
        more = strings + stress_strings(2000, seed=11) + sampled_lines(docs, 3000, seed=2) + files
        with open(os.path.join(os.path.dirname(os.path.abspath(args.check_neox)), "neox_corpus.json"), "w", encoding="utf-8") as f:
            json.dump(record(neox, more, []), f, ensure_ascii=True)
    print(f"wrote {tok_path} and corpus.json ({len(strings)} strings)")


if __name__ == "__main__":
    main()
