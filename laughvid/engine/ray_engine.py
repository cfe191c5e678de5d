"""The cluster engine: one Ray actor per worker slot, each loading the models once; one task per video.

`ray.util.ActorPool` hands each actor the next video as soon as it is free. An actor analyses into a
work file on its own node (resumable there) and sends the finished file's bytes back, so the head,
the one writer, imports it exactly as the local engine's (laughvid.engine.merge): the head's store
need not be reachable from the nodes, but every node needs laughvid, the model files and the videos
at the same paths (a shared file system or a synced copy).

Ray is an optional extra (`pip install 'laughvid[ray]'`) and imported only here, only when used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from laughvid.engine.worker import Analyser, Job, JobDone
from laughvid.errors import EngineError
from laughvid.pipeline.analyze import AnalysisParams
from laughvid.pipeline.segments import SmoothingParams


class _Actor:
    """What runs on a node: a worker's Analyser, handing back each work file's bytes."""

    def __init__(self, model_dir: str, params: AnalysisParams, smoothing: SmoothingParams) -> None:
        self.analyser = Analyser.load(model_dir, params, smoothing)

    def analyse(self, job: Job) -> JobDone:
        return self.analyser.analyse(job, return_data=True)


def _ray():
    try:
        import ray
    except ImportError:
        raise EngineError("--engine ray needs Ray: pip install 'laughvid[ray]' (or use the local engine)") from None
    return ray


def run_ray(
    jobs: Sequence[Job],
    workers: int | None,
    model_dir: str | Path,
    params: AnalysisParams,
    smoothing: SmoothingParams,
    address: str | None = None,
) -> Iterator[JobDone]:
    """Analyse `jobs` on Ray actors; yields each as it finishes.

    `address` None starts a local Ray cluster (stopped at the end); "auto" or "host:port" joins one.
    A Ray already initialised in this process (a test's) is used as it is. `workers` None = one
    actor per CPU of the cluster.
    """
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EngineError(f"cannot start or join the Ray cluster ({address or 'local'}): {exc}") from None
    actors = []
    try:
        from ray.util import ActorPool

        size = min(len(jobs), workers or max(1, int(ray.cluster_resources().get("CPU", 1))))
        remote = ray.remote(num_cpus=1)(_Actor)
        actors = [remote.remote(str(model_dir), params, smoothing) for _ in range(size)]
        pool = ActorPool(actors)
        for job in jobs:
            pool.submit(lambda actor, job: actor.analyse.remote(job), job)
        left = len(jobs)
        while left:
            try:
                yield pool.get_next_unordered()
            except ray.exceptions.RayError as exc:  # an actor died, or a node went away
                raise EngineError(f"a Ray worker died ({exc}); run the same command again to resume") from None
            left -= 1
    finally:
        for actor in actors:
            ray.kill(actor)
        if started_here:
            ray.shutdown()
