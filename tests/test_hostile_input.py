"""Hostile input: only the contributors' own recordings ever reach an episode.

A "recording" that is really a playlist, a list of other files, a picture, a link, a
named pipe or a link out of its folder is refused with a plain message that never
quotes the file; every ffmpeg and ffprobe read of a recording goes through
``runner.source_input``; a hung ffmpeg is stopped; every path a show, episode, EDL
or corrections file names stays inside its folder; EDLs and YAML files are bounded
in size and in clips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline import defaults, edl
from pipeline.edl import check as edit
from pipeline.errors import InputError, MediaError, StorycastError, ToolError
from pipeline.media import probe, runner
from pipeline.project import corrections, showfile
from pipeline.project.yamlfile import Problems, load
from pipeline.records import Clip, Timeline
from pipeline.transcribe.audio import stream_16k

from conftest import ROOT
from kit.media import phone_mp4, tone

SECRET = "SECRET-4f9a77c2"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile-media")
    made = {
        "tone": tone(d / "tone.wav", 2.0, freq=1234),
        "mp3": d / "tone.mp3",
        "aac": d / "tone.aac",
        "png": d / "picture.png",
        "bmp": d / "picture.bmp",
        "ts": d / "stream.ts",
    }
    for key in ("mp3", "aac"):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", made["tone"], made[key]], check=True
        )
    for key in ("png", "bmp"):
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=s=64x48",
             "-frames:v", "1", made[key]],
            check=True,
        )  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", made["tone"], "-f", "mpegts", made["ts"]],
        check=True,
    )
    return made


def _message(error: StorycastError) -> str:
    return "\n".join(str(p) for p in error.problems)


# -- what a "recording" really is ----------------------------------------------------------


# An HLS playlist of tone.aac and an ffconcat list of tone.wav beside them: ffmpeg
# would play the tone through either.
PLAYLIST = (
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
    f'#EXT-X-SESSION-DATA:DATA-ID="x",VALUE="{SECRET}"\n'
    "#EXTINF:2.0,\ntone.aac\n#EXT-X-ENDLIST\n"
).encode()
CONCAT = f"ffconcat version 1.0\n# {SECRET}\nfile 'tone.wav'\n".encode()

# name -> (bytes of the "recording", or the media fixture's key; words the message must have)
KINDS: dict[str, tuple[bytes | str, str]] = {
    "hls-playlist": (PLAYLIST, "a playlist that points at other files, not a recording"),
    "concat-list": (CONCAT, "a list of other files to join"),
    "plain-list": (f"file 'tone.wav'\n# {SECRET}\n".encode(), "this file is text"),
    "png-picture": ("png", "a picture, not a recording"),
    "bmp-picture": ("bmp", "a picture, not a recording"),  # found by ffmpeg, not by its bytes
    "web-link": (f"https://example.org/{SECRET}.m4a\n".encode(), "a link to something elsewhere"),
    "sdp-stream": (
        f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns={SECRET}\nc=IN IP4 127.0.0.1\nt=0 0\n"
        "m=audio 5004 RTP/AVP 0\n".encode(),
        "a link to something elsewhere",
    ),
    "notes": (f"password: {SECRET}\n".encode(), "this file is text"),
    "mpeg-ts": ("ts", "a kind of file storycast does not read (ffmpeg calls it `mpegts`)"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_what_is_not_a_recording_is_refused_without_quoting_it(
    tmp_path: Path, media: dict[str, Path], kind: str
) -> None:
    content, expected = KINDS[kind]
    folder = tmp_path / "recordings"
    folder.mkdir()
    shutil.copyfile(media["tone"], folder / "tone.wav")
    shutil.copyfile(media["aac"], folder / "tone.aac")
    path = folder / "story.m4a"
    path.write_bytes(media[content].read_bytes() if isinstance(content, str) else content)
    with pytest.raises(MediaError) as caught:
        probe.probe(path, "story.m4a")
    message = _message(caught.value)
    assert message.startswith(f"{path}: this file is "), message
    assert expected in message
    assert SECRET not in message and "tone." not in message and "0x" not in message


def test_ffmpeg_refuses_what_storycast_did_not_recognise(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    """The allow-lists hold by themselves, without the first-bytes check: ffmpeg opens
    neither a playlist nor a concat list of a tone beside it."""
    shutil.copyfile(media["tone"], tmp_path / "tone.wav")
    shutil.copyfile(media["aac"], tmp_path / "tone.aac")
    (tmp_path / "pl.m3u8").write_bytes(PLAYLIST)
    (tmp_path / "list.ffconcat").write_bytes(CONCAT)
    lists = (("pl.m3u8", probe.PLAYLIST, "hls"), ("list.ffconcat", probe.FILE_LIST, "concat"))
    for name, kind, demuxer in lists:
        # Without them, ffmpeg opens the tone through the list: this is what they stop.
        plain = runner.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=format_name",
             "-of", "csv=p=0", tmp_path / name],
            what="ffprobe",
        )  # fmt: skip
        assert plain.stdout.strip() == demuxer
        for tool in ("ffprobe", "ffmpeg"):
            proc = runner.run(
                [tool, "-v", "error", *runner.source_input(tmp_path / name), "-f", "null", "-"]
                if tool == "ffmpeg"
                else [tool, "-v", "error", "-show_format", *runner.source_input(tmp_path / name)],
                what=tool,
                check=False,
            )
            assert proc.returncode != 0 and "Format not on whitelist" in proc.stderr, (tool, name)
            assert probe.refused_kind(proc.stderr) == kind


def test_real_recordings_still_probe(media: dict[str, Path]) -> None:
    for key in ("tone", "mp3"):
        rec = probe.probe(media[key], media[key].name)
        assert abs(rec.duration - 2.0) < 0.06, key


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "recordings" / "live.m4a"
    path.parent.mkdir(exist_ok=True)
    os.mkfifo(path)
    yield path
    # If anything was left blocked opening it for reading, a writer lets it go.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def _finishes(call: Callable[[], object], seconds: float = 15.0) -> BaseException | None:
    """Run ``call`` in a thread; the exception it raised (or None). Fails if it hangs."""
    raised: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:
            raised.append(exc)
        else:
            raised.append(None)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "it hung"
    return raised[0]


def test_a_named_pipe_is_refused_before_it_is_read(fifo: Path) -> None:
    error = _finishes(lambda: probe.probe(fifo, "live.m4a"))
    assert isinstance(error, MediaError)
    assert "it is a named pipe (FIFO)" in _message(error)
    assert isinstance(_finishes(lambda: probe.sha256_file(fifo)), MediaError)


def _timeline(folder: Path, *sources: str) -> Timeline:
    clips = tuple(Clip(s, 0.0, 1.0, float(i), line=3 * i + 2) for i, s in enumerate(sources))
    return Timeline(edl_path=folder / "edl.yaml", edl_sha256="", clips=clips, chapters=())


def test_recordings_that_are_not_files_or_lead_out_are_refused_at_their_edl_line(
    tmp_path: Path, media: dict[str, Path], fifo: Path
) -> None:
    episode = tmp_path
    recordings = episode / "recordings"
    (recordings / "folder.m4a").mkdir()
    shutil.copyfile(media["tone"], recordings / "tone.wav")
    (recordings / "alias.wav").symlink_to("tone.wav")  # a link inside: fine
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere.wav"
    shutil.copyfile(media["tone"], outside)
    (recordings / "out.wav").symlink_to(outside)
    (recordings / "up.wav").symlink_to("../../" + outside.name)
    timeline = _timeline(
        episode, "tone.wav", "alias.wav", "live.m4a", "folder.m4a", "out.wav", "up.wav"
    )
    found, problems = edit.source_problems(timeline, recordings)
    assert sorted(found) == ["alias.wav", "tone.wav"]
    edl_path = episode / "edl.yaml"
    assert [str(p) for p in problems] == [
        f"{edl_path}:8: source: `live.m4a` is a named pipe (FIFO), which would make storycast "
        "wait forever, not a recording. Name a recording file in recordings/ (as it came off "
        "the phone).",
        f"{edl_path}:11: source: `folder.m4a` is a folder, not a recording. Name a recording "
        "file in recordings/ (as it came off the phone).",
        f"{edl_path}:14: source: `out.wav` leads outside the episode's recordings/ folder. "
        "Copy the recording into recordings/ and name it here.",
        f"{edl_path}:17: source: `up.wav` leads outside the episode's recordings/ folder. "
        "Copy the recording into recordings/ and name it here.",
    ]


def test_a_recordings_folder_that_links_elsewhere_is_refused(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    other = tmp_path / "other-episode" / "recordings"
    other.mkdir(parents=True)
    shutil.copyfile(media["tone"], other / "tone.wav")
    episode = tmp_path / "this-episode"
    episode.mkdir()
    (episode / "recordings").symlink_to(other)
    found, problems = edit.source_problems(_timeline(episode, "tone.wav"), episode / "recordings")
    assert found == {}
    assert "`tone.wav` is in a recordings/ folder that leads outside the episode's folder" in str(
        problems[0]
    )


# -- the one way in ------------------------------------------------------------------------


PEOPLE = """people:
  - id: ria
    credit: name
    name: Ria
    consent:
      voice: 2026-08-01
      face: 2026-08-01
