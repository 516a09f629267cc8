"""Hostile input (issue 8): front matter bombs, files that are not regular files inside the
project, raw HTML that hides text, invisible articles, over-long headings. Unit tier: no
speech, no audio."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio_edition.errors import SourceError
from audio_edition.source import parse_article


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
