"""Everything laughvid writes for people and tools: highlight clips and reel (`clips`, through
`ffmpeg`), segment lists (`lists`), analysis results (`results`), labelled face crops for the
fine-tune set (`crops`), captioned image grids (`contact_sheet`), and safe file names (`naming`)."""
