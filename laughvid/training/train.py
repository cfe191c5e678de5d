"""Training loop for `SmileNet`: reusable by `laughvid train` (pretraining) and by fine-tuning.

`train(train_items, val_items, config, init=...)` takes item lists (any mix of sources, e.g. a
fine-tune set plus a replay sample of the pretraining data), an optional initial network (from
`load_weights(model_dir)`), and returns the EMA network with its Platt calibration and the
max-F1 threshold chosen on `val_items`. Seeded: same items + config + seed -> same model.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from laughvid.atomic import atomic_open
from laughvid.lifecycle.modelcard import platt
from laughvid.training.augment import Augment, augment_batch, jpeg_degrade
from laughvid.training.data import EMOTIONS, ImageItem, load_arrays
from laughvid.training.metrics import best_f1_threshold, binary_metrics, figures_text
from laughvid.training.model import SmileNet

WEIGHTS_FILE = "weights.pt"


@dataclass
class TrainConfig:
    size: int = 48
    epochs: int = 24
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.05
    balanced: bool = True  # each epoch: every smile item + as many non-smile items (rotating)
    widths: tuple[int, int, int, int] = (16, 32, 64, 128)
    dropout: float = 0.3
    ema_decay: float = 0.998
    # > 0: the EMA's decay is set from the run's length so its average spans about this share of all
    # steps (replaces ema_decay). A fine-tune has ~100 steps: a 0.998 average would stay ~85 % parent.
    ema_share: float = 0.0
    emotion_weight: float = 0.5  # auxiliary expression loss where the data set names one (0: off)
    # Times each training item of a source is used per epoch (default 1), e.g. {"smilesmiled": 2}:
    # a smaller data set whose framing or labels differ from FER2013's otherwise gets ~1/4 of the steps.
    repeat: dict[str, int] = field(default_factory=dict)
    # What learns (fine-tuning): "all" layers, the "last" stage (128-channel conv + residual block) and
    # the head, or the "head" alone; frozen layers also keep their BatchNorm statistics.
    trainable: str = "all"
    backbone_lr: float = 1.0  # learning rate of trainable layers below the head, as a share of `lr`
    seed: int = 0
    threads: int = 2
    augment: Augment = field(default_factory=Augment)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    net: SmileNet  # EMA weights, eval mode
    calibration: tuple[float, float]  # prob = sigmoid(a * logit + b)
    threshold: float  # on the calibrated probability, max F1 on validation
    validation: dict[str, float]
    history: list[dict[str, float]]
    config: TrainConfig
    seconds: float


class BalancedEpochs:
    """Epoch orders with every item of the minority class and an equal number of majority items,
    taken in turn from a shuffled queue so every majority item is used before any repeats."""

    def __init__(self, labels: np.ndarray, rng: np.random.Generator) -> None:
        minority = int(labels.sum() * 2 <= len(labels))  # the label that is rarer
        self.minority = np.flatnonzero(labels == minority)
        self.majority = np.flatnonzero(labels != minority)
        self.rng = rng
        self.queue = np.empty(0, np.int64)
        self.epoch_size = 2 * min(len(self.minority), len(self.majority)) if len(self.majority) else len(labels)

    def next_epoch(self) -> np.ndarray:
        take = self.epoch_size - len(self.minority)
        while len(self.queue) < take:
            self.queue = np.concatenate([self.queue, self.rng.permutation(self.majority)])
        chosen, self.queue = self.queue[:take], self.queue[take:]
        return self.rng.permutation(np.concatenate([self.minority, chosen]))


def repeat_index(items: list[ImageItem], repeat: dict[str, int]) -> np.ndarray:
    """Indices into `items` with each item of a source in `repeat` listed that many times (augmentation
    makes the copies differ), so repeated images are decoded once."""
    if any(times < 1 for times in repeat.values()):
        raise ValueError(f"repeat must be at least 1 (got {repeat})")
    return np.repeat(np.arange(len(items)), [repeat.get(it.source, 1) for it in items])


TRAINABLE = ("all", "last", "head")


def parameter_groups(net: SmileNet, trainable: str, lr: float, backbone_lr: float) -> tuple[list[dict], list[torch.nn.Module]]:
    """Optimiser groups for the parts that learn (heads at `lr`, trainable backbone layers at
    `lr * backbone_lr`) and the frozen modules, whose weights and BatchNorm statistics must not move."""
    if trainable not in TRAINABLE:
        raise ValueError(f"trainable must be one of {', '.join(TRAINABLE)} (got {trainable!r})")
    layers = list(net.features)
    learning = {"all": layers, "last": layers[-2:], "head": []}[trainable]
    frozen = [m for m in layers if not any(m is k for k in learning)]
    for module in frozen:
        module.requires_grad_(False)
    heads = [p for m in (net.head, net.emotion_head) if m is not None for p in m.parameters()]
    groups = [{"params": heads, "lr": lr}]
    backbone = [p for m in learning for p in m.parameters()]
    if backbone:
        groups.append({"params": backbone, "lr": lr * backbone_lr})
    return groups, frozen


def predict_logits(net: SmileNet, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Raw logits for N x S x S uint8 grey crops."""
    net.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            chunk = torch.from_numpy(images[start : start + batch_size]).float()[:, None]
            out.append(net(chunk).numpy())
    return np.concatenate(out) if out else np.empty(0, np.float32)


