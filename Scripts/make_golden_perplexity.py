#!/usr/bin/env python3
"""Golden perplexity of the trained fixture on a short text, from the PyTorch reference, so
tests can check `molt perplexity` (tokenizer, windows, runtime) without a long run.

Writes the text to Fixtures/golden/trained-perplexity.txt and the result beside it (.json). Needs PyTorch and the tokenizers package.
"""
import json
import math
import os
import sys

import torch
from tokenizers import Tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from blackmamba_reference import BlackMamba, load_checkpoint  # noqa: E402

TEXT_BYTES = 6000
CONTEXT = 256


def main():
    text = open("Fixtures/trained/calibration.txt", encoding="utf-8").read().encode()[:TEXT_BYTES].decode("utf-8", "ignore")
    with open("Fixtures/golden/trained-perplexity.txt", "w", encoding="utf-8") as f:
        f.write(text)
    ids = Tokenizer.from_file("Fixtures/trained/tokenizer.json").encode(text).ids
    config, state_dict, _ = load_checkpoint("Fixtures/trained")
    model = BlackMamba(config, state_dict).to(torch.float64)
    nll, scored = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(ids) - 1, CONTEXT):
            window = ids[start:start + CONTEXT]
            if len(window) < 2:
                break
            logp = torch.log_softmax(model(torch.tensor(window)), dim=-1)
            nll -= sum(logp[t, window[t + 1]].item() for t in range(len(window) - 1))
            scored += len(window) - 1
    result = {"text": "Fixtures/golden/trained-perplexity.txt", "from": "the start of Fixtures/trained/calibration.txt", "context": CONTEXT,
              "tokens_scored": scored, "perplexity": math.exp(nll / scored), "computed_in": "float64",
              "generated_by": "Scripts/make_golden_perplexity.py"}
    with open("Fixtures/golden/trained-perplexity.json", "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
