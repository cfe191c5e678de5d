"""Everything laughvid writes for people and tools: highlight clips and reel (`clips`; the ffmpeg
binary and its errors in one place, `ffmpeg`, which face blurring uses too), segment lists (`lists`), analysis results (`results`), labelled face crops for the
fine-tune set (`crops`), captioned image grids (`contact_sheet`), and safe file names (`naming`)."""