"""


def _project(root: Path, media: dict[str, Path]) -> None:
    (root / "feeds").mkdir(parents=True)
    show = (ROOT / "feeds" / "riverside-voices.yaml").read_text()
    (root / "feeds" / "riverside-voices.yaml").write_text(show + "approval: optional\n")
    shutil.copyfile(
        ROOT / "feeds" / "riverside-voices.jpg", root / "feeds" / "riverside-voices.jpg"
    )
    (root / "episodes").mkdir()
    (root / "episodes" / "people.yaml").write_text(PEOPLE)
    # A good video episode: 2 s of a phone video, every stage runs on it.
    good = root / "episodes" / "good-take" / "recordings"
    good.mkdir(parents=True)
    phone_mp4(tone(root / "a.wav", 2.0, freq=440), good / "clip.mp4", size="320x180")
    (good.parent / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Good take\npublished: 2026-08-20\nmedium: video\n"
        "appearances:\n  clip.mp4: [ria]\n"
    )
    (good.parent / "edl.yaml").write_text(
        "clips:\n  - source: clip.mp4\n    in: 0.2\n    out: 1.8\n"
    )
    # A hostile one: a playlist and a concat list of the tone beside them, and a link out.
    bad = root / "episodes" / "not-ours" / "recordings"
    bad.mkdir(parents=True)
    shutil.copyfile(media["tone"], bad / "tone.wav")
    shutil.copyfile(media["aac"], bad / "tone.aac")
    (bad / "story.m4a").write_bytes(PLAYLIST)
    (bad / "list.m4a").write_bytes(CONCAT)
    (bad / "link.m4a").symlink_to(media["tone"])
    (bad.parent / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Not ours\npublished: 2026-08-21\n"
        "appearances:\n  story.m4a: [ria]\n  list.m4a: [ria]\n  link.m4a: [ria]\n"
    )
    (bad.parent / "edl.yaml").write_text(
        "clips:\n"
        "  - source: story.m4a\n    in: 0\n    out: 1.5\n"
        "  - source: list.m4a\n    in: 0\n    out: 1.5\n"
        "  - source: link.m4a\n    in: 0\n    out: 1.5\n"
    )


def test_publish_reads_recordings_only_through_the_allow_lists(
    tmp_path: Path,
    media: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The whole publish of a tiny project, watched: every ffmpeg and ffprobe command that
    names a recording opens it with ``source_input``, and every ffmpeg run over one has a
    limit scaled by its length. A new read that forgets either fails here. The hostile
    episode fails with plain messages and none of its sound is published or cached."""
    from pipeline import cli

    root = tmp_path / "project"
    _project(root, media)
    commands: list[tuple[list[str], float | None]] = []  # every command, and its limit
    real_popen = subprocess.Popen
    real_run = subprocess.run
    in_run = [False]

    class Watched(real_popen):  # type: ignore[valid-type,misc]
        def __init__(self, args: list[str], *rest: object, **options: object) -> None:
            if not in_run[0]:  # a Popen of its own (the transcription's decode)
                commands.append(([str(a) for a in args], None))
            super().__init__(args, *rest, **options)

    def watched_run(args: list[str], *rest: object, **options: object) -> object:
        commands.append(([str(a) for a in args], options.get("timeout")))  # type: ignore[arg-type]
        in_run[0] = True
        try:
            return real_run(args, *rest, **options)  # type: ignore[call-overload]
        finally:
            in_run[0] = False

    monkeypatch.setattr(subprocess, "Popen", Watched)
    monkeypatch.setattr(subprocess, "run", watched_run)
    # Big enough that a scaled limit stands out from the default for 2 s of media.
    monkeypatch.setattr(defaults, "TOOL_SECONDS_PER_MEDIA_SECOND", 1000.0)

    code = cli.main(["--root", str(root), "publish"])
    code_propose = cli.main(["--root", str(root), "propose", "good-take"])
    out = capsys.readouterr().out

    assert code == 1 and code_propose == 0
    assert "published  good-take" in out
    bad = root / "episodes" / "not-ours"
    assert "FAILED     not-ours" in out
    assert f"{bad}/recordings/story.m4a: this file is a playlist that points at other files" in out
    assert f"{bad}/recordings/list.m4a: this file is a list of other files to join" in out
    assert f"{bad}/edl.yaml:8: source: `link.m4a` leads outside the episode's recordings/" in out
    assert SECRET not in out
    media = root / "public" / "media"
    published = sorted(p.name for p in media.rglob("*") if p.is_file())
    assert any(name.endswith(".mp4") for name in published), published
    pages = {"index.html", "good-take.html"}  # the listeners' site
    files = [n for n in published if n not in pages]
    assert all(name.startswith(("good-take-", "artwork-")) for name in files), published
    # Nothing storycast keeps was made from the hostile files or the tones they point at:
    # no probe, loudness, transcript or render names them.
    shas = [probe.sha256_file(p) for p in (bad / "recordings").iterdir() if not p.is_symlink()]
    cached = [p for p in (root / ".storycast").rglob("*") if p.is_file()]
    assert len(shas) == 4 and len(cached) > 5
    assert not [p for p in cached for sha in shas if sha in p.name or sha in _text(p)]

    recordings = {str(p) for p in root.glob("episodes/*/recordings/*")}
    reads: list[tuple[list[str], float | None]] = []
    for argv, timeout in commands:
        if Path(argv[0]).name not in ("ffmpeg", "ffprobe"):
            continue
        named = [i for i, a in enumerate(argv) if any(r in a for r in recordings)]
        for i in named:
            path = Path(argv[i].removeprefix("file:"))
            assert argv[i - 5 : i + 1] == runner.source_input(path), argv
        if named:
            reads.append((argv, timeout))
    # Each step that reads a recording was seen doing so: probe (ffprobe and the decode,
    # which measures the loudness on the way), sound stems, the video's probes, packet
    # times and pictures, the tags scrub looks for, the transcription's decode, and the
    # proposal's silences.
    for marker in ("-show_streams", "-progress",
                   "asetpts=round(N/SR/TB),ebur128=peak=true:framelog=verbose",
                   "pcm_f32le", "-read_intervals", "libx264", "-show_chapters", "f32le",
                   "silencedetect=noise=-40dB:d=1.0"):  # fmt: skip
        assert any(marker in argv for argv, _ in reads), marker
    for argv, timeout in reads:
        if Path(argv[0]).name == "ffmpeg" and "-f" in argv and "f32le" not in argv:
            assert timeout is not None and timeout > defaults.TOOL_TIMEOUT, argv


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return ""


