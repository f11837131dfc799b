"""A red-team pass over the safeguarding promises: attacks the other tests do not try.

Each test is one way someone could keep a withdrawn story up, leak a raw recording or a
trace of where it was made, or make a redacted word readable somewhere. The example show
is published (its caches reused, so nothing is transcribed again), the attack is made
with real files, and what a listener could fetch is read back: the published folder, the
feed as podcastparser reads it, the pages. Each test says whether the promise held when
it was first tried, and what was fixed where it broke.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.orchestrator import RunReport, publish_show

from conftest import Run, copy_with_caches, storycast

SHOW = "riverside-voices"
MEDIA = Path("media") / SHOW


def _publish(root: Path) -> RunReport:
    return publish_show(root / "feeds" / f"{SHOW}.yaml", root, io.StringIO())


def _status(report: RunReport, slug: str) -> tuple[str, str]:
    return next((j.status, j.reason) for j in report.jobs if j.slug == slug)


def _public(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root / "public")): p.read_bytes()
        for p in sorted((root / "public").rglob("*"))
        if p.is_file()
    }


def _audit(root: Path) -> tuple[int, dict[str, object]]:
    run = storycast(root, "audit", "--json")
    [report] = json.loads(run.stdout)
    return run.returncode, report


@pytest.fixture
def project(example_run: Run, tmp_path: Path) -> Path:
    """The example show, published into its own folder."""
    root = copy_with_caches(example_run, tmp_path / "p")
    report = _publish(root)
    assert report.ok, [(j.slug, j.status, j.reason) for j in report.jobs]
    return root


# --- the manifest ------------------------------------------------------------------------------


def test_no_published_file_carries_a_hash_of_a_raw_recording_or_edl(project: Path) -> None:
    """BROKE: the public manifest listed each episode's raw recordings by sha256 (and its
    EDL's), so anyone holding a copy of a recording could prove it is in the show and tie
    episodes together. Fixed: publish.plan keeps them only in the private ledger, which
    the audit's approval check now reads."""
    hashes = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((project / "episodes").rglob("*"))
        if p.is_file() and (p.parent.name == "recordings" or p.name == "edl.yaml")
    }
    assert len(hashes) == 6
    for key, data in _public(project).items():
        for path, sha in hashes.items():
            assert sha[:12].encode() not in data, f"{key} has the sha256 of {path.name}"
    # the approval check still proves each published episode matches its approval
    code, report = _audit(project)
    assert code == 0 and report["ok"] is True, report
    approval = project / "episodes" / "first-flat" / "approval.yaml"
    text = approval.read_text()
    start = text.index("edl_sha256: ") + len("edl_sha256: ")
    approval.write_text(text[:start] + "0" * 64 + text[start + 64 :])
    code, report = _audit(project)
    assert code != 0
    assert any(
        f["check"] == "approval" and f["where"] == "first-flat"
        for f in report["findings"]  # type: ignore[attr-defined]
    ), report


# --- a name kept out, typed another way -------------------------------------------------------

# Sam is credited by the pseudonym "Sam R."; their real name must be published nowhere.
REAL_NAME = "Zoë Adams"
SPELLINGS = {
    "NFD (e + combining diaeresis)": "Zoe\u0308 Adams",
    "a soft hyphen inside": "Zo\u00adë Adams",
    "a zero-width space inside": "Zo\u200bë Adams",
    "a no-break space": "Zoë\u00a0Adams",
    "two spaces": "Zoë  Adams",
    "a Cyrillic o": "Z\u043eë Adams",
    "full-width letters": "\uff3a\uff4fë Adams",
    "a character reference": "Zo&#235; Adams",
    "a tag inside": "Zo<b></b>ë Adams",
}


def _give_sam_a_real_name(root: Path) -> None:
    people_file = root / "episodes" / "people.yaml"
    text = people_file.read_text()
    old = "    pseudonym: Sam R.\n"
    assert old in text
    people_file.write_text(text.replace(old, old + f"    name: {REAL_NAME}\n"))