def fit_platt(logits: np.ndarray, labels: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Platt scaling (logistic regression on the logit) by Newton's method, with Platt's smoothed
    targets so a perfectly separated validation set does not send the slope to infinity."""
    labels = np.asarray(labels, np.float64)
    n_pos, n_neg = labels.sum(), len(labels) - labels.sum()
    target = np.where(labels > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    x = np.stack([np.asarray(logits, np.float64), np.ones(len(labels))], 1)
    w = np.array([1.0, 0.0])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - target)
        hess = x.T @ (x * (p * (1 - p))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return float(w[0]), float(w[1])


def save_weights(net: SmileNet, path: str | Path) -> None:
    with atomic_open(path, "wb") as handle:
        torch.save({"config": net.config, "state": net.state_dict()}, handle)


def load_weights(model_dir: str | Path) -> SmileNet:
    """The torch network of a model directory (its `weights.pt`), e.g. to fine-tune from it."""
    path = Path(model_dir) / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no torch weights in {model_dir} (only models trained by laughvid have them)")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    net = SmileNet(widths=tuple(saved["config"]["widths"]), dropout=saved["config"]["dropout"], emotions=saved["config"].get("emotions", 0))
    net.load_state_dict(saved["state"])
    return net.eval()


def train(
    train_items: list[ImageItem],
    val_items: list[ImageItem],
    config: TrainConfig | None = None,
    init: SmileNet | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train (or, with `init`, continue training) a SmileNet; calibrate and pick the threshold on
    `val_items`. Class imbalance: with `config.balanced` each epoch sees every item of the smaller
    class and an equal, rotating share of the larger one (half the compute on FER-like data);
    otherwise the positives' loss is weighted by sqrt(neg/pos). Items that name their expression
    (FER2013, CK+, AffectNet) also train an auxiliary expression head, weighted by `config.emotion_weight`."""
    config = config or TrainConfig()
    if not train_items or not val_items:
        raise ValueError(f"need training and validation items (got {len(train_items)} and {len(val_items)})")
    started = time.time()
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)

    used = repeat_index(train_items, config.repeat)
    x_train, y_train = (array[used] for array in load_arrays(train_items, config.size))
    x_val, y_val = load_arrays(val_items, config.size)
    emotion_train = np.array([it.emotion for it in train_items], np.int64)[used]
    n_pos = max(1, int(y_train.sum()))
    pos_weight = torch.tensor(1.0 if config.balanced else math.sqrt(max(1, len(y_train) - n_pos) / n_pos))
    sampler = BalancedEpochs(y_train, rng) if config.balanced else None
    log(
        f"train {len(y_train)} ({n_pos} smile), validation {len(y_val)} ({int(y_val.sum())} smile), "
        f"{'balanced epochs' if sampler else 'all items per epoch'}, pos_weight {pos_weight.item():.2f}"
    )

    net = copy.deepcopy(init) if init is not None else SmileNet(config.widths, config.dropout)
    if config.emotion_weight > 0 and (emotion_train >= 0).any():
        net.add_emotion_head(len(EMOTIONS))
    groups, frozen = parameter_groups(net, config.trainable, config.lr, config.backbone_lr)
    optimiser = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    epoch_size = sampler.epoch_size if sampler else len(y_train)
    steps_per_epoch = math.ceil(epoch_size / config.batch_size)
    total, warmup = config.epochs * steps_per_epoch, max(1, int(config.warmup_epochs * steps_per_epoch))
    decay = 1 - 1 / max(1.0, config.ema_share * total) if config.ema_share > 0 else config.ema_decay
    ema = torch.optim.swa_utils.AveragedModel(net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / total)))
    )
    smooth = config.label_smoothing

    history: list[dict[str, float]] = []
    best: tuple[float, dict] | None = None
    for epoch in range(config.epochs):
        net.train()
        for module in frozen:
            module.eval()
        order = sampler.next_epoch() if sampler else torch.randperm(len(y_train), generator=generator).numpy()
        running = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            images = jpeg_degrade(x_train[idx], config.augment, rng)
            pixels = augment_batch(torch.from_numpy(images).float()[:, None], config.augment, generator)
            target = torch.from_numpy(y_train[idx]).float() * (1 - smooth) + smooth / 2
            smile_logits, emotion_logits = net.forward_with_emotions(pixels)
            loss = F.binary_cross_entropy_with_logits(smile_logits, target, pos_weight=pos_weight)
            emotion = torch.from_numpy(emotion_train[idx])
            if emotion_logits is not None and config.emotion_weight > 0 and (emotion >= 0).any():
                known = emotion >= 0
                loss = loss + config.emotion_weight * F.cross_entropy(emotion_logits[known], emotion[known], label_smoothing=smooth)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            ema.update_parameters(net)
            running += loss.item() * len(idx)
        val_logits = predict_logits(ema.module, x_val)
        metrics = binary_metrics(y_val, val_logits, 0.0)
        entry = {
            "epoch": epoch + 1,
            "loss": running / len(order),
            "val_roc_auc": metrics["roc_auc"],
            "val_pr_auc": metrics["pr_auc"],
            "seconds": time.time() - started,
        }
        history.append(entry)
        log(figures_text(entry, sep=" "))
        if best is None or metrics["pr_auc"] > best[0]:
            best = (metrics["pr_auc"], copy.deepcopy(ema.module.state_dict()))

    final = copy.deepcopy(ema.module).eval()
    final.load_state_dict(best[1])
    val_logits = predict_logits(final, x_val)
    calibration = fit_platt(val_logits, y_val)
    probs = platt(val_logits, calibration)
    threshold = best_f1_threshold(y_val, probs)
    validation = binary_metrics(y_val, probs, threshold)
    log(f"validation: {figures_text(validation)}")
    return TrainResult(final, calibration, threshold, validation, history, config, time.time() - started)
