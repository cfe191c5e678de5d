"""`laughvid eval-images` on face crops and on full photos, with the shipped model."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from laughvid.cli import main
from laughvid.config import SHIPPED_MODEL_DIR as DEFAULT_MODEL_DIR
from laughvid.pipeline.scoring import SmileClassifier

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image (dev extra) supplies the test face")


@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(skimage_data.astronaut(), cv2.COLOR_RGB2BGR)  # public-domain photo, smiling face


@pytest.fixture
def photo_folder(tmp_path, astronaut_bgr):
    """smile/: the full photo, a small crop of her face, an unreadable file; non_smile/: a faceless photo."""
    (tmp_path / "smile").mkdir()
    (tmp_path / "non_smile").mkdir()
    cv2.imwrite(str(tmp_path / "smile/photo.jpg"), astronaut_bgr)
    box = SmileClassifier.load(DEFAULT_MODEL_DIR).crop(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2RGB), [_largest_face(astronaut_bgr)])
    cv2.imwrite(str(tmp_path / "smile/crop.png"), cv2.resize(box[0], (96, 96)))
    (tmp_path / "smile/broken.jpg").write_bytes(b"not an image")
    cv2.imwrite(str(tmp_path / "non_smile/wall.png"), np.full((300, 400, 3), 128, np.uint8))
    return tmp_path


def _largest_face(bgr: np.ndarray):
    from laughvid.pipeline.faces.detector import FaceDetector

    faces = FaceDetector().detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert faces, "the detector should find the astronaut's face"
    return faces[0].box


def test_eval_images_on_crops_and_photos(photo_folder, tmp_path, capsys):
    scores_file = tmp_path / "scores.csv"
    code = main(["eval-images", str(photo_folder), "--json", "--model", str(DEFAULT_MODEL_DIR), "--scores", str(scores_file)])
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert code == 1  # ran, but one input could not be read (and says so)
    assert "broken.jpg" in out.err
    assert summary["images"] == 4 and summary["n"] == 2
    assert (summary["used_as_crop"], summary["face_detected"], summary["no_face"], summary["unreadable"]) == (1, 1, 1, 1)
    assert summary["recall"] == 1.0  # the smiling astronaut is called smiling, as photo and as crop
    for key in ("accuracy", "balanced_accuracy", "f1", "roc_auc", "pr_auc"):
        assert key in summary
    rows = list(csv.DictReader(scores_file.open()))
    assert [Path(r["path"]).name for r in rows] == ["broken.jpg", "crop.png", "photo.jpg", "wall.png"] or len(rows) == 4
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["broken.jpg"]["score"] == "" and by_name["wall.png"]["score"] == ""
    assert float(by_name["photo.jpg"]["score"]) >= summary["threshold"]


def test_figures_are_named_with_bootstrap_intervals_and_json_keeps_them_for_scripts(astronaut_bgr, tmp_path, capsys):
    """60 generated crops: the report names each figure to 4 decimals with its 95 % interval (it printed
    a JSON dict of 16-digit floats and no interval); --json gives the same figures unrounded."""
    rgb = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2RGB)
    face = cv2.resize(SmileClassifier.load(DEFAULT_MODEL_DIR).crop(rgb, [_largest_face(astronaut_bgr)])[0], (96, 96)).astype(float)
    rng = np.random.default_rng(0)
    for label in ("smile", "non_smile"):
        (tmp_path / label).mkdir()
        for i in range(30):  # her face under more and more noise, half of non_smile/ blurred too: scores spread
            image = np.clip(face + rng.normal(0, 8 + 2 * i, face.shape), 0, 255).astype(np.uint8)
            if label == "non_smile" and i % 2 == 0:
                image = cv2.GaussianBlur(image, (0, 0), 1 + i / 4)
            cv2.imwrite(str(tmp_path / label / f"{i:02d}.png"), image)
    args = ["eval-images", str(tmp_path), "--model", str(DEFAULT_MODEL_DIR), "--faces", "crops"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert main([*args, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert "60 image(s), 60 scored (30 smile, 30 non-smile)" in text
    assert "95% percentile bootstrap over the scored images" in text and "{" not in text
    for key, name in (("roc_auc", "ROC-AUC"), ("balanced_accuracy", "balanced accuracy"), ("f1", "F1 (smile)")):
        low, high = figures["intervals"][key]
        assert 0 <= low <= figures[key] <= high <= 1 and high - low > 0.01  # 60 images: an interval of several points
        assert f"{name:<18} {figures[key]:.4f}  [{low:.4f}, {high:.4f}]" in text
    assert f"precision {figures['precision']:.4f}, recall {figures['recall']:.4f}, PR-AUC {figures['pr_auc']:.4f}" in text


def test_disagreement_sheet_shows_the_mislabelled_image(photo_folder, tmp_path, capsys):
    """A smiling face filed under non_smile/ is the one disagreement, drawn on the contact sheet."""
    (photo_folder / "smile/crop.png").rename(photo_folder / "non_smile/crop.png")
    sheet_file = tmp_path / "sheet.png"
    main(["eval-images", str(photo_folder), "--model", str(DEFAULT_MODEL_DIR), "--disagreements", str(sheet_file)])
    assert "1 most confident disagreements" in capsys.readouterr().err
    sheet = cv2.imread(str(sheet_file), cv2.IMREAD_GRAYSCALE)
    assert sheet.shape == (96 + 16, 8 * 96)
    assert sheet[:96, :96].std() > 10 and sheet[:96, 96:].min() == 255  # one face tile, the rest blank


def test_checked_labels_from_the_sheet_correct_the_figures(photo_folder, tmp_path, capsys):
    """The CSV beside the sheet lists its tiles; once a person writes the right label in `checked`,
    --checked-labels reports the figures against it, and leaves out images marked unsure."""
    (photo_folder / "smile/crop.png").rename(photo_folder / "non_smile/crop.png")
    sheet_file = tmp_path / "sheet.png"
    main(["eval-images", str(photo_folder), "--model", str(DEFAULT_MODEL_DIR), "--disagreements", str(sheet_file)])
    capsys.readouterr()
    rows = list(csv.DictReader((tmp_path / "sheet.csv").open()))
    assert [(r["tile"], r["path"], r["label"], r["checked"]) for r in rows] == [("1", "non_smile/crop.png", "non_smile", "")]

    checked_file = tmp_path / "checked.csv"

    def run_checked(checked: str) -> int:
        with checked_file.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerow({**rows[0], "checked": checked})
        return main(["eval-images", str(photo_folder), "--json", "--model", str(DEFAULT_MODEL_DIR), "--checked-labels", str(checked_file)])

    run_checked("smile")
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_smile"], summary["recall"]) == (1, 1.0)  # the folder's own labels, unchanged
    assert summary["checked_labels"]["relabelled"] == 1
    assert (summary["checked_labels"]["n_smile"], summary["checked_labels"]["recall"]) == (2, 1.0)
    run_checked("unsure")
    summary = json.loads(capsys.readouterr().out)["checked_labels"]
    assert (summary["unsure_left_out"], summary["n"]) == (1, 1)
    assert run_checked("happy") == 2
    assert "line 2: checked is 'happy'" in capsys.readouterr().err


def test_disagreements_rank_the_most_confident_first():
    from laughvid.training.evaluate import FolderEvaluation, ImageScore, disagreements

    rows = [
        ImageScore("a", 1, 0.45, "crop"),
        ImageScore("b", 0, 0.95, "crop"),
        ImageScore("c", 1, 0.9, "crop"),
        ImageScore("d", 0, 0.6, "crop"),
        ImageScore("e", 1, None, "no_face"),
    ]
    result = FolderEvaluation("m", 0.5, rows)
    assert [r.path for r in disagreements(result, 10)] == ["b", "d", "a"]
    assert [r.path for r in disagreements(result, 1)] == ["b"]


def test_eval_images_usage_errors(tmp_path, capsys):
    assert main(["eval-images", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["eval-images", str(tmp_path)]) == 2
    assert "smile/ and non_smile/" in capsys.readouterr().err
    (tmp_path / "smile").mkdir()
    assert main(["eval-images", str(tmp_path), "--model", str(tmp_path)]) == 2
    assert "no model" in capsys.readouterr().err


@pytest.mark.data
def test_shipped_model_meets_its_card_on_ckplus_subjects(shared_data):
    """The shipped ONNX model reproduces the figures its card claims (CK+ held-out subjects)."""
    from laughvid.training.data import deduplicate, load_ckplus
    from laughvid.training.evaluate import evaluate

    classifier = SmileClassifier.load(DEFAULT_MODEL_DIR)
    items, _ = deduplicate(load_ckplus(shared_data / "CK+48"))
    metrics = evaluate(classifier, [it for it in items if it.split == "test"])
    assert metrics["roc_auc"] == pytest.approx(classifier.card.metrics["ckplus_test"]["roc_auc"], abs=1e-6)
    assert metrics["roc_auc"] >= 0.99