def _set_description(root: Path, slug: str, description: str) -> None:
    episode = root / "episodes" / slug / "episode.yaml"
    lines = episode.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("description:"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    quoted = json.dumps(description)  # a YAML double-quoted scalar
    episode.write_text("\n".join([*lines[:start], f"description: {quoted}", *lines[end:]]) + "\n")


@pytest.mark.parametrize("spelling", list(SPELLINGS), ids=list(SPELLINGS))
def test_a_name_kept_out_is_refused_however_it_is_typed(project: Path, spelling: str) -> None:
    """BROKE for each of these (upper case held already): the check of what goes out
    matched the name only as typed in the people file (case aside), so the description
    published it in the feed, the episode page and the manifest. Fixed: every text is
    read as a reader sees it (``project.text.fold``) before the names are looked for."""
    _give_sam_a_real_name(project)
    written = f"Sam ({SPELLINGS[spelling]}) phones in from the open mic night."
    _set_description(project, "open-mic", written)
    before = _public(project)
    report = _publish(project)
    status, reason = _status(report, "open-mic")
    assert status == "failed", (status, reason)
    assert "the episode description" in reason and "asked not to be published" in reason
    assert "Adams" not in reason and "Zo" not in reason  # the message never repeats it
    after = _public(project)
    assert {k: v for k, v in after.items() if "open-mic" in k} == {
        k: v for k, v in before.items() if "open-mic" in k
    }
    for key, data in after.items():
        assert b"Adams" not in data and "Adams".encode("utf-16-le") not in data, key
        assert b"phones in from the open mic night." not in data, key


# --- a withdrawal written another way ----------------------------------------------------------

WITHDRAWN_AS = {
    "the credited name": "Alex Okafor",
    "the name, in other case and spacing": "  alex   OKAFOR",
    "the name with an accent": "Alex Okafór",
    "the name in NFD with an accent": "Alex Okafo\u0301r",
    "the name with a Cyrillic A": "\u0410lex Okafor",
    "the name with a no-break space": "Alex\u00a0Okafor",
}


def _assert_open_mic_gone(root: Path) -> None:
    import podcastparser

    feed = (root / "public" / "feeds" / f"{SHOW}.xml").read_bytes()
    parsed = podcastparser.parse("http://127.0.0.1:8000/feeds/x.xml", io.BytesIO(feed))
    assert [e["title"] for e in parsed["episodes"]] == ["Getting your first flat"]
    assert not [k for k in _public(root) if "open-mic" in k]
    assert b"open-mic" not in (root / "public" / "manifests" / f"{SHOW}.json").read_bytes()


@pytest.mark.parametrize("written", list(WITHDRAWN_AS), ids=list(WITHDRAWN_AS))
def test_a_withdrawal_written_another_way_still_takes_the_episode_down(
    project: Path, written: str
) -> None:
    """BROKE for each of these: a withdrawal was matched to the people file by its id
    alone (case aside), so one written as the person is credited, or with a stray space,
    an accent or a look-alike letter, named nobody and the episode stayed up. Fixed:
    ``people.resolve`` finds the id a withdrawal means, by id, name or pseudonym, however
    it is typed; `storycast withdraw "Alex Okafor"` records `alex`."""
    (project / "episodes" / "withdrawals.yaml").write_text(
        "withdrawals:\n"
        f"  - person: {json.dumps(WITHDRAWN_AS[written])}\n"
        "    at: 2026-12-01T10:00:00+00:00\n"
        "    requested_by: Alex, by phone\n"
    )
    report = _publish(project)
    assert _status(report, "open-mic")[0] == "withdrawn", _status(report, "open-mic")
    assert report.ok
    _assert_open_mic_gone(project)


class _WithdrawWhenSaid(io.StringIO):
    """The run's progress stream: when a line names ``when``, ``act`` runs once, as a
    contributor's `storycast withdraw` (or an edit of the people file) would land while
    the run is busy with the episodes."""

    def __init__(self, when: str, act: Callable[[], None]) -> None:
        super().__init__()
        self.when, self.act, self.done = when, act, False

    def write(self, text: str) -> int:
        if not self.done and self.when in text:
            self.done = True
            self.act()
        return super().write(text)


@pytest.mark.parametrize("how", ["withdraw", "people-file"])
def test_a_withdrawal_made_while_a_publish_is_running_holds_for_that_run(
    project: Path, how: str
) -> None:
    """BROKE: the withdrawals and the people file were read when the run began. A
    withdrawal recorded while the episodes were being made (a long render, say) was not
    seen by the store step: the episode stayed published (or went out), and the run's own
    audit, reading the old withdrawals, said every promise held. Fixed: both are read
    again just before the store step, and what they now take down comes down then."""
    from pipeline.orchestrator import publish_show
    from pipeline.project import people

    def act() -> None:
        if how == "withdraw":
            people.withdraw(project / "episodes", "alex", "Alex, by phone")
        else:  # the poet's consent to their voice taken out of the people file
            people_file = project / "episodes" / "people.yaml"
            text = people_file.read_text()
            voice = text.index("voice:", text.index("id: alex"))
            people_file.write_text(text[:voice] + "face:" + text[voice + len("voice:") :])

    out = _WithdrawWhenSaid("open-mic", act)
    report = publish_show(project / "feeds" / f"{SHOW}.yaml", project, out)
    assert out.done, out.getvalue()
    status, reason = _status(report, "open-mic")
    assert status == "withdrawn", (status, reason, out.getvalue())
    assert "consent changed while this run was working" in out.getvalue()
    _assert_open_mic_gone(project)
    assert _status(report, "first-flat")[0] in ("published", "unchanged", "ready")
    code, audit = _audit(project)
    assert code == 0, audit


def _video_show(root: Path, clip: Path, out: float = 3.4) -> Path:
    """A show of one video episode ("stage") in which Ria is seen and heard."""
    import shutil

    from conftest import ROOT

    (root / "feeds").mkdir(parents=True)
    show = (ROOT / "feeds" / f"{SHOW}.yaml").read_text()
    (root / "feeds" / f"{SHOW}.yaml").write_text(show + "approval: optional\n")
    shutil.copyfile(ROOT / "feeds" / f"{SHOW}.jpg", root / "feeds" / f"{SHOW}.jpg")
    folder = root / "episodes" / "stage"
    (folder / "recordings").mkdir(parents=True)
    (root / "episodes" / "people.yaml").write_text(VIDEO_PEOPLE)
    shutil.copyfile(clip, folder / "recordings" / clip.name)
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\ntitle: Festival stage\npublished: 2026-08-20\n"
        f"medium: video\nappearances:\n  {clip.name}: [ria]\n"
    )
    (folder / "edl.yaml").write_text(
        f"clips:\n  - source: {clip.name}\n    in: 0.2\n    out: {out}\n"
    )
    return root


