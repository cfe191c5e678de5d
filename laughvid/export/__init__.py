"""Everything laughvid writes for people and tools: highlight clips and reel (`clips`; the ffmpeg
binary and its errors in one place, `ffmpeg`, which face blurring uses too), segment lists (`lists`), analysis results (`results`), labelled face crops for the
fine-tune set (`crops`), captioned image grids (`contact_sheet`), safe file names (`naming`), and the
progress and cancel token of long exports (`progress`)."""
