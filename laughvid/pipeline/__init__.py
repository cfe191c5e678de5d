"""The analysis pipeline, one stage a module, in the order data flows:

    decode.py     video -> FrameBatch (PyAV or decord; true timestamps, rotation, frames_at)
    faces/        detector (BlazeFace ONNX) -> tracker (stable ids) -> crop (framed like training)
    scoring.py    SmileClassifier: face crops -> calibrated probabilities (ONNX Runtime)
    timeline.py   ScoreCache -> ScoreSeries (whole video and per person)
    segments.py   ScoreSeries -> Segment (median, hysteresis or HMM, min length, gap merge)
    analyze.py    the stages above over one video, cached in the store and resumable

Nothing here imports the UI, the CLI or governance; loading a model never opens the store.
"""
