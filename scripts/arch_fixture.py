#!/usr/bin/env python3
"""Plain PyTorch references for nerd's DistilBERT, ELECTRA and RoBERTa support (issue 12). Not run in CI.

DistilBERT is written out here module by module with exactly Hugging Face's DistilBertForTokenClassification
names and maths (q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2, output_layer_norm; no token
types; LayerNorm eps 1e-12); ELECTRA's discriminator is BERT's encoder (scripts/parity_fixture.py) under the prefix
`electra.`, with `embeddings_project` when embedding_size < hidden_size (electra-small); RoBERTa is that encoder under `roberta.` with
position ids counted from padding_idx + 1 (and a tiny byte-level BPE tokenizer.json). transformers is not
needed.

For each, a tiny random model (weights N(0, 0.5), dropout 0) is written as a Hugging Face folder
(config.json in the architecture's own fields, model.safetensors under its own names, vocab.txt), and
PyTorch's logits, loss and every parameter's gradient for a padded batch with ignored labels (computed in
float64 from the float32 weights) go to expected.json and grads.safetensors:

  /usr/bin/python3 scripts/arch_fixture.py [--out test/student/fixtures/arch]

Check a folder nerd saved: loads it into the reference by its names and prints the logits for --ids:

  /usr/bin/python3 scripts/arch_fixture.py --check DIR --ids '[[2, 7, 3]]'
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parity_fixture import Bert, Embeddings, Encoder, read_safetensors  # noqa: E402

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


class DistilEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["dim"], padding_idx=c["pad_token_id"])
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["dim"])
        self.LayerNorm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])[None, :]
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))


class DistilAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_heads = c["n_heads"]
        self.q_lin = nn.Linear(c["dim"], c["dim"])
        self.k_lin = nn.Linear(c["dim"], c["dim"])
        self.v_lin = nn.Linear(c["dim"], c["dim"])
        self.out_lin = nn.Linear(c["dim"], c["dim"])

    def forward(self, x, mask):
        B, T, D = x.shape
        d = D // self.n_heads
        split = lambda t: t.view(B, T, self.n_heads, d).transpose(1, 2)
        q = split(self.q_lin(x)) / math.sqrt(d)
        scores = q @ split(self.k_lin(x)).transpose(2, 3)
        scores = scores.masked_fill((mask == 0)[:, None, None, :], torch.finfo(scores.dtype).min)
        ctx = (F.softmax(scores, dim=-1) @ split(self.v_lin(x))).transpose(1, 2).reshape(B, T, D)
        return self.out_lin(ctx)


class DistilFFN(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lin1 = nn.Linear(c["dim"], c["hidden_dim"])
        self.lin2 = nn.Linear(c["hidden_dim"], c["dim"])

    def forward(self, x):
        return self.lin2(F.gelu(self.lin1(x)))


class DistilBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = DistilAttention(c)
        self.sa_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)
        self.ffn = DistilFFN(c)
        self.output_layer_norm = nn.LayerNorm(c["dim"], eps=1e-12)

    def forward(self, x, mask):
        sa = self.sa_layer_norm(self.attention(x, mask) + x)
        return self.output_layer_norm(self.ffn(sa) + sa)


class DistilTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([DistilBlock(c) for _ in range(c["n_layers"])])


class DistilBert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = DistilEmbeddings(c)
        self.transformer = DistilTransformer(c)

    def forward(self, ids, mask):
        h = self.embeddings(ids)
        for block in self.transformer.layer:
            h = block(h, mask)
        return h


class DistilBertForTokenClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.distilbert = DistilBert(c)
        self.classifier = nn.Linear(c["dim"], len(c["id2label"]))

    def forward(self, ids, mask):
        return self.classifier(self.distilbert(ids, mask))


class RobertaForTokenClassification(nn.Module):
    """BERT's encoder under `roberta.`; position ids count from padding_idx + 1 over non-pad tokens."""

    def __init__(self, c):
        super().__init__()
        self.pad = c["pad_token_id"]
        self.roberta = Bert(c)
        self.classifier = nn.Linear(c["hidden_size"], len(c["id2label"]))

    def forward(self, ids, mask):
        e = self.roberta.embeddings
        m = (ids != self.pad).long()
        pos = torch.cumsum(m, dim=1) * m + self.pad
        h = e.LayerNorm(e.word_embeddings(ids) + e.position_embeddings(pos) + e.token_type_embeddings(torch.zeros_like(ids)))
        dtype = h.dtype
        mask_bias = (1.0 - mask[:, None, None, :].to(dtype)) * torch.finfo(torch.float32).min
        return self.classifier(self.roberta.encoder(h, mask_bias))


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def roberta_tokenizer():
    """A tiny byte-level BPE tokenizer.json as RoBERTa's (its 256 byte symbols, two merges)."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for ch in bytes_to_unicode():
        vocab[ch] = len(vocab)
    for t in ["\u0120w", "\u0120w1"]:
        vocab[t] = len(vocab)
    vocab["<mask>"] = len(vocab)
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": t == "<mask>", "rstrip": False, "normalized": False,
              "special": True} for t in ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]]
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True,
                              "add_prefix_space": False},
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                     "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": ["\u0120 w", "\u0120w 1"]}}
    config = {"tokenizer_class": "RobertaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
              "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "add_prefix_space": False, "model_max_length": 16}
    return tok, config


class Electra(nn.Module):
    """ElectraModel: embeddings of embedding_size, projected to hidden_size when they differ, then BERT's encoder."""

    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings({**c, "hidden_size": c["embedding_size"]})
        if c["embedding_size"] != c["hidden_size"]:
            self.embeddings_project = nn.Linear(c["embedding_size"], c["hidden_size"])
        self.encoder = Encoder(c)

    def forward(self, ids, mask):
        h = self.embeddings(ids, torch.zeros_like(ids))
        if hasattr(self, "embeddings_project"):
            h = self.embeddings_project(h)
        mask_bias = (1.0 - mask[:, None, None, :].to(h.dtype)) * torch.finfo(torch.float32).min
        return self.encoder(h, mask_bias)


