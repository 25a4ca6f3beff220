#!/usr/bin/env python3
"""PyTorch reference for nerd's student engine (issue 3, item 7). Not run in CI.

Defines BERT for token classification in plain PyTorch, with exactly Hugging Face's
BertForTokenClassification parameter names and maths (transformers is not needed), then writes a fixture:
a tiny random BERT's weights, a padded batch with ignored labels, and PyTorch's loss, logits and every
parameter's gradient, then the parameters after two clipped AdamW steps (computed in float64, stored as
float32).

  /usr/bin/python3 scripts/parity_fixture.py [--out test/student/fixtures]

Files: parity.json (config, batch, loss, logits, tensor index) + parity.bin (little-endian float32:
parameters, gradients, parameters after 2 AdamW steps, in the index's order). test/student/parity.test.ts checks the engine against it.

Checkpoint check: loads a checkpoint folder written by nerd (config.json + model.safetensors) into the
plain PyTorch BERT below and prints its logits for the given ids; with --expect (a JSON file holding the
logits nerd computed, flat or nested), reports the largest difference and exits 1 above 1e-4:

  /usr/bin/python3 scripts/parity_fixture.py --checkpoint DIR --ids '[[101, 1109, 102]]' [--expect FILE]

Also importable (bench/train_torch.py uses BertForTokenClassification from here).
"""
import argparse
import json
import math
import os

import torch
from torch import nn
import torch.nn.functional as F


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c.get("pad_token_id", 0))
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        pos = torch.arange(T, device=input_ids.device).unsqueeze(0)
        e = self.word_embeddings(input_ids) + self.position_embeddings(pos) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(e))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, h, mask_bias):
        B, T, H = h.shape
        d = H // self.heads
        split = lambda x: x.view(B, T, self.heads, d).permute(0, 2, 1, 3)
        q, k, v = split(self.query(h)), split(self.key(h)), split(self.value(h))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask_bias
        probs = self.dropout(torch.softmax(scores, dim=-1))
        return (probs @ v).permute(0, 2, 1, 3).reshape(B, T, H)


class DenseLN(nn.Module):
    """BertSelfOutput / BertOutput: dense, dropout, residual, LayerNorm."""

    def __init__(self, c, inp):
        super().__init__()
        self.dense = nn.Linear(inp, c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x, residual):
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseLN(c, c["hidden_size"])

    def forward(self, h, mask_bias):
        return self.output(self.self(h, mask_bias), h)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

    def forward(self, h):
        return F.gelu(self.dense(h))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseLN(c, c["intermediate_size"])

    def forward(self, h, mask_bias):
        a = self.attention(h, mask_bias)
        return self.output(self.intermediate(a), a)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, h, mask_bias):
        for layer in self.layer:
            h = layer(h, mask_bias)
        return h


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)

    def forward(self, input_ids, attention_mask, token_type_ids):
        dtype = self.embeddings.word_embeddings.weight.dtype
        mask_bias = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(torch.float32).min
        return self.encoder(self.embeddings(input_ids, token_type_ids), mask_bias)


class BertForTokenClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bert = Bert(c)
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.classifier = nn.Linear(c["hidden_size"], len(c["id2label"]))

    def forward(self, input_ids, attention_mask, token_type_ids, labels=None, weights=None):
        logits = self.classifier(self.dropout(self.bert(input_ids, attention_mask, token_type_ids)))
        if labels is None:
            return logits, None
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100, reduction="none")
        valid = (labels.reshape(-1) != -100).to(logits.dtype)
        w = valid if weights is None else weights.reshape(-1).to(logits.dtype) * valid
        return logits, (ce * w).sum() / valid.sum().clamp(min=1)


def tiny_config():
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    return {
        "vocab_size": 60, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "max_position_embeddings": 24, "type_vocab_size": 2,
        "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
        "initializer_range": 0.02, "hidden_act": "gelu", "pad_token_id": 0,
        "id2label": {str(i): l for i, l in enumerate(labels)}, "label2id": {l: i for i, l in enumerate(labels)},
    }


def read_safetensors(path):
    """Minimal safetensors reader (the format is an 8-byte header length, a JSON header, raw data)."""
    import struct
    import numpy as np
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[8 + n + a:8 + n + b], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.astype(np.float32).copy())
    return out


