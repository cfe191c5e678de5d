"""Training the smile classifier: data loaders, deduplication, training, evaluation, ONNX export.

Only `data` and `metrics` are importable without torch (the product uses them for `eval-images`);
`train`/`export` need the `train` extra. LOOP's fine-tuning reuses `train.train(...)` with an
initial model and a replay mix of items.
"""
