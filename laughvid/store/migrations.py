"""Every table laughvid keeps, as an ordered list of migrations the store applies once each.

The store owns its schema: the modules that use the tables (review, registry, consent) import
nothing into it, so opening a store never loads them and no module imports the store back.
Append only: never edit or reorder an applied migration (`PRAGMA user_version` records the last).
"""

_PIPELINE_SCHEMA = """
CREATE TABLE videos (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,              -- where it was last seen
    name TEXT NOT NULL,
    info_json TEXT NOT NULL,         -- VideoInfo
    added_at TEXT NOT NULL
);
CREATE TABLE analyses (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    model_version TEXT NOT NULL,
    params_hash TEXT NOT NULL,
    params_json TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    progress REAL NOT NULL DEFAULT 0,
    resume_json TEXT,                -- tracker state and last committed frame time
    warnings_json TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    UNIQUE (video_id, model_version, params_hash)
);
CREATE TABLE frames (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    PRIMARY KEY (analysis_id, time_s)
) WITHOUT ROWID;
CREATE TABLE face_scores (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    time_s REAL NOT NULL,
    track_id INTEGER NOT NULL,
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    confidence REAL NOT NULL,
    prob REAL NOT NULL,
    detected INTEGER NOT NULL,
    PRIMARY KEY (analysis_id, time_s, track_id)
) WITHOUT ROWID;
CREATE TABLE tracks (
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    track_id INTEGER NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    n_frames INTEGER NOT NULL,
    mean_prob REAL NOT NULL,
    max_prob REAL NOT NULL,
    PRIMARY KEY (analysis_id, track_id)
);
CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    smoothing_hash TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    peak_prob REAL NOT NULL,
    mean_prob REAL NOT NULL,
    track_ids TEXT NOT NULL           -- JSON list
);
CREATE INDEX segments_by_analysis ON segments (analysis_id, smoothing_hash);
"""

# Review state and undo log (laughvid.review).
_REVIEW_SCHEMA = """
CREATE TABLE IF NOT EXISTS review_segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_sha256 TEXT NOT NULL,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    state TEXT NOT NULL,
    origin TEXT NOT NULL,
    peak_prob REAL NOT NULL DEFAULT 0,
    mean_prob REAL NOT NULL DEFAULT 0,
    track_ids TEXT NOT NULL DEFAULT '',
    reviewer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS review_segments_video ON review_segments(video_sha256);
CREATE TABLE IF NOT EXISTS review_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    video_sha256 TEXT NOT NULL,
    action TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL,
    before_json TEXT NOT NULL,
    created_ids TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS review_videos (
    video_sha256 TEXT PRIMARY KEY,
    completed_by TEXT,
    completed_at TEXT
);
"""

# Model versions and activations (laughvid.lifecycle.registry); participants and their face links
# (laughvid.governance.consent). One migration, as applied since version 3.
_MODELS_AND_CONSENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    version TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    parent TEXT,
    created_at TEXT NOT NULL,
    metrics_json TEXT NOT NULL DEFAULT '{}',
    data_versions_json TEXT NOT NULL DEFAULT '[]',
    participants_json TEXT NOT NULL DEFAULT '[]',
    gate_json TEXT NOT NULL DEFAULT '[]',
    needs_retraining TEXT
);
CREATE TABLE IF NOT EXISTS model_activations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    version TEXT NOT NULL REFERENCES models(version),
    activated_at TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS participants (
    participant_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    consented_on TEXT NOT NULL,
    expires_on TEXT,
    withdrawn_on TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS track_participants (
    video_sha256 TEXT NOT NULL,
    track_id INTEGER NOT NULL,
    participant_id TEXT NOT NULL REFERENCES participants(participant_id),
    PRIMARY KEY (video_sha256, track_id)
);
"""

# Ordered (version, sql). Append only.
MIGRATIONS: list[tuple[int, str]] = [
    (1, _PIPELINE_SCHEMA),
    (2, _REVIEW_SCHEMA),
    (3, _MODELS_AND_CONSENT_SCHEMA),
    # Export integrity: size and mtime of the file when it was hashed (laughvid.store.video_identity's fast path).
    (4, "ALTER TABLE videos ADD COLUMN size_bytes INTEGER; ALTER TABLE videos ADD COLUMN mtime_ns INTEGER;"),
    # Redo (laughvid.review.edits.redo): the rows an undo replaced, so the change can be put back.
    (5, "ALTER TABLE review_log ADD COLUMN redo_json TEXT;"),
    # Face geometry (issue 14): `prob` becomes the fused laugh probability; its parts stay per face row
    # (NULL in rows analysed before: there `prob` is the CNN's). Segments keep their peak laugh intensity.
    (
        6,
        "ALTER TABLE face_scores ADD COLUMN cnn_prob REAL; ALTER TABLE face_scores ADD COLUMN geometry REAL; "
        "ALTER TABLE face_scores ADD COLUMN intensity REAL; ALTER TABLE segments ADD COLUMN peak_intensity REAL;",
    ),
    # Which analysis (AnalysisRecord.fingerprint) a consent link's raw track ids refer to ('' = linked before
    # it was recorded): re-analysing with other settings renumbers raw tracks (laughvid.governance.consent).
    (7, "ALTER TABLE track_participants ADD COLUMN analysis TEXT NOT NULL DEFAULT '';"),
]