class ElectraForTokenClassification(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.electra = Electra(c)
        self.classifier = nn.Linear(c["hidden_size"], len(c["id2label"]))

    def forward(self, ids, mask):
        return self.classifier(self.electra(ids, mask))


def label_maps():
    return {"id2label": {str(i): l for i, l in enumerate(LABELS)}, "label2id": {l: i for i, l in enumerate(LABELS)}}


def configs():
    distil = {"model_type": "distilbert", "architectures": ["DistilBertForTokenClassification"], "vocab_size": 40, "dim": 16,
              "n_layers": 2, "n_heads": 2, "hidden_dim": 32, "max_position_embeddings": 16, "activation": "gelu",
              "dropout": 0.0, "attention_dropout": 0.0, "initializer_range": 0.02, "pad_token_id": 0,
              "sinusoidal_pos_embds": False, **label_maps()}
    electra = {"model_type": "electra", "architectures": ["ElectraForTokenClassification"], "vocab_size": 40, "embedding_size": 16,
               "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32,
               "max_position_embeddings": 16, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu",
               "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02, "pad_token_id": 0,
               "position_embedding_type": "absolute", **label_maps()}
    roberta = {"model_type": "roberta", "architectures": ["RobertaForTokenClassification"], "vocab_size": len(roberta_tokenizer()[0]["model"]["vocab"]),
               "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32,
               "max_position_embeddings": 18, "type_vocab_size": 1, "layer_norm_eps": 1e-5, "hidden_act": "gelu",
               "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "initializer_range": 0.02, "pad_token_id": 1,
               "bos_token_id": 0, "eos_token_id": 2, "position_embedding_type": "absolute", **label_maps()}
    return {"distilbert": (distil, DistilBertForTokenClassification), "electra": (electra, ElectraForTokenClassification),
            "electra-small": ({**electra, "embedding_size": 8}, ElectraForTokenClassification),
            "roberta": (roberta, RobertaForTokenClassification)}


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make(out):
    base_ids = torch.tensor([[2, 7, 11, 19, 23, 3], [2, 5, 9, 3, 0, 0]])
    labels = torch.tensor([[-100, 1, 2, 0, 3, -100], [-100, 0, 4, -100, -100, -100]])
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(35)]
    for name, (c, cls) in configs().items():
        ids = base_ids.clone()
        if name == "roberta":  # <s>=0, </s>=2, <pad>=1
            ids = torch.where(ids == 0, torch.ones_like(ids), torch.where(ids == 2, torch.zeros_like(ids), torch.where(ids == 3, torch.full_like(ids, 2), ids)))
        mask = (ids != c["pad_token_id"]).long()
        torch.manual_seed(1212)
        model = cls(c)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 0.5)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        write_safetensors(os.path.join(d, "model.safetensors"), model.state_dict())
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(c, f, indent=2, sort_keys=True)
        if name == "roberta":
            tok, tok_config = roberta_tokenizer()
            with open(os.path.join(d, "tokenizer.json"), "w") as f:
                json.dump(tok, f)
            with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
                json.dump(tok_config, f)
        else:
            with open(os.path.join(d, "vocab.txt"), "w") as f:
                f.write("\n".join(vocab) + "\n")
            with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
                json.dump({"do_lower_case": False, "model_max_length": 16}, f)
        model = model.double()
        logits = model(ids, mask)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        loss.backward()
        write_safetensors(os.path.join(d, "..", name + "-grads.safetensors"), {n: p.grad for n, p in model.named_parameters()})
        with open(os.path.join(out, name + "-expected.json"), "w") as f:
            json.dump({"ids": ids.tolist(), "mask": mask.tolist(), "labels": labels.tolist(), "loss": loss.item(),
                       "logits": logits.detach().tolist()}, f)
        print("wrote", d)


def check(folder, ids):
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    cls = {"distilbert": DistilBertForTokenClassification, "electra": ElectraForTokenClassification,
           "roberta": RobertaForTokenClassification}[c["model_type"]]
    model = cls(c)
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        raise SystemExit("missing from the checkpoint: %s" % ", ".join(missing))
    ids = torch.tensor(ids)
    with torch.no_grad():
        print(json.dumps(model(ids, (ids != c["pad_token_id"]).long()).tolist()))
    if unexpected:
        print("unused: %s" % ", ".join(unexpected), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="test/student/fixtures/arch")
    ap.add_argument("--check")
    ap.add_argument("--ids", default="[[2, 7, 11, 3]]")
    args = ap.parse_args()
    if args.check:
        check(args.check, json.loads(args.ids))
    else:
        make(args.out)


if __name__ == "__main__":
    main()