# -- time limits ---------------------------------------------------------------------------


def test_limits_scale_with_the_media() -> None:
    assert runner.media_timeout(10) == defaults.TOOL_TIMEOUT
    assert runner.media_timeout(None) == defaults.TOOL_TIMEOUT
    # A 25-minute 1080p render runs at about 1.3 s a second on 2 cores.
    assert runner.media_timeout(25 * 60) >= 1.3 * 25 * 60 * 2
    # A header that claims a day cannot lift a small file's limit.
    assert probe.decode_seconds(100_000, 86_400.0) == 100_000 / defaults.MEDIA_MIN_BYTES_PER_SECOND


def test_a_hung_program_is_stopped_with_a_plain_message(fifo: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ToolError) as caught:
        runner.run(["sleep", "30"], what="waiting", timeout=0.5)
    assert time.monotonic() - started < 10
    assert str(caught.value).startswith(
        "waiting did not finish within 0.5 s, so sleep was stopped."
    )
    # ffmpeg waiting forever on a named pipe that nothing writes to
    with pytest.raises(ToolError) as caught:
        runner.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-i", str(fifo), "-f", "null", "-"],
            what="decoding the recording",
            path=fifo,
            timeout=1.0,
        )
    assert f"{fifo}: decoding the recording did not finish within 1.0 s" in str(caught.value)