def test_a_face_consent_taken_back_while_a_publish_is_running_holds_for_that_run(
    tmp_path: Path,
) -> None:
    """The late re-read's other path: Ria takes back consent to her face (keeping her
    voice) while a publish is busy with her published video episode. That run publishes
    no picture of her: the episode, made as the run began, is held back and its published
    video comes down; the next run publishes it as sound only."""
    from pipeline.orchestrator import publish_show

    from kit.media import ffmpeg, say

    wav = say([("en-gb", "Welcome to the festival stage.")], tmp_path / "clip.wav")
    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-i", wav, "-shortest",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
           clip)  # fmt: skip
    root = _video_show(tmp_path / "v", clip, out=3.0)
    first = _publish(root)
    assert _status(first, "stage")[0] == "published", _status(first, "stage")
    assert [k for k in _public(root) if k.endswith(".mp4")]

    def act() -> None:
        people_file = root / "episodes" / "people.yaml"
        people_file.write_text(people_file.read_text().replace("      face: 2026-08-01\n", ""))

    # the second run is told to make the episode again (its end moved), so it is busy with it
    edl = root / "episodes" / "stage" / "edl.yaml"
    edl.write_text(edl.read_text().replace("out: 3.0", "out: 2.8"))
    out = _WithdrawWhenSaid("stage", act)
    report = publish_show(root / "feeds" / f"{SHOW}.yaml", root, out)
    assert out.done, out.getvalue()
    status, reason = _status(report, "stage")
    assert status == "failed" and "while this run was making it" in reason, (status, reason)
    assert "consent changed while this run was working" in out.getvalue()
    published = _public(root)
    assert not [k for k in published if k.endswith((".mp4", ".jpg")) and "stage" in k], sorted(
        published
    )
    code, audit = _audit(root)
    assert code == 0, audit

    again = _publish(root)
    assert _status(again, "stage")[0] == "published", _status(again, "stage")
    published = _public(root)
    assert [k for k in published if k.endswith(".mp3") and "stage" in k], sorted(published)
    assert not [k for k in published if k.endswith(".mp4")], sorted(published)


def test_an_episodes_folder_put_back_from_before_a_withdrawal_keeps_the_story_down(
    project: Path, tmp_path: Path
) -> None:
    """BROKE: withdrawals were remembered only inside episodes/ (withdrawals.yaml and
    audit.jsonl). A volunteer who put that folder back from a copy made before the
    withdrawal (a backup, a shared drive, `git checkout episodes`) took both with it, and
    the next publish put the withdrawn episode back up. Fixed: the audit log is also kept
    in storycast's own folder (.storycast/audit/), both are read, and the run puts the
    lines the episodes folder lacks back into it, saying so."""
    import shutil

    from pipeline.orchestrator import publish_show
    from pipeline.project import people

    before = tmp_path / "episodes-before"
    shutil.copytree(project / "episodes", before)
    people.withdraw(project / "episodes", "alex", "Alex, by phone")
    assert _status(_publish(project), "open-mic")[0] == "withdrawn"
    _assert_open_mic_gone(project)

    shutil.rmtree(project / "episodes")
    shutil.copytree(before, project / "episodes")  # the folder as it was before
    assert not (project / "episodes" / "withdrawals.yaml").exists()
    log = project / "episodes" / "audit.jsonl"
    as_put_back = log.read_bytes() if log.exists() else None
    code, audit = _audit(project)  # `storycast audit` reads both copies and changes nothing
    assert code == 0, audit
    assert (log.read_bytes() if log.exists() else None) == as_put_back
    out = io.StringIO()
    report = publish_show(project / "feeds" / f"{SHOW}.yaml", project, out)
    status, reason = _status(report, "open-mic")
    assert status == "withdrawn", (status, reason, out.getvalue())
    assert "put back from storycast's own copies (.storycast/audit/)" in out.getvalue()
    _assert_open_mic_gone(project)
    log = (project / "episodes" / "audit.jsonl").read_text()
    assert '"action": "withdraw"' in log and '"person": "alex"' in log
    code, audit = _audit(project)
    assert code == 0, audit


