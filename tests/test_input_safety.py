"""Hostile input (issue 8): front matter bombs, files that are not regular files inside the
project, raw HTML that hides text, invisible articles, over-long headings. Unit tier: no
speech, no audio."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from audio_edition.config import Settings
from audio_edition.errors import SourceError
from audio_edition.files import read_article_bytes, read_cover_bytes
from audio_edition.pcm import samples_to_ms
from audio_edition.source import MAX_SENTENCE_CHARS, parse_article

from .conftest import run_cli


def parse_error(text: str, name: str = "a.md") -> str:
    """Parse text expecting a SourceError; check it is one line naming the file."""
    with pytest.raises(SourceError) as caught:
        parse_article(text, Path(name))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{name}: ")
    return message


# --------------------------------------------------------------------------- front matter


def _alias_bomb(levels: int) -> str:
    """``levels`` nested YAML aliases, each nine times the one before (a "billion laughs")."""
    names = "abcdefghi"[:levels]
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip(names, names[1:], strict=False)
    ]
    lines.append(f"title: *{names[-1]}")
    return "---\n" + "\n".join(lines) + "\n---\nHello there.\n"


def test_yaml_aliases_in_front_matter_are_refused() -> None:
    # Three levels only (729 items), so that the old code, which expanded it, stays quick;
    # nine levels grew the build to 24 GB.
    message = parse_error(_alias_bomb(3))
    assert "aliases (*name) are not allowed in front matter" in message
    assert "at line 3" in message  # the first alias, counted in the file


def test_an_anchor_without_aliases_is_harmless() -> None:
    article = parse_article("---\ntitle: &t The title\n---\nHello.\n", Path("a.md"))
    assert article.title == "The title"


def test_front_matter_size_is_capped() -> None:
    huge = "---\ntitle: " + "x" * 64_000 + "\n---\nHello.\n"
    assert "front matter is 64,007 characters long; the limit is 64,000" in parse_error(huge)


# --------------------------------------------------------------------------- raw HTML


def texts(markdown: str) -> list[str]:
    article = parse_article(markdown, Path("a.md"))
    return [" | ".join(filter(None, (p.heading, p.text))) for p in article.paragraphs]


def test_inline_script_and_style_are_dropped_with_their_content() -> None:
    assert texts(
        "The draft said <script>alert(1)</script> nothing.\n\n"
        "A <STYLE type='text/css'>p { color: red }</STYLE> plain <b>bold</b> word.\n\n"
        "# Title <script>document.write('x')</script>\n\nBody.\n"
    ) == ["The draft said nothing.", "A plain bold word.", "Title | Body."]


def test_inline_comments_are_dropped_even_across_lines() -> None:
    assert texts("One <!-- an editor's\nnote --> two <!-- a -- b --> three.\n") == [
        "One two three."
    ]


def test_a_self_closed_script_tag_hides_nothing_after_it() -> None:
    assert texts("Before <script src='a.js'/> after.\n") == ["Before after."]


def test_block_script_style_and_comments_are_dropped_with_their_content() -> None:
    assert texts(
        "<div>\n<!-- hidden -->\n<script>var x = 1;</script> shown\n</div>\n\n"
        "<script>\nalert(1)\n</script>\n\n"
        "<!-- never closed\n\nso the rest is a comment, as in a browser\n"
    ) == ["shown"]


# --------------------------------------------------------------------------- invisible text


@pytest.mark.parametrize(
    "text",
    [
        "\u200b\u200b\u200b\n\u200b\n",  # zero-width spaces
        "\u200c\u200d\u2060\ufeff\u00ad\n\n\u2063\n",  # joiners, word joiner, soft hyphen
        "\u3000\u00a0\u2028 \u200b.\n",  # odd spaces and a dot
    ],
)
def test_an_article_without_letters_or_digits_is_empty(text: str) -> None:
    assert parse_error(text, "blank.txt") == "blank.txt: is empty"


def test_front_matter_over_invisible_text_leaves_nothing_to_read() -> None:
    message = parse_error("---\ntitle: Ghost\n---\n\u200b\u200b\n\n\u200b\n", "ghost.md")
    assert "nothing to read aloud" in message


def test_a_number_alone_is_text() -> None:
    assert texts("\u200b1984\u200b\n") == ["\u200b1984\u200b"]


# --------------------------------------------------------------------------- one input reader


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """A project with text/ and, beside it (outside the project), a folder of other files."""
    project, outside = tmp_path / "project", tmp_path / "elsewhere"
    (project / "text").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("Private notes.\n")
    return project, outside


def read_error(path: Path, project: Path | None = None) -> str:
    with pytest.raises(SourceError) as caught:
        read_article_bytes(path, project)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_a_link_out_of_the_project_is_not_followed(tree) -> None:
    project, outside = tree
    link = project / "text" / "a.txt"
    link.symlink_to(outside / "secret.txt")
    message = read_error(link, project)
    assert f"is a symbolic link to {outside / 'secret.txt'}, outside the project" in message
    # A linked folder leads out as well.
    (project / "text" / "more").symlink_to(outside, target_is_directory=True)
    assert "outside the project" in read_error(project / "text" / "more" / "secret.txt", project)


def test_a_link_inside_the_project_is_followed(tree) -> None:
    project, _ = tree
    (project / "drafts").mkdir()
    (project / "drafts" / "a.txt").write_text("Hello.\n")
    (project / "text" / "a.txt").symlink_to(project / "drafts" / "a.txt")
    assert read_article_bytes(project / "text" / "a.txt", project) == b"Hello.\n"


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tree) -> None:
    project, _ = tree
    fifo = project / "text" / "a.txt"
    os.mkfifo(fifo)
    # The old reader blocked here forever: a pytest-timeout-free way to show it is to
    # read in a thread and wait for it a long while.
    outcome: list[str] = []
    reader = threading.Thread(target=lambda: outcome.append(read_error(fifo, project)))
    reader.daemon = True
    reader.start()
    reader.join(60)
    assert outcome and "is a named pipe (FIFO), not a regular file" in outcome[0]


def test_a_device_is_refused_as_an_article_and_as_a_cover(tree) -> None:
    project, _ = tree
    (project / "text" / "zero.txt").symlink_to("/dev/zero")
    assert "is a character device, not a regular file" in read_error(project / "text" / "zero.txt")
    with pytest.raises(SourceError, match="^/dev/zero: is a character device, not a regular"):
        read_cover_bytes(Path("/dev/zero"))


def test_an_article_over_20_mb_is_refused(tree) -> None:
    project, _ = tree
    big = project / "text" / "big.txt"
    with big.open("wb") as f:
        f.truncate(20_000_001)  # sparse: costs no disk
    assert read_error(big, project).endswith(
        "is 20,000,001 bytes; an article may be at most 20 MB (20,000,000 bytes)"
    )


def test_a_cover_over_10_mb_is_refused(tmp_path: Path) -> None:
    cover = tmp_path / "cover.png"
    with cover.open("wb") as f:
        f.truncate(10_000_001)
    with pytest.raises(
        SourceError, match=r"cover.png: is 10,000,001 bytes; a cover image may be at most 10 MB"
    ):
        read_cover_bytes(cover)


# --------------------------------------------------------------------------- the command line


def _one_line_error(result, *words: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.integration
def test_build_refuses_a_named_pipe_article_at_once(project: Path) -> None:
    os.mkfifo(project / "text" / "a.txt")
    # The timeout only stops a hang (the old build waited on the pipe forever).
    result = run_cli("build", "text/a.txt", "--format", "vtt", cwd=project, timeout=300)
    _one_line_error(result, "text/a.txt: is a named pipe (FIFO), not a regular file")


@pytest.mark.integration
def test_build_refuses_a_named_pipe_cover_at_once(project: Path) -> None:
    os.mkfifo(project / "cover.png")
    result = run_cli("build", "--cover", "cover.png", "--format", "mp3", cwd=project, timeout=300)
    _one_line_error(result, "cover.png: is a named pipe (FIFO), not a regular file")


@pytest.mark.integration
def test_build_does_not_publish_a_file_linked_from_outside(project: Path, tmp_path_factory) -> None:
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.txt"
    secret.write_text("The neighbour's private notes.\n")
    (project / "text" / "leak.txt").symlink_to(secret)
    result = run_cli("build", "text/leak.txt", "--format", "vtt", cwd=project)
    _one_line_error(result, "text/leak.txt: is a symbolic link to", "outside the project")
    assert not (project / "audio" / "leak.vtt").exists()


@pytest.mark.integration
def test_build_refuses_an_article_of_zero_width_spaces(project: Path) -> None:
    (project / "text" / "zw.txt").write_text("\u200b" * 50 + "\n")
    result = run_cli("build", "text/zw.txt", "--format", "vtt", cwd=project)
    _one_line_error(result, "text/zw.txt: is empty")
    assert not (project / "audio" / "zw.vtt").exists()


# --------------------------------------------------------------------------- long headings


def _lay_out(settings, article):
    """The manifest of ``article`` as a build would lay it out, with made-up clips (clip
    n lasts 1000 + n samples): no speech needed to check where things are."""
    from audio_edition.cache import ClipInfo
    from audio_edition.edition import Loudness, Voice
    from audio_edition.layout import Layout, plan
    from audio_edition.loudness import ClipLoudness
    from audio_edition.manifest import build_manifest
    from audio_edition.script import utterance_script

    items = utterance_script(article, settings)
    keys = [f"{n:064x}" for n in range(len(items))]
    clips = [ClipInfo(k, 1000 + n, ClipLoudness((1e-3,), -20.0)) for n, k in enumerate(keys)]
    segments = Layout(None, settings).lay_out(items, plan(items, keys), clips)
    voice = Voice("v", "V", "engine", 175, 1.0, 50)
    loudness = Loudness(-18.0, None, -1.5)
    return items, build_manifest(article, segments, voice, loudness, article.path.name).to_json()


def test_a_long_heading_and_announcement_are_spoken_in_parts_and_listed_once() -> None:
    heading = " ".join(f"Part {n} of the heading, which goes on" for n in range(120))
    article = parse_article(f"# {heading}\n\nOne sentence.\n", Path("a.md"))
    settings = Settings(opening="{title}. Read by a machine.", closing=None)
    items, manifest = _lay_out(settings, article)

    headings = [i for i in items if i.role == "heading"]
    opening = [i for i in items if i.role == "announcement"]
    # Like an over-long sentence: several utterances, each short enough for the engine.
    assert len(headings) > 1 and len(opening) > 1
    assert all(len(i.text) <= MAX_SENTENCE_CHARS for i in headings + opening)
    assert " ".join(i.text for i in headings) == heading
    assert headings[-1].label == "a.md: paragraph 1 (line 1), heading, part " + str(len(headings))

    # The manifest still lists one heading, spanning every part, pauses between them.
    para = manifest["paragraphs"][0]
    assert para["heading"] == heading
    parts = sum(1000 + n for n, i in enumerate(items) if i.role == "heading")
    gaps = (len(headings) - 1) * settings.pauses.sentence_ms
    span = para["heading_end_ms"] - para["heading_start_ms"]
    assert abs(span - (samples_to_ms(parts) + gaps)) <= 1
    assert para["sentences"][0]["start_ms"] >= para["heading_end_ms"]
    said = manifest["announcements"]["opening"]
    assert said["text"] == f"{heading}. Read by a machine."
    assert said["end_ms"] - said["start_ms"] >= samples_to_ms(1000 * len(opening))


def test_a_link_loop_is_one_line(tree) -> None:
    project, _ = tree
    loop = project / "text" / "loop.txt"
    loop.symlink_to("loop.txt")
    assert "cannot read:" in read_error(loop, project)


def test_an_invisible_paragraph_or_heading_among_text_is_skipped() -> None:
    article = parse_article(
        "First.\n\n\u200b\u200b\n\n# \u200b\n\nLast.\n\n# \u2060\n\n\u200b Tail.\n", Path("a.md")
    )
    assert [(p.heading, p.text) for p in article.paragraphs] == [
        (None, "First."),
        (None, "Last."),
        (None, "\u200b Tail."),
    ]