def test_a_hung_decode_for_transcription_is_stopped(fifo: Path) -> None:
    started = time.monotonic()
    error = _finishes(lambda: list(stream_16k(fifo, timeout=1.0)))
    assert isinstance(error, ToolError)
    assert time.monotonic() - started < 10
    assert str(error).startswith(
        f"{fifo}: decoding for transcription did not finish within 1.0 s, so ffmpeg was stopped."
    )


def test_a_slow_consumer_is_not_a_hung_decoder(media: dict[str, Path]) -> None:
    """The transcription's limit counts only time spent waiting for ffmpeg. (A limit of
    3 s: a loaded machine can take over a second just to start ffmpeg.)"""
    samples = 0
    for block in stream_16k(media["tone"], block_seconds=0.5, timeout=3.0):
        time.sleep(1.0)  # a slow speech model: 4 s in all, past the limit
        samples += len(block)
    assert abs(samples - 2 * 16000) < 200


# -- path fields stay inside their folders --------------------------------------------------


EPISODE = "show: s\ntitle: T\npublished: 2026-01-01\n"


def _episode_problems(folder: Path, extra: str) -> list[str]:
    (folder / "recordings").mkdir(parents=True, exist_ok=True)
    (folder / "edl.yaml").write_text("clips: []\n")
    (folder / "episode.yaml").write_text(EPISODE + extra)
    problems = Problems()
    showfile.load_episode(folder, problems)
    return [str(p) for p in problems.items]