def test_storycast_withdraw_takes_the_name_a_person_is_credited_by(project: Path) -> None:
    run = storycast(project, "withdraw", "Alex Okafor", "--requested-by", "Alex")
    assert run.returncode == 0, run.stderr
    assert "Recorded: alex withdrew consent" in run.stdout
    assert "person: alex\n" in (project / "episodes" / "withdrawals.yaml").read_text()
    # a name two people share is refused, naming them, and nothing is recorded
    people_file = project / "episodes" / "people.yaml"
    people_file.write_text(people_file.read_text().replace("name: Jordan\n", "name: Sam R.\n"))
    run = storycast(project, "withdraw", "sam r.", "--requested-by", "Sam")
    assert run.returncode != 0
    assert "is the name of 2 people (jordan, sam)" in run.stdout + run.stderr
    assert "sam" not in (project / "episodes" / "withdrawals.yaml").read_text()


# --- one recording in two episodes ------------------------------------------------------------


def _poem_again(root: Path, recording: Path | None = None) -> None:
    """A third episode made from the poet's recording (the same bytes unless ``recording``
    is given), whose appearances name only Sam: a producer's slip, or a way round a
    withdrawal."""
    import shutil

    folder = root / "episodes" / "poem-again"
    (folder / "recordings").mkdir(parents=True)
    source = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    shutil.copyfile(recording or source, folder / "recordings" / "poem.m4a")
    (folder / "episode.yaml").write_text(
        "show: riverside-voices\nnumber: 3\ntitle: A poem about home\n"
        "description: A poem from the open mic night.\npublished: 2026-11-20\n"
        "appearances:\n  poem.m4a: [sam]\n"
    )
    (folder / "edl.yaml").write_text("clips:\n  - source: poem.m4a\n    in: 0\n    out: 9.5\n")
    run = storycast(root, "approve", "poem-again", "--by", "Sam")
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_recording_shared_with_another_episode_comes_down_with_the_withdrawal(
    project: Path,
) -> None:
    """BROKE: the other episode, already published, stayed up through the run that took
    the poet's episode down (the recording was held back only from the run after). Fixed:
    ``takedown.find`` takes down every published episode made from a recording that the
    record of what was published says a withdrawn person is in, in the same run."""
    _poem_again(project)
    report = _publish(project)
    assert _status(report, "poem-again")[0] == "published", _status(report, "poem-again")
    assert [k for k in _public(project) if "poem-again" in k]
    from pipeline.project import people

    people.withdraw(project / "episodes", "alex", "Alex, by phone")
    report = _publish(project)
    assert _status(report, "open-mic")[0] == "withdrawn"
    status, reason = _status(report, "poem-again")
    assert status == "withdrawn", (status, reason)
    assert "alex" in reason and "poem.m4a" in reason
    _assert_open_mic_gone(project)
    assert not [k for k in _public(project) if "poem-again" in k]


def test_a_new_episode_made_from_a_withdrawn_recording_is_never_published(
    project: Path,
) -> None:
    """BROKE: an episode made from the poet's recording, added in the run that takes the
    poet's episode down, was published (the recording was held back only from the run
    after, by the audit log). Fixed: the orchestrator holds back, from this run on, every
    recording the record of what was published says a withdrawn person is in."""
    from pipeline.project import people

    people.withdraw(project / "episodes", "alex", "Alex, by phone")
    _poem_again(project)
    report = _publish(project)
    assert _status(report, "open-mic")[0] == "withdrawn"
    status, reason = _status(report, "poem-again")
    assert status == "withdrawn", (status, reason)
    assert "poem.m4a" in reason and "alex" in reason
    assert not [k for k in _public(project) if "poem-again" in k]
    # and it stays so on the next publish (the audit log holds it from here)
    report = _publish(project)
    assert _status(report, "poem-again")[0] == "withdrawn"
    assert not [k for k in _public(project) if "poem-again" in k]


# --- what a phone video carries besides its picture and sound ---------------------------------

VIDEO_PEOPLE = """people:
  - id: ria
    credit: name
    name: Ria
    roles: [guest]
    consent:
      voice: 2026-08-01
      face: 2026-08-01
"""
# What the clip carries that must never be published (each in a place of its own).
VIDEO_SECRETS = {
    b"Elm Road": "a subtitle stream and a chapter title",
    b"51.50735": "a subtitle stream's text and the container's location tag",
    b"ZX81-SERIAL": "an attached file",
    b"Pixel 8 Pro": "a stream's title",
    b"Kingsdown": "a chapter title",
}


