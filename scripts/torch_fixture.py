#!/usr/bin/env python3
"""PyTorch-format weights fixture for nerd's pickle-free reader (issue 12). Not run in CI.

Writes test/student/fixtures/torch/ with a tiny random BERT token classifier (the plain PyTorch model of
scripts/parity_fixture.py) saved four ways, each folder holding config.json + vocab.txt + weights:

  zip/          pytorch_model.bin, torch.save(state_dict) (zip format, torch >= 1.6)
  legacy/       pytorch_model.bin, torch.save(..., _use_new_zipfile_serialization=False)
  sharded/      pytorch_model.bin.index.json + two zip shards, as transformers' save_pretrained shards
  safetensors/  model.safetensors, the same tensors (the twin the others are compared with)

The state dict is what BertForMaskedLM-style checkpoints hold: classifier.weight is a transposed,
non-contiguous view; cls.predictions.decoder.weight shares the word embeddings' storage (tied weights);
bert.embeddings.position_ids is an int64 buffer. expected.json holds ids and PyTorch's logits for them.
evil.bin is a torch.save file whose pickle names os.system: the reader must refuse it without running it.

  /usr/bin/python3 scripts/torch_fixture.py [--out test/student/fixtures/torch]
"""
import argparse
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_fixture import BertForTokenClassification, tiny_config  # noqa: E402


class Evil:
    def __reduce__(self):
        return (os.system, ("echo this should never run",))


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    dtypes = {torch.float32: "F32", torch.int64: "I64"}
    for name, t in tensors.items():
        b = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="test/student/fixtures/torch")
    args = ap.parse_args()
    torch.manual_seed(12)
    c = tiny_config()
    c.update({"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
              "max_position_embeddings": 16, "model_type": "bert", "architectures": ["BertForTokenClassification"]})
    model = BertForTokenClassification(c).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
        L, H = model.classifier.weight.shape
        model.classifier.weight = torch.nn.Parameter(torch.randn(H, L).t())  # a non-contiguous view
    sd = model.state_dict()
    assert not sd["classifier.weight"].is_contiguous()
    sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]  # tied: one storage
    sd["bert.embeddings.position_ids"] = torch.arange(c["max_position_embeddings"]).unsqueeze(0)

    ids = torch.tensor([[2, 7, 11, 19, 3, 0], [2, 5, 3, 0, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        logits, _ = model(ids, mask, torch.zeros_like(ids))

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(c["vocab_size"] - 5)]
    for sub in ["zip", "legacy", "sharded", "safetensors"]:
        d = os.path.join(args.out, sub)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f, indent=2, sort_keys=True)
        with open(os.path.join(d, "vocab.txt"), "w") as f:
            f.write("\n".join(vocab) + "\n")
    torch.save(sd, os.path.join(args.out, "zip", "pytorch_model.bin"))
    torch.save(sd, os.path.join(args.out, "legacy", "pytorch_model.bin"), _use_new_zipfile_serialization=False)
    names = list(sd)
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate([names[:half], names[half:]]):
        shard = "pytorch_model-%05d-of-00002.bin" % (i + 1)
        torch.save({n: sd[n] for n in part}, os.path.join(args.out, "sharded", shard))
        weight_map.update({n: shard for n in part})
    with open(os.path.join(args.out, "sharded", "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)
    write_safetensors(os.path.join(args.out, "safetensors", "model.safetensors"), sd)
    torch.save({"bert.embeddings.word_embeddings.weight": torch.zeros(2, 2), "x": Evil()}, os.path.join(args.out, "evil.bin"))
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"ids": ids.tolist(), "logits": logits.tolist()}, f)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