def test_episode_paths_stay_in_the_episode(tmp_path: Path) -> None:
    folder = tmp_path / "ep"
    secret = tmp_path / "secret.yaml"
    secret.write_text("clips: []\n")
    ep = folder / "episode.yaml"
    assert _episode_problems(folder, "edl: ../secret.yaml\n") == [
        f"{ep}:4: edl: `../secret.yaml` leads outside the episode's folder. Name a file "
        "inside the episode's folder; storycast reads nothing from elsewhere."
    ]
    assert _episode_problems(folder, f"edl: {secret}\n")[0].startswith(
        f"{ep}:4: edl: `{secret}` leads outside the episode's folder."
    )
    (folder / "link.yaml").symlink_to(secret)
    assert _episode_problems(folder, "edl: link.yaml\n")[0].startswith(
        f"{ep}:4: edl: `link.yaml` leads outside the episode's folder."
    )
    (folder / "recordings" / "out.m4a").symlink_to(tmp_path / "elsewhere.m4a")
    found = _episode_problems(
        folder,
        "reels:\n  TAPE01: ../../x.m4a\n  TAPE02:\n    recording: out.m4a\n"
        "  TAPE03: interview.m4a\n",
    )
    assert found == [
        f"{ep}:5: reels.TAPE01: `../../x.m4a` leads outside the episode's recordings/ folder. "
        "Name a file inside the episode's recordings/ folder; storycast reads nothing from "
        "elsewhere.",
        f"{ep}:7: reels.TAPE02.recording: `out.m4a` leads outside the episode's recordings/ "
        "folder. Name a file inside the episode's recordings/ folder; storycast reads nothing "
        "from elsewhere.",
    ]