def _phone_mkv(root: Path) -> Path:
    """A phone-style Matroska clip with a subtitle stream, an attachment, stream titles,
    chapters and a location tag, besides its picture and sound."""
    from kit.media import ffmpeg, say

    wav = say(
        [("en-gb", "Welcome to the festival stage."), ("en-us", "The music starts soon.")],
        root / "clip.wav",
        gap=0.3,
    )
    (root / "subs.srt").write_text(
        "1\n00:00:00,000 --> 00:00:02,500\nMeet me at 12 Elm Road, 51.50735 -0.12776\n"
    )
    (root / "serial.txt").write_text("device ZX81-SERIAL owner Ria\n")
    (root / "meta.txt").write_text(
        ";FFMETADATA1\nlocation=+51.50735-000.12776/\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1500\ntitle=Home at Elm Road\n"
        "[CHAPTER]\nTIMEBASE=1/1000\nSTART=1500\nEND=3000\ntitle=Kingsdown hub\n"
    )
    plain = root / "plain.mkv"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-i", wav, "-shortest",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", plain,
    )  # fmt: skip
    out = root / "clip.mkv"
    ffmpeg(
        "-i", plain, "-i", root / "subs.srt", "-i", root / "meta.txt",
        "-map", "0:v", "-map", "0:a", "-map", "1:s", "-map_metadata", "2", "-map_chapters", "2",
        "-c:v", "copy", "-c:a", "copy", "-c:s", "srt",
        "-metadata:s:v:0", "title=Pixel 8 Pro rear camera",
        "-metadata:s:a:0", "title=Pixel 8 Pro microphone",
        "-attach", root / "serial.txt", "-metadata:s:t", "mimetype=text/plain",
        out,
    )  # fmt: skip
    return out


def test_a_phone_video_carries_no_subtitle_attachment_chapter_or_stream_title_out(
    tmp_path: Path,
) -> None:
    """HELD: a Matroska clip with its own subtitle stream, an attached file, chapters,
    stream titles and a location tag publishes only the rendered picture, the sound and
    storycast's own captions; nothing of the rest is in any published byte, and the audit
    (ExifTool included) passes. No other test gives a source these streams."""
    clip = _phone_mkv(tmp_path)
    raw = clip.read_bytes()
    assert all(secret in raw for secret in VIDEO_SECRETS)  # the attack is really in it
    root = _video_show(tmp_path / "v", clip)
    run = storycast(root, "publish")
    assert run.returncode == 0, run.stdout + run.stderr
    published = _public(root)
    assert [k for k in published if k.endswith(".mp4")]
    for key, data in published.items():
        for secret, where in VIDEO_SECRETS.items():
            assert secret not in data, f"{key} has what {where} said"
            assert secret.decode().encode("utf-16-le") not in data, key
    code, report = _audit(root)
    assert code == 0 and report["ok"] is True, report


# --- the studio, reached from another site ------------------------------------------------------


def test_a_page_on_another_site_cannot_use_the_studio(example_run: Run, tmp_path: Path) -> None:
    """BROKE: a web page on another site, open in the contributor's browser while the
    studio runs, could play any recording through it (``<audio src=".../listen/...">``)
    and set renders going (every GET is work); only the Host header and, for changes, the
    page's key were checked. Fixed: the studio refuses a request the browser marks as
    from another site (``Sec-Fetch-Site``) or whose ``Origin`` is not its own, and says
    ``Cross-Origin-Resource-Policy: same-origin``; its own pages work as before."""
    import http.server
    import time
    import urllib.error
    import urllib.request

    from pipeline.cli.studio import ProjectFiles
    from pipeline.studio.server import Studio, make_server

    from kit.browser import chromium
    from kit.serving import serving

    root = copy_with_caches(example_run, tmp_path / "s")
    studio = Studio(ProjectFiles(root), port=0)
    with serving(make_server(studio)):
        base = f"http://127.0.0.1:{studio.port}"
        listen = f"{base}/ep/first-flat/listen/interview.m4a?at=0"
        evil = tmp_path / "evil"
        evil.mkdir()
        (evil / "index.html").write_text(
            f'<!doctype html><audio id="a" preload="auto" src="{listen}"></audio>'
            '<script>const a = document.getElementById("a");'
            'a.addEventListener("loadedmetadata", () => document.title = "loaded");'
            'a.addEventListener("error", () => document.title = "refused");</script>'
        )

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: object, **kwargs: object) -> None:
                super().__init__(*args, directory=str(evil), **kwargs)  # type: ignore[arg-type]

            def log_message(self, format: str, *args: object) -> None:
                return

        other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        with serving(other), chromium() as browser:
            page = browser.new_page()
            # another site: localhost is not 127.0.0.1 to a browser
            page.goto(f"http://localhost:{other.server_address[1]}/index.html")
            deadline = time.monotonic() + 30
            while page.title() not in ("loaded", "refused") and time.monotonic() < deadline:
                page.wait_for_timeout(200)
            assert page.title() == "refused"
            # the studio's own page still plays the same recording
            own = browser.new_page()
            own.goto(f"{base}/")
            played = own.evaluate(
                "async (url) => { const a = new Audio(url); await new Promise((ok, no) => {"
                "a.onloadedmetadata = ok; a.onerror = no; }); return a.duration > 0; }",
                listen,
            )
            assert played is True
        # a request that says where it comes from is refused before any work
        for headers in (
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site"},
            {"Origin": "http://evil.example"},
        ):
            req = urllib.request.Request(listen, headers=headers)
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(req, timeout=60)
            assert refused.value.code == 403, headers
            assert b"another site" in refused.value.read()
        with urllib.request.urlopen(listen, timeout=120) as resp:
            assert resp.headers["Cross-Origin-Resource-Policy"] == "same-origin"
            assert resp.read(4)


