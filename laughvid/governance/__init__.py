"""Whose faces may be shown and kept: participants' consent, people and their raw face tracks, and
face blurring of everyone without consent in exported clips."""