def test_show_paths_stay_in_the_project(tmp_path: Path) -> None:
    feeds = tmp_path / "project" / "feeds"
    feeds.mkdir(parents=True)
    shutil.copyfile(ROOT / "feeds" / "riverside-voices.jpg", tmp_path / "elsewhere.jpg")
    (feeds / "linked.jpg").symlink_to(tmp_path / "elsewhere.jpg")
    show = feeds / "riverside-voices.yaml"
    base = (ROOT / "feeds" / "riverside-voices.yaml").read_text()

    def problems(artwork: str, episodes: str = "") -> list[str]:
        text = base.replace("artwork: riverside-voices.jpg", f"artwork: {artwork}")
        show.write_text(text + (f"episodes: {episodes}\n" if episodes else ""))
        found = Problems()
        showfile.load_show(show, found)
        return [str(p) for p in found.items]

    line = base.splitlines().index("artwork: riverside-voices.jpg") + 1
    for name in ("../../elsewhere.jpg", "linked.jpg", str(tmp_path / "elsewhere.jpg")):
        assert problems(name) == [
            f"{show}:{line}: artwork: `{name}` leads outside the show file's folder (feeds/). "
            "Name a file inside the show file's folder (feeds/); storycast reads nothing from "
            "elsewhere."
        ]
    shutil.copyfile(ROOT / "feeds" / "riverside-voices.jpg", feeds / "art.jpg")
    assert problems("art.jpg", "../episodes") == []
    last = len(base.splitlines()) + 1
    for outside in ("../../other/episodes", "/tmp"):
        assert problems("art.jpg", outside) == [
            f"{show}:{last}: episodes: `{outside}` leads outside the project's folder. Give a "
            "folder inside the project, such as ../episodes (from the show file)."
        ]


@pytest.mark.parametrize("name", ["edl.yaml", "labels.txt", "edit.edl", "timeline.otio"])
def test_an_edl_that_is_a_link_out_of_its_folder_is_not_read(tmp_path: Path, name: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / name).write_text("clips: []\n")
    folder = tmp_path / "ep"
    folder.mkdir()
    (folder / name).symlink_to(elsewhere / name)
    with pytest.raises(InputError) as caught:
        edl.read(folder / name)
    assert _message(caught.value) == (
        f"{folder / name}: this file leads outside the folder it is in: it is a link to "
        "somewhere else. Put the file itself here; storycast reads nothing from elsewhere."
    )


def test_a_corrections_file_that_links_out_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "private.yaml").write_text("replace:\n  a: b\n")
    folder = tmp_path / "ep"
    folder.mkdir()
    (folder / corrections.FILE_NAME).symlink_to(tmp_path / "private.yaml")
    with pytest.raises(InputError, match="it is a link to somewhere else"):
        corrections.load_corrections(folder)


# -- never quoting a file storycast could not read ---------------------------------------


SECRET_FILES = {
    "edl.yaml": f"aws_secret_access_key: {SECRET}\n",
    "labels.txt": f"aws_secret_access_key\t{SECRET}\n",
    "edit.edl": f"aws_secret_access_key = {SECRET}\n001 is what they said\n",
    "timeline.otio": f"aws_secret_access_key = {SECRET}\n",
    "notes.otio": f'{{"OTIO_SCHEMA": "{SECRET}.1", "name": "{SECRET}"}}\n',
    "latin1.yaml": f"clips: {SECRET} caf\xe9\n",
}


