"""The model's life: the registry of versions (activate, roll back, promotion gate), model cards,
fine-tune set versions and their manifest, and evaluation of a model on labelled videos."""