# --- a copy of a withdrawn recording, with other bytes -----------------------------------------


def _copy_of_poem(root: Path, tmp: Path, how: str) -> Path:
    from kit.media import ffmpeg

    poem = root / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    if how == "retagged":
        out = tmp / "poem.m4a"
        ffmpeg("-i", poem, "-c", "copy", "-metadata", "title=A poem about home", out)
    else:
        out = tmp / "poem.opus"
        ffmpeg("-i", poem, "-c:a", "libopus", "-b:a", "32k", out)
    assert out.read_bytes() != poem.read_bytes()
    return out


def test_a_retagged_copy_of_a_withdrawn_recording_is_not_published(
    project: Path, tmp_path: Path
) -> None:
    """BROKE: the poet withdraws, and in the same run an episode made from a copy of the
    poem with its tags changed (other bytes, the same sound) was published: recordings
    were held back by their sha256 alone. Fixed: the sound of every recording a withdrawn
    person is taken down in is fingerprinted (``media.fingerprint``), and a recording
    with the same sound is held back like the recording itself."""
    from pipeline.project import people

    copy = _copy_of_poem(project, tmp_path, "retagged")
    people.withdraw(project / "episodes", "alex", "Alex, by phone")
    _poem_again(project, copy)
    report = _publish(project)
    status, reason = _status(report, "poem-again")
    assert status == "withdrawn", (status, reason)
    assert "same sound as a recording taken down because alex withdrew" in reason
    assert not [k for k in _public(project) if "poem-again" in k]
    _assert_open_mic_gone(project)
    # the other episodes, with other recordings, are published as before
    assert _status(report, "first-flat")[0] in ("published", "unchanged", "ready")


def test_a_re_encoded_copy_is_held_back_after_the_recordings_are_erased(
    project: Path, tmp_path: Path
) -> None:
    """BROKE (as above, across runs): the poem is taken down and its raw recording erased;
    a re-encoded copy (Opus, 32 kb/s) added later was published. Fixed: the takedown's
    line in the audit log keeps the fingerprints, which outlive the recordings."""
    from pipeline.project import auditlog, people

    copy = _copy_of_poem(project, tmp_path, "re-encoded")
    people.withdraw(project / "episodes", "alex", "Alex, by phone")
    assert _status(_publish(project), "open-mic")[0] == "withdrawn"
    erased = storycast(
        project, "withdraw", "alex", "--requested-by", "Alex", "--erase-recordings", "--yes"
    )
    assert erased.returncode == 0, erased.stdout + erased.stderr
    assert not (project / "episodes" / "open-mic" / "recordings" / "poem.m4a").exists()
    assert any(
        r.get("recordings_fingerprint")
        for r in auditlog.read(project / "episodes")
        if r.get("action") == "takedown"
    )
    _poem_again(project, copy)
    report = _publish(project)
    status, reason = _status(report, "poem-again")
    assert status == "withdrawn", (status, reason)
    assert "same sound" in reason
    assert not [k for k in _public(project) if "poem-again" in k]


def test_a_recordings_sound_is_kept_in_the_cache_and_goes_with_its_takedown(
    project: Path, tmp_path: Path
) -> None:
    """Once a withdrawn recording's sound is known, every recording is compared with it on
    every publish: each recording's fingerprint is kept in the cache by its sha256 (read
    from there, not made again), and purged when the recording is taken down."""
    from pipeline.cache import Cache
    from pipeline.media import fingerprint
    from pipeline.project import people

    from kit.media import tone

    people.withdraw(project / "episodes", "alex", "Alex, by phone")
    assert _status(_publish(project), "open-mic")[0] == "withdrawn"
    cache = Cache(project / ".storycast" / "cache")
    folder = project / "episodes" / "first-flat" / "recordings"
    for path in sorted(p for p in folder.iterdir() if p.suffix != ".txt"):
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        entry = cache.get_json("fingerprints", sha)
        assert entry is not None and entry["recording_sha256"] == sha, path.name
        assert fingerprint.from_hex(entry["fingerprint"]) == fingerprint.fingerprint(path)
    poem = project / "episodes" / "open-mic" / "recordings" / "poem.m4a"
    poem_sha = hashlib.sha256(poem.read_bytes()).hexdigest()
    assert cache.get_json("fingerprints", poem_sha) is None
    # read from the cache: the same answer for a file whose sound has changed since
    a = tone(tmp_path / "a.wav", 12.0, 440)
    first = fingerprint.of_recording(a, "ab" * 32, cache)
    tone(tmp_path / "a.wav", 12.0, 1250)
    assert fingerprint.fingerprint(a) != first
    assert fingerprint.of_recording(a, "ab" * 32, cache) == first