def check_checkpoint(args):
    with open(os.path.join(args.checkpoint, "config.json")) as f:
        c = json.load(f)
    c.setdefault("pad_token_id", 0)
    model = BertForTokenClassification(c)
    state = read_safetensors(os.path.join(args.checkpoint, "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise SystemExit("checkpoint lacks parameters: %s" % ", ".join(missing))
    model.eval()
    ids = torch.tensor(json.loads(args.ids), dtype=torch.long)
    with torch.no_grad():
        logits, _ = model(ids, torch.ones_like(ids), torch.zeros_like(ids))
    print(json.dumps({"logits": logits.tolist(), "ignored_parameters": unexpected}))
    if args.expect:
        with open(args.expect) as f:
            expected = torch.tensor(json.load(f), dtype=torch.float32).reshape(logits.shape)
        diff = (logits - expected).abs().max().item()
        scale = expected.abs().max().item()
        print("max |pytorch - nerd| = %.3g (largest logit %.3g)" % (diff, scale))
        if diff > 1e-4 * max(1.0, scale):
            raise SystemExit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "student", "fixtures"))
    ap.add_argument("--checkpoint", help="check a nerd checkpoint folder instead of writing the fixture")
    ap.add_argument("--ids", default="[[2, 17, 23, 3]]", help="JSON [[...]] token ids for --checkpoint")
    ap.add_argument("--expect", help="JSON file with nerd's logits for --ids")
    args = ap.parse_args()
    if args.checkpoint:
        check_checkpoint(args)
        return
    torch.manual_seed(1234)
    c = tiny_config()
    model = BertForTokenClassification(c).double()
    # Larger-than-default random weights (and non-trivial LayerNorm / biases) so every path carries signal.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm.weight" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    B, T = 3, 10
    lengths = [10, 7, 4]
    input_ids = torch.zeros(B, T, dtype=torch.long)
    attention_mask = torch.zeros(B, T, dtype=torch.long)
    token_type_ids = torch.zeros(B, T, dtype=torch.long)
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, n in enumerate(lengths):
        input_ids[b, :n] = torch.randint(1, c["vocab_size"], (n,))
        input_ids[b, 0], input_ids[b, n - 1] = 2, 3  # [CLS] ... [SEP]
        attention_mask[b, :n] = 1
        token_type_ids[b, n // 2:n] = 1 if b == 0 else 0
        labels[b, 1:n - 1] = torch.randint(0, len(c["id2label"]), (n - 2,))
    labels[0, 3] = -100  # a non-first sub-word
    input_ids[1, 2] = input_ids[1, 4]  # repeated id: embedding gradient must accumulate
    weights = torch.rand(B, T, dtype=torch.float64) + 0.5

    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    logits, loss = model(input_ids, attention_mask, token_type_ids, labels)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
    _, weighted_loss = model(input_ids, attention_mask, token_type_ids, labels, weights)

    # Two optimiser steps as Hugging Face's Trainer takes them: clip to global norm 1, AdamW with weight
    # decay except on biases and LayerNorm weights.
    adamw = {"lr": 1e-2, "weight_decay": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "max_grad_norm": 1.0}
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n
    opt = torch.optim.AdamW([
        {"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": adamw["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0},
    ], lr=adamw["lr"], betas=adamw["betas"], eps=adamw["eps"])
    grad_norms, step_losses = [], []
    for step in range(2):
        if step > 0:
            opt.zero_grad()
            _, l = model(input_ids, attention_mask, token_type_ids, labels)
            l.backward()
        step_losses.append(model(input_ids, attention_mask, token_type_ids, labels)[1].item())
        grad_norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), adamw["max_grad_norm"]).item())
        opt.step()
    updated = {n: p.detach().clone() for n, p in model.named_parameters()}

    os.makedirs(args.out, exist_ok=True)
    index, chunks, offset = [], [], 0
    for kind, source in (("param", initial), ("grad", grads), ("after2steps", updated)):
        for name, _ in model.named_parameters():
            t = source[name].float().contiguous()
            index.append({"kind": kind, "name": name, "shape": list(t.shape), "offset": offset})
            chunks.append(t.numpy().astype("<f4").tobytes())
            offset += t.numel()
    with open(os.path.join(args.out, "parity.bin"), "wb") as f:
        f.write(b"".join(chunks))
    fixture = {
        "generator": "scripts/parity_fixture.py (PyTorch %s, float64)" % torch.__version__,
        "config": c,
        "batch": {
            "batchSize": B, "seqLen": T,
            "inputIds": input_ids.flatten().tolist(), "attentionMask": attention_mask.flatten().tolist(),
            "tokenTypeIds": token_type_ids.flatten().tolist(), "labels": labels.flatten().tolist(),
            "weights": weights.flatten().tolist(),
        },
        "loss": loss.item(),
        "weightedLoss": weighted_loss.item(),
        "logits": logits.detach().flatten().tolist(),
        "adamw": {**adamw, "betas": list(adamw["betas"]), "grad_norms": grad_norms, "losses": step_losses},
        "tensors": index,
    }
    with open(os.path.join(args.out, "parity.json"), "w") as f:
        json.dump(fixture, f)
    print("wrote", os.path.join(args.out, "parity.json"), "loss", loss.item(), "floats", offset)


if __name__ == "__main__":
    main()
