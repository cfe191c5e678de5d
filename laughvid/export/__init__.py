"""Exports of reviewed segments: highlight clips and reel (`clips`), segment lists (`lists`),
labelled face crops for fine-tuning (`finetune_set`)."""
