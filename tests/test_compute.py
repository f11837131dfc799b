"""The episodes' work on Dask distributed: the same published bytes as in-process, and the
faults a cluster brings (a scheduler that does not answer, a worker killed mid-render, a
worker without ffmpeg), each as a producer would see them."""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import distributed
import podcastparser
import psutil

from pipeline import compute
from pipeline.cache import Cache
from pipeline.records import EpisodeJob, Recording, StorageTarget
from pipeline.stages import Context

from conftest import ROOT, Run, copy_example, copy_with_caches, storycast
from kit.shows import published_files, synthetic_show

SHOW = "riverside-voices"


def _drop_renders(project: Path) -> None:
    """Keep the example run's measurements and transcripts, make every render again."""
    for kind in ("renders", "videos"):
        for folder in (project / ".storycast" / "cache").glob(f"*/{kind}"):
            shutil.rmtree(folder)


def _summary_of(stdout: str, slug: str) -> str:
    """One episode's lines in the run summary: its status line and what is said under it."""
    lines = stdout[stdout.index("== Riverside Voices ==") :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[1:2] == [slug])
    block = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("             "):
            break
        block.append(line)
    return "\n".join(block)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_two_workers_publish_the_same_bytes_as_in_process(example_run: Run, tmp_path: Path) -> None:
    assert example_run.returncode == 0, example_run.stderr
    project = copy_example(tmp_path)  # no caches: the workers probe, measure, transcribe, render
    run = storycast(project, "publish", "--workers", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "dask: 2 workers at tcp://127.0.0.1:" in run.stderr
    done = [line for line in run.stderr.splitlines() if ": done on tcp://127.0.0.1:" in line]
    assert sorted(line.split()[1] for line in done) == ["first-flat:", "open-mic:"]
    # every recording measured and transcribed as a task of its own
    measured = [
        line.split()[1]
        for line in run.stderr.splitlines()
        if line.startswith("recording ") and "measured and transcribed on tcp://" in line
    ]
    assert sorted(measured) == ["advice.opus", "interview.m4a", "phone-call.3gp", "poem.m4a"]
    ours, theirs = published_files(run.public), published_files(example_run.public)
    assert sorted(ours) == sorted(theirs)
    for name in theirs:
        assert ours[name] == theirs[name], f"{name} differs from the in-process run's"


def test_a_scheduler_that_does_not_answer_stops_the_run_before_anything_ispublished_files(
    example_run: Run, tmp_path: Path
) -> None:
    project = copy_with_caches(example_run, tmp_path)
    address = f"tcp://127.0.0.1:{_free_port()}"
    show_file = project / "feeds" / f"{SHOW}.yaml"
    show_file.write_text(
        show_file.read_text() + f"compute:\n  scheduler: {address}\n", encoding="utf-8"
    )
    run = storycast(project, "publish")
    assert run.returncode == 1
    assert f"the Dask scheduler at {address} did not answer within 5 s" in run.stdout
    assert f"{show_file}: compute.scheduler:" in run.stdout  # where it was configured
    assert "FAILED     first-flat" in run.stdout and "FAILED     open-mic" in run.stdout
    assert not run.public.exists() or not any(p.is_file() for p in run.public.rglob("*"))

    # the command line's address wins over the show file's, and is named as such
    again = storycast(project, "publish", "--scheduler", address)
    assert again.returncode == 1
    assert "--scheduler: the Dask scheduler at" in again.stdout


def test_a_bad_scheduler_address_in_the_show_file_is_named_with_its_line(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    show_file = project / "feeds" / f"{SHOW}.yaml"
    text = show_file.read_text()
    show_file.write_text(text + "compute:\n  scheduler: http://cluster:8786\n", encoding="utf-8")
    line = text.count("\n") + 2
    run = storycast(project, "check")
    assert run.returncode != 0
    assert (
        f"{show_file}:{line}: compute.scheduler: `http://cluster:8786` is not a Dask scheduler"
        in (run.stdout)
    )
    bad = storycast(project, "publish", "--workers", "0")
    assert bad.returncode == 2 and "`0` is not a number of workers" in bad.stderr


def _renders(proc: subprocess.Popen[str]) -> Iterator[psutil.Process]:
    """ffmpeg processes under the publish that are rendering an episode's audio."""
    try:
        for child in psutil.Process(proc.pid).children(recursive=True):
            try:
                if child.name() == "ffmpeg" and any("/renders/" in a for a in child.cmdline()):
                    yield child
            except psutil.Error:
                continue
    except psutil.Error:
        return


def test_a_worker_killed_mid_render_is_retried_and_the_episode_published_once(
    example_run: Run, tmp_path: Path
) -> None:
    project = copy_with_caches(example_run, tmp_path)
    _drop_renders(project)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "--root", str(project), "publish", "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    killed: list[tuple[int, str]] = []  # (worker pid, the episode it was rendering)

    def kill_the_first_render() -> None:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            for ffmpeg in _renders(proc):
                try:
                    worker = ffmpeg.parent()
                    args = " ".join(ffmpeg.cmdline())
                    assert worker is not None
                    os.kill(worker.pid, signal.SIGKILL)
                except (psutil.Error, AssertionError, ProcessLookupError):
                    continue
                slug = next(s for s in ("first-flat", "open-mic") if f"/{s}/" in args)
                killed.append((worker.pid, slug))
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=kill_the_first_render)
    watcher.start()
    stdout, stderr = proc.communicate(timeout=600)
    watcher.join()
    assert killed, "no render was seen to kill:\n" + stderr
    slug = killed[0][1]
    assert proc.returncode == 0, stdout + stderr
    assert "retried: the Dask worker running it died once" in _summary_of(stdout, slug)
    # published exactly once: one item per episode in the feed, one audio file each
    with (project / "public" / "feeds" / f"{SHOW}.xml").open("rb") as fh:
        feed = podcastparser.parse("feed.xml", fh)
    titles = [e["title"] for e in feed["episodes"]]
    assert len(titles) == len(set(titles)) == 2
    media = project / "public" / "media" / SHOW
    assert len(list(media.glob(f"{slug}-*.mp3"))) == 1
    assert sum(f"{slug}: done on" in line for line in stderr.splitlines()) == 1
    # and the same bytes as the run nobody interrupted
    assert published_files(project / "public") == published_files(example_run.public)


def test_a_worker_without_ffmpeg_fails_its_episodes_naming_the_worker(
    example_run: Run, tmp_path: Path
) -> None:
    project = copy_with_caches(example_run, tmp_path)
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    venv_bin = str(Path(sys.executable).parent)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--no-dashboard"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = None
    try:
        # a PATH with python and nothing else: no ffmpeg, no ffprobe
        bare = {**env, "PATH": venv_bin}
        assert shutil.which("ffmpeg", path=venv_bin) is None
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--nworkers", "1", "--no-dashboard", "--local-directory", str(tmp_path / "w")],
            env=bare, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=120)
        run = storycast(project, "publish", "--scheduler", address)
    finally:
        for p in (worker, scheduler):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
    assert run.returncode == 1, run.stdout + run.stderr
    for slug in ("first-flat", "open-mic"):
        said = _summary_of(run.stdout, slug)
        assert said.lstrip().startswith("FAILED")
        assert "the Dask worker at tcp://127.0.0.1:" in said
        assert "has no ffmpeg or ffprobe on its PATH" in said
        assert "retried: its Dask task failed and was tried again 2 times" in said
    # as when any episode fails: the feed is written, without them (none was published before)
    with (run.public / "feeds" / f"{SHOW}.xml").open("rb") as fh:
        assert podcastparser.parse("feed.xml", fh)["episodes"] == []
    assert not list(run.public.glob("media/*/*.mp3"))


