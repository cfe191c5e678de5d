"""The shipped fusion file (models/fusion/fusion.json) loads and gives the same outputs on fixed inputs.

A refit changes these numbers: then AnalysisParams.geometry / SHIPPED_FUSION must name a new version
(old analyses must not be served as the new fusion's), and this file's numbers are updated with it.
The inputs are the fitted features' means (an average face) so the numbers read simply: at the mean
the geometry score is sigmoid(intercept) and the fused probability stays close to the CNN's.
"""

import numpy as np
import pytest

from laughvid.pipeline.fusion import SHIPPED_FUSION, FusionModel, sigmoid


@pytest.fixture(scope="module")
def model():
    return FusionModel.load()


def test_the_shipped_file_is_the_version_analysis_asks_for(model):
    assert model.version == SHIPPED_FUSION == "fusion-v1"


def test_fused_probability_of_an_average_face_follows_the_cnn(model):
    average = np.tile(model.geometry.mean, (3, 1))
    np.testing.assert_allclose(model.fuse(np.array([0.1, 0.5, 0.9]), average), [0.0988, 0.4682, 0.8760], atol=5e-4)


def test_geometry_score_of_an_average_face_is_its_intercept(model):
    assert (
        model.geometry_score(np.array(model.geometry.mean))[0]
        == pytest.approx(sigmoid(model.geometry.intercept))
        == pytest.approx(0.1655, abs=5e-4)
    )


def test_intensity_of_a_laugh_grows_with_the_open_mouth_from_closed_smile_to_wide_laugh(model):
    faces = np.tile(model.geometry.mean, (3, 1))
    faces[:, model.features.index("jawOpen")] = [0.0, 0.275, 0.6]  # closed, in between, wider than the fitted 95th percentile
    np.testing.assert_allclose(model.intensity(np.full(3, 0.8), faces), [0.24, 0.7158, 0.8], atol=5e-4)


def test_a_face_without_geometry_keeps_the_cnn_probability(model):
    assert model.fuse(np.array([0.5]), np.full((1, len(model.features)), np.nan))[0] == 0.5
