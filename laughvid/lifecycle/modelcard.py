"""Model card: what a smile model is, how to feed it, how good it is, and under which terms.

`model_card.json` is the machine-readable card (the classifier reads framing, calibration and
threshold from it); `MODEL_CARD.md` is rendered from the same dataclass for people.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from laughvid.atomic import write_files_atomic
from laughvid.pipeline.faces.crop import Framing

CARD_JSON = "model_card.json"
CARD_MD = "MODEL_CARD.md"

# Terms per training source (../shared/data/README.md). CK+ and AffectNet make a model non-commercial.
DATASET_TERMS = {
    "fer2013": (
        "FER2013: public research data set from the Kaggle challenge; check Kaggle terms before any "
        "commercial use. Goodfellow et al., ICONIP 2013."
    ),
    "smilesmiled": (
        "SMILEsmileD: no licence file; images from LFW (research use). D. Hromada, github.com/hromi/SMILEsmileD; Huang et al., LFW, 2007."
    ),
    "ckplus": ("CK+: signed agreement, non-commercial research only, no redistribution. Lucey et al., CVPR Workshops 2010."),
    "affectnet": (
        "AffectNet: academic research only, access by request. Mollahosseini, Hasani, Mahoor, IEEE Trans. Affective Computing 2017."
    ),
    "custom": "User-supplied images (fine-tune set): terms set by their owner and the consent records.",
}
NON_COMMERCIAL_SOURCES = {"ckplus", "affectnet"}


# What analysis does with this model's probability (laughvid.pipeline.fusion; models/fusion/README.md).
FUSION_NOTE = (
    "- The laugh probability on laughvid's timeline is this model's calibrated probability fused with face geometry "
    "(MediaPipe Face Mesh V2 landmarks and blendshapes, Apache-2.0, models/face_landmarker/) by a logistic regression "
    "(models/fusion/fusion.json; `AnalysisParams.geometry`). Each face row keeps this model's own probability beside it.",
    "- The fusion was fitted on the validation splits of FER2013, SMILEsmileD and CK+ (deduplicated as for training; no "
    "test image) on top of the shipped model: **non-commercial**, under the same data terms as above.",
)


def platt(logits: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    """Calibrated probabilities sigmoid(a * logit + b) (float64)."""
    a, b = calibration
    return 1.0 / (1.0 + np.exp(-np.clip(a * np.asarray(logits, np.float64) + b, -50, 50)))


@dataclass
class ModelCard:
    version: str
    framing: Framing
    calibration: tuple[float, float]  # prob = sigmoid(a * logit + b)
    threshold: float  # on the calibrated probability
    input: str = "N x 1 x S x S float32 grey pixels in 0..255 (S = framing.size); the graph standardises each crop"
    output: str = "N raw logits of 'smiling'; apply calibration for probabilities"
    created_utc: str = ""
    parent_version: str | None = None  # the model a fine-tune started from
    training_sources: list[str] = field(default_factory=list)
    training: dict = field(default_factory=dict)  # command, seed, config, item counts, duration
    dedup: dict = field(default_factory=dict)  # rule -> items removed
    metrics: dict = field(default_factory=dict)  # evaluation set -> metrics dict
    gate: dict = field(default_factory=dict)  # the promotion gate's rule, decision and comparisons (fine-tunes)
    notes: list[str] = field(default_factory=list)

    @property
    def non_commercial(self) -> bool:
        return bool(NON_COMMERCIAL_SOURCES & set(self.training_sources))

    @property
    def terms(self) -> list[str]:
        return [DATASET_TERMS.get(s, f"{s}: terms unknown") for s in self.training_sources]

    def to_json(self) -> dict:
        data = asdict(self)
        data["calibration"] = {"a": self.calibration[0], "b": self.calibration[1]}
        data["non_commercial"] = self.non_commercial
        data["terms"] = self.terms
        return data

    @classmethod
    def from_json(cls, data: dict) -> ModelCard:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["framing"] = Framing(**data["framing"])
        cal = data["calibration"]
        values["calibration"] = (float(cal["a"]), float(cal["b"]))
        return cls(**values)

    @classmethod
    def load(cls, model_dir: str | Path) -> ModelCard:
        path = Path(model_dir) / CARD_JSON
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing model card (a model directory holds model.onnx and {CARD_JSON})")
        try:
            return cls.from_json(json.loads(path.read_text()))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: invalid model card ({exc})") from exc

    def save(self, model_dir: str | Path) -> None:
        """Both files or neither (laughvid.atomic): the card and its Markdown never disagree."""
        model_dir = Path(model_dir)
        write_files_atomic({model_dir / CARD_JSON: json.dumps(self.to_json(), indent=2) + "\n", model_dir / CARD_MD: self.to_markdown()})

    def cite_reference(self, reference: ModelCard) -> None:
        """Copy a sibling model's figures on data sets it never trained on (`<kind>_all`): the
        cross-data-set check needs the same recipe trained without one data set."""
        cited = [name for name in reference.metrics if name.endswith("_all")]
        for name in cited:
            self.metrics[f"{name} [{reference.version}]"] = reference.metrics[name]
        if cited:
            self.notes.append(
                f"Rows marked [{reference.version}] come from a reference model of the same recipe trained on "
                f"{', '.join(reference.training_sources)} only (`{reference.training.get('command', '')}`), "
                f"tested on all of {', '.join(n[:-4] for n in cited)}."
            )

    def _gate_markdown(self) -> list[str]:
        rule, level = self.gate["rule"], f"{self.gate['rule']['level']:.0%}"
        lines = [
            "",
            "## Promotion gate",
            "",
            f"Decision: **{self.gate['decision']}**. ROC-AUC of {self.gate['active']} (before) and this model (after) on the same items; "
            f"{level} interval of the change from a paired bootstrap ({rule['resamples']} draws of whole groups).",
            "",
            f"| set | n | groups | before | after | change | {level} interval | rule | result |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in self.gate["sets"].items():
            lines.append(
                f"| {name} | {r['n']} | {r['groups']} | {r['before']:.4f} | {r['after']:.4f} | {r['change']:+.4f} | "
                f"[{r['low']:+.4f}, {r['high']:+.4f}] | {r['rule']} | {'PASS' if r['passed'] else 'FAIL'} |"
            )
        return lines

    def to_markdown(self) -> str:
        f = self.framing
        lines = [
            f"# Model card: {self.version}",
            "",
            "Per-face smile classifier (happy/smiling = 1 vs any other expression = 0) for laughvid, run with onnxruntime.",
            "",
            "## Terms",
            "",
            (
                "**NON-COMMERCIAL use only**: trained on data whose terms forbid commercial use."
                if self.non_commercial
                else "No non-commercial data set in training; check each data set's terms below."
            ),
            "",
            *[f"- {t}" for t in self.terms],
            "",
            "## Input and preprocessing",
            "",
            f"- Input: {self.input}.",
            f"- Face framing (from a BlazeFace box): square of side {f.scale} x max(box w, h), centre shifted by "
            f"{f.offset_y} x box height, resized to {f.size}x{f.size}, {'grey' if f.grey else 'RGB'} "
            "(`laughvid.pipeline.faces.crop.crop_faces`).",
            f"- Output: {self.output}.",
            f"- Calibration (Platt, fitted on validation): p = sigmoid({self.calibration[0]:.4f} * logit + {self.calibration[1]:.4f}).",
            f"- Operating threshold (max F1 on validation): p >= {self.threshold:.4f}.",
        ]
        if self.parent_version:
            lines.append(f"- Fine-tuned from {self.parent_version}.")
        lines += ["", "## In analysis: fused with face geometry", "", *FUSION_NOTE]
        lines += ["", "## Training", ""]
        lines += [f"- {k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in self.training.items() if k != "epochs_history"]
        if self.training.get("epochs_history"):
            last = self.training["epochs_history"][-1]
            lines.append(
                f"- last epoch: validation ROC-AUC {last['val_roc_auc']}, PR-AUC {last['val_pr_auc']} (every epoch: model_card.json)"
            )
        if self.dedup:
            lines += ["", "## Deduplication (items removed)", ""]
            lines += [f"- {k}: {v}" for k, v in self.dedup.items()]
        if self.metrics:
            lines += [
                "",
                "## Metrics",
                "",
                "| set | n | ROC-AUC | PR-AUC | F1 | balanced acc | accuracy |",
                "|---|---|---|---|---|---|---|",
            ]
            for name, m in self.metrics.items():
                lines.append(
                    f"| {name} | {m['n']} | {m['roc_auc']:.4f} | {m['pr_auc']:.4f} | {m['f1']:.4f} | "
                    f"{m['balanced_accuracy']:.4f} | {m['accuracy']:.4f} |"
                )
        if self.gate:
            lines += self._gate_markdown()
        if self.notes:
            lines += ["", "## Notes", "", *[f"- {n}" for n in self.notes]]
        return "\n".join(lines) + "\n"
