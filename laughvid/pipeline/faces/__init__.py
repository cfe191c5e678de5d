"""Faces: detection (BlazeFace ONNX), tracking (stable ids), crops framed like the training data."""