def test_publish_without_dask_flags_never_imports_dask() -> None:
    code = (
        "import sys; import pipeline.cli, pipeline.orchestrator; "
        "print('distributed' in sys.modules or 'dask' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert proc.stdout.strip() == "False"


def _first(job: EpisodeJob, ctx: Context, label: str) -> None:
    ctx.say(f"{label} {job.slug}: first")


def _no_recording(rec: Recording, ctx: Context) -> None:
    raise AssertionError("these episodes have no recordings")


def _rest(job: EpisodeJob, ctx: Context, label: str) -> None:
    """The work of the run: one episode's task fails wherever it runs."""
    if job.slug == "episode-002":
        raise RuntimeError("this episode's task fails on every worker")
    job.status = "ready"


def test_a_task_that_fails_everywhere_fails_its_episode_only(tmp_path: Path) -> None:
    show, jobs = synthetic_show(tmp_path, 3, StorageTarget("local:public"), "http://x.test")
    for job in jobs:
        job.status = "pending"
    ctx = Context(root=tmp_path, show=show, cache=Cache(tmp_path / "cache"),
                  staging=tmp_path / "staging", out=io.StringIO())  # fmt: skip
    said: list[str] = []
    runner = compute.connect(compute.Compute(workers=1), said.append)
    try:
        runner.run(jobs, compute.EpisodeWork(_first, _no_recording, _rest), ctx)
    finally:
        runner.close()
    assert [j.status for j in jobs] == ["ready", "failed", "ready"]
    assert "this episode's task fails on every worker" in jobs[1].reason
    assert jobs[1].notes == ["retried: its Dask task failed and was tried again 2 times"]
    assert jobs[0].notes == jobs[2].notes == []
    assert said[0].startswith("dask: 1 worker at tcp://127.0.0.1:")
    assert "[2/3] episode-002: FAILED on the cluster" in "\n".join(said)


def test_a_recording_gets_the_same_words_whatever_was_transcribed_before(tmp_path: Path) -> None:
    """Whisper samples at random when it falls back (looped speech makes it): the fixed
    seed must hold for every recording, not only the first one a process (a Dask worker,
    say) transcribes, so the captions never depend on which worker made them."""
    from pipeline.transcribe.faster_whisper import FasterWhisper

    recordings = ROOT / "episodes"
    looped = {}
    for name, source in (("a", "first-flat/recordings/interview.m4a"),
                         ("b", "open-mic/recordings/phone-call.3gp")):  # fmt: skip
        looped[name] = tmp_path / f"{name}.m4a"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "1", "-i",
             str(recordings / source), "-af", "volume=0.998", "-c:a", "aac", str(looped[name])],
            check=True,
        )  # fmt: skip
    engine = FasterWhisper("tiny.en", "en")
    first = engine.transcribe_path(looped["b"]).words
    engine.transcribe_path(looped["a"])
    again = engine.transcribe_path(looped["b"]).words
    assert first and again == first