def test_a_withdrawal_covers_the_same_person_listed_again_under_a_nickname(
    project: Path,
) -> None:
    """BROKE: the poet is listed twice in the people file, once by name and once under a
    nickname (another id, the same real name), and the open mic episode names the
    nickname's id. Withdrawing `alex` left that episode up. Fixed: a withdrawal covers
    every id the people file gives the same real name (``people._same_name``)."""
    people_file = project / "episodes" / "people.yaml"
    people_file.write_text(
        people_file.read_text()
        + "  - id: lexi\n    credit: pseudonym\n    pseudonym: Lexi\n    name: alex  okafor\n"
        "    roles: [guest]\n    consent:\n      voice: 2026-11-01\n"
    )
    episode = project / "episodes" / "open-mic" / "episode.yaml"
    episode.write_text(episode.read_text().replace("poem.m4a: [alex]", "poem.m4a: [lexi]"))
    report = _publish(project)
    assert _status(report, "open-mic")[0] == "published", _status(report, "open-mic")
    run = storycast(project, "withdraw", "alex", "--requested-by", "Alex")
    assert run.returncode == 0, run.stderr
    report = _publish(project)
    status, reason = _status(report, "open-mic")
    assert status == "withdrawn", (status, reason)
    assert "lexi" in reason
    _assert_open_mic_gone(project)


# --- a name taken back, on an episode that cannot be published again -----------------------------


def test_a_credit_taken_back_leaves_no_name_in_an_episode_that_waits_for_approval(
    project: Path,
) -> None:
    """BROKE: Jordan asks not to be named any more (``credit: none``) while first-flat
    waits for approval of a new edit. Its published version stayed in the feed with
    Jordan's name in its credits, captions and pages, and the store step then refused to
    write the feed at all, so the name stayed up and the whole show was stuck. Fixed:
    ``takedown.name_holds`` takes such a published version down meanwhile (read from
    storage: the manifest's credits and the episode's text files), as for a redaction."""
    people_file = project / "episodes" / "people.yaml"
    people_file.write_text(
        people_file.read_text().replace(
            "credit: name\n    name: Jordan\n", "credit: none\n    name: Jordan\n", 1
        )
    )
    edl = project / "episodes" / "first-flat" / "edl.yaml"
    edl.write_text(edl.read_text() + "\n# re-edited, not approved yet\n")
    report = _publish(project)
    status, reason = _status(report, "first-flat")
    assert status == "skipped", (status, reason)
    notes = next(j.notes for j in report.jobs if j.slug == "first-flat")
    assert any("asked not to be published" in n and "taken down" in n for n in notes), notes
    assert report.publish_error == "", report.publish_error
    assert _status(report, "open-mic")[0] == "published"  # the other episode is not held up
    for key, data in _public(project).items():
        assert b"Jordan" not in data, key
        assert "first-flat" not in key, key
    code, audit = _audit(project)
    assert code == 0 and audit["ok"] is True, audit
    # approved again, it is published again, with no name for Jordan
    run = storycast(project, "approve", "first-flat", "--by", "Sam")
    assert run.returncode == 0, run.stdout + run.stderr
    report = _publish(project)
    assert _status(report, "first-flat")[0] == "published", _status(report, "first-flat")
    published = _public(project)
    assert [k for k in published if "first-flat" in k]
    assert not [k for k, data in published.items() if b"Jordan" in data]


def test_a_credit_taken_back_leaves_no_earlier_version_with_the_name(project: Path) -> None:
    """HELD: Jordan asks not to be named any more and first-flat is published again at
    once: no earlier version of its files (kept a while for apps holding an old feed)
    names them."""
    assert [k for k, data in _public(project).items() if b"Jordan" in data]
    people_file = project / "episodes" / "people.yaml"
    people_file.write_text(
        people_file.read_text().replace(
            "credit: name\n    name: Jordan\n", "credit: none\n    name: Jordan\n", 1
        )
    )
    report = _publish(project)
    assert _status(report, "first-flat")[0] == "published", _status(report, "first-flat")
    assert report.publish_error == ""
    left = [k for k, data in _public(project).items() if b"Jordan" in data]
    assert left == [], left