@pytest.mark.parametrize("name", sorted(SECRET_FILES))
def test_errors_never_quote_a_file_that_is_not_an_edl(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(SECRET_FILES[name].encode("latin-1"))
    with pytest.raises(InputError) as caught:
        edl.read(path)
    message = _message(caught.value)
    assert message.startswith(str(path)), message
    assert SECRET not in message and "aws" not in message and "what they said" not in message


def test_a_corrections_file_that_is_something_else_is_not_quoted(tmp_path: Path) -> None:
    (tmp_path / corrections.FILE_NAME).write_text(f"aws_secret_access_key: {SECRET}\n")
    with pytest.raises(InputError) as caught:
        corrections.load_corrections(tmp_path)
    message = _message(caught.value)
    assert "this is not a corrections file" in message
    assert SECRET not in message and "aws" not in message


# -- bounded --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["edl.yaml", "labels.txt", "edit.edl", "timeline.otio"])
def test_an_edl_too_large_is_not_read(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    with path.open("wb") as fh:
        fh.truncate(defaults.MAX_INPUT_FILE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(InputError) as caught:
        edl.read(path)
    assert _message(caught.value) == (
        f"{path}: this file is 20.0 MB; storycast reads files like it only up to 20 MB (a long "
        "EDL is well under 1 MB), so it was not read. Check it is the right file; split a very "
        "long episode into several."
    )


def test_a_named_pipe_for_an_edl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edl.yaml"
    os.mkfifo(path)
    error = _finishes(lambda: edl.read(path))
    assert isinstance(error, InputError)
    assert _message(error).startswith(f"{path}: this is a named pipe (FIFO)")


def _clip(i: int) -> str:
    return f"  - source: a.m4a\n    in: {i}\n    out: {i + 1}\n"


LIMIT = 50  # the clip limit, lowered so the files stay small


def _over_the_limit(name: str) -> tuple[str, int]:
    """A file of LIMIT + 1 clips in the format of ``name``, and the line of the one too many."""
    n = LIMIT + 1
    if name == "edl.yaml":
        return "clips:\n" + "".join(_clip(i) for i in range(n)), 2 + 3 * LIMIT
    if name == "flow.yaml":
        items = ", ".join(f"{{source: a.m4a, in: {i}, out: {i + 1}}}" for i in range(n))
        return f"clips: [{items}]\n", 1
    if name == "alias.yaml":
        return "x: &c {source: a.m4a, in: 0, out: 1}\nclips:\n" + "  - *c\n" * n, 3 + LIMIT
    if name == "labels.txt":
        return "".join(f"{i}\t{i + 1}\ta.m4a\n" for i in range(n)), n
    if name == "edit.edl":
        events = "".join(
            f"{i + 1:03d}  a.m4a  A  C  00:00:{i:02d}:00 00:00:{i + 1:02d}:00 "
            f"00:00:{i:02d}:00 00:00:{i + 1:02d}:00\n"
            for i in range(n)
        )
        return "TITLE: x\nFCM: NON-DROP FRAME\n" + events, 2 + n
    assert name == "timeline.otio"
    clip = '{"OTIO_SCHEMA": "Clip.2", "name": "a.m4a"}'
    body = ",\n".join([clip] * n)
    return '{"OTIO_SCHEMA": "Timeline.1", "tracks": [\n' + body + "\n]}\n", 1 + n


@pytest.mark.parametrize(
    "name", ["edl.yaml", "flow.yaml", "alias.yaml", "labels.txt", "edit.edl", "timeline.otio"]
)
def test_too_many_clips_is_a_file_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(defaults, "MAX_EDL_CLIPS", LIMIT)
    text, line = _over_the_limit(name)
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        edl.read(path)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == (path, line), str(problem)
    assert f"more than {LIMIT:,}" in problem.message
    if name.endswith(".yaml"):
        assert problem.field == "clips"
    # one fewer is read as usual (or fails for other reasons, never for its length)
    monkeypatch.setattr(defaults, "MAX_EDL_CLIPS", LIMIT + 1)
    try:
        edl.read(path)
    except InputError as exc:
        assert not any(f"more than {LIMIT + 1:,}" in p.message for p in exc.problems)


def test_any_yaml_list_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(defaults, "MAX_EDL_CLIPS", LIMIT)
    path = tmp_path / "corrections.yaml"
    path.write_text("replace:\n" + "".join(f"  w{i}: x\n" for i in range(LIMIT + 1)))
    problems = Problems()
    assert load(path, problems) is None
    (problem,) = problems.items
    assert (problem.line, problem.field) == (LIMIT + 2, "replace")
