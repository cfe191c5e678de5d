"""Analysing a whole library: many videos, each once by content, on worker processes or a Ray cluster.

library_run.py  analyze_library(): plan, dispatch to an engine, merge, one outcome per file (the one writer)
plan.py         probe and hash the files; what is cached, what is a duplicate, what is left to analyse
worker.py       a worker's job: analyse one video into its own per-video SQLite work file (resumable)
merge.py        import a finished work file into the store, column by column, then delete it
local.py        the engine of one machine: worker processes (concurrent.futures), one per core
ray_engine.py   the cluster engine: an actor pool on Ray (optional extra laughvid[ray])

Why work files: the SQLite store has exactly one writer (the process that runs the library);
workers write only their own per-video file under the store's folder, so a killed run resumes from
their committed chunks, and the writer imports each finished analysis in one transaction.
"""