# --- a CDN in front of storage -----------------------------------------------------------


def _static(folder: Path) -> ThreadingHTTPServer:
    """A server answering from ``folder`` on a free port: a CDN's edge holding copies."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))


def _served_from(root: Path, server: ThreadingHTTPServer) -> str:
    base = f"http://127.0.0.1:{server.server_address[1]}"
    show = root / "feeds" / f"{SHOW}.yaml"
    show.write_text(
        show.read_text().replace("base_url: http://127.0.0.1:8000", f"base_url: {base}")
    )
    return base


def test_a_cdn_still_serving_a_withdrawn_episode_is_named_and_the_run_fails(
    example_run: Run, tmp_path: Path
) -> None:
    """BROKE: media went out with a year's `immutable` Cache-Control, and a takedown was
    checked in storage only. A CDN in front of the bucket kept serving the withdrawn
    episode for up to a year while the run said TAKEN DOWN and succeeded. Fixed: media get
    a day's Cache-Control, and after a takedown each removed file's public address is asked
    for as an app would; what still answers is named, with what to purge, in the run's
    problems and the audit log, and the run does not succeed."""
    import shutil

    from pipeline.project import auditlog, people

    from kit.serving import serving

    cdn = tmp_path / "edge"
    cdn.mkdir()
    server = _static(cdn)
    with serving(server):
        root = copy_with_caches(example_run, tmp_path / "p")
        base = _served_from(root, server)
        assert _publish(root).ok
        shutil.copytree(root / "public", cdn, dirs_exist_ok=True)  # the edge's copies
        people.withdraw(root / "episodes", "alex", "Alex, by phone")
        report = _publish(root)
    assert _status(report, "open-mic")[0] == "withdrawn"
    _assert_open_mic_gone(root)  # storage itself holds none of it
    assert not report.ok
    [said] = [p for p in report.takedown_problems if "from a CDN" in p.message]
    mp3 = [u for u in said.message.split() if u.startswith(f"{base}/media/") and ".mp3" in u]
    assert mp3 and "open-mic-" in mp3[0], said.message
    assert "Purge these addresses" in (said.fix or ""), said
    [entry] = [e for e in auditlog.read(root / "episodes") if e.get("action") == "takedown"]
    served = entry["still_served_by_a_cache"]
    assert isinstance(served, dict) and len(served) >= 5, entry
    assert all(u.startswith(f"{base}/media/{SHOW}/") and "open-mic" in u for u in served)


def test_nothing_in_front_of_storage_means_nothing_more_is_said(
    example_run: Run, tmp_path: Path
) -> None:
    """The same takedown, the public addresses served straight from storage: they answer
    404 once the files are gone, the run succeeds, and the audit log says it was checked."""
    from pipeline.project import auditlog, people

    from kit.serving import serving

    root = copy_with_caches(example_run, tmp_path / "p")
    server = _static(root / "public")
    with serving(server):
        _served_from(root, server)
        assert _publish(root).ok
        people.withdraw(root / "episodes", "alex", "Alex, by phone")
        report = _publish(root)
    assert _status(report, "open-mic")[0] == "withdrawn"
    assert report.ok, report.takedown_problems
    [entry] = [e for e in auditlog.read(root / "episodes") if e.get("action") == "takedown"]
    assert entry["still_served_by_a_cache"] == {}, entry


def test_a_name_kept_out_is_not_published_in_an_episode_folder_name(
    project: Path, tmp_path: Path
) -> None:
    """BROKE: Sam is credited by a pseudonym; their real name, written in an episode's
    folder name (`samira-haddad-at-the-open-mic`), went into every public address of the
    episode (its files, its page, the feed's links), and the audit said every promise held:
    words joined by hyphens were not read as words. Fixed: a folder name, an address or an
    email is read with spaces between its words too, by the check before publishing and by
    the audit."""
    import shutil

    people_file = project / "episodes" / "people.yaml"
    text = people_file.read_text()
    people_file.write_text(
        text.replace("pseudonym: Sam R.\n", "pseudonym: Sam R.\n    name: Samira Haddad\n")
    )
    folder = project / "episodes" / "samira-haddad-at-the-open-mic"
    shutil.copytree(project / "episodes" / "open-mic", folder)
    episode = folder / "episode.yaml"
    episode.write_text(episode.read_text().replace("number: 2", "number: 3"))
    report = _publish(project)
    status, reason = _status(report, "samira-haddad-at-the-open-mic")
    assert status == "failed", (status, reason)
    assert "the episode's folder name (in every address)" in reason, reason
    assert "Rename the episode's folder" in reason, reason
    assert not [k for k in _public(project) if "samira" in k.lower()]
    assert all(b"samira" not in data.lower() for data in _public(project).values())
    code, audit = _audit(project)
    assert code == 0, audit
