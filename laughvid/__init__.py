"""laughvid: find laughter and smiles in recorded video.

Pipeline (one module, one job):
    decode -> faces (detect, track, crop) -> classifier (ONNX) -> timeline (score cache)
    -> segments (smoothing) -> store (SQLite) -> export (clips, lists, fine-tune set)
The CLI (`laughvid.cli`) and the Streamlit app (`streamlit_app.py`) are thin layers over these.
"""

__version__ = "0.1.0"
