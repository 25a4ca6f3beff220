#!/usr/bin/env python3
"""PyTorch reference for bench/train.ts: times full BertForTokenClassification training steps (forward,
loss, backward, clip, AdamW; dropout on) on random data. Prints one JSON line. Run by bench/train.ts."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import torch  # noqa: E402
from parity_fixture import BertForTokenClassification  # noqa: E402


def main():
    a = json.loads(sys.argv[1])
    torch.set_num_threads(a["threads"])
    torch.manual_seed(0)
    c = a["config"]
    model = BertForTokenClassification(c)
    model.train()
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-5)
    B, T = a["batch"], a["seq"]
    ids = torch.randint(1000, c["vocab_size"], (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    types = torch.zeros(B, T, dtype=torch.long)
    labels = torch.randint(0, len(c["id2label"]), (B, T))
    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _, loss = model(ids, mask, types, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return time.perf_counter() - t0

    if a.get("interleave"):
        # one step per "step" line on stdin, its seconds on stdout: lets the caller alternate with its own steps
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            if line.strip() != "step":
                break
            print(json.dumps({"step_s": step()}), flush=True)
        return
    times = []
    for i in range(a["warmup"] + a["steps"]):
        dt = step()
        if i >= a["warmup"]:
            times.append(dt)
    step_s = sorted(times)[len(times) // 2]
    print(json.dumps({"step_s": step_s, "step_s_all": times, "mean_step_s": sum(times) / len(times), "train_tokens_per_s": B * T / step_s,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
