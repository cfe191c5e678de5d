"""Stand-ins for the pipeline's model-dependent parts, so pipeline tests run without a trained model."""

import time

from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.faces.crop import Framing, crop_faces
from laughvid.pipeline.faces.finder import FaceFinder, make_detector


class BrightnessScorer:
    """Scores a face by its crop's mean brightness (deterministic, model-free); can simulate a crash
    or a slow model (`delay_s` per call) so a test can kill an analysis halfway."""

    version = "brightness-test"

    def __init__(self, fail_after_calls: int | None = None, delay_s: float = 0.0):
        self.calls = 0
        self.fail_after_calls = fail_after_calls
        self.delay_s = delay_s

    def crop(self, frame, boxes):
        return crop_faces(frame, boxes, Framing())

    def score(self, crops):
        self.calls += 1
        if self.fail_after_calls is not None and self.calls > self.fail_after_calls:
            raise RuntimeError("simulated crash")
        time.sleep(self.delay_s)
        return crops.reshape(len(crops), -1).mean(1) / 255.0


class CountingDetector(FaceFinder):
    """The default detectors, counting whole-frame detections (to prove a cache hit decodes nothing)."""

    calls = 0

    def __init__(self):
        params = AnalysisParams()
        default = make_detector(params.detector, params.min_face_confidence, params.min_yunet_confidence)
        super().__init__(default.blaze, default.yunet)

    def detect(self, frame):
        self.calls += 1
        return super().detect(frame)
