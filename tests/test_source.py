"""Reading articles into paragraphs and sentences (fast unit tier: no speech, no audio)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio_edition.errors import SourceError
from audio_edition.source import (
    MAX_SENTENCE_CHARS,
    Article,
    collapse_ws,
    parse_article,
    read_article,
    slugify,
    split_sentences,
)

SAMPLE = Path(__file__).resolve().parent.parent / "text" / "gwadar-editorial.txt"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def texts(article: Article) -> list[str]:
    return [p.text for p in article.paragraphs]


def source_error(path: Path) -> str:
    """Read path expecting a SourceError; check it is one line naming the file."""
    with pytest.raises(SourceError) as caught:
        read_article(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# --------------------------------------------------------------------------- the sample


def test_sample_editorial_has_one_paragraph_per_line() -> None:
    article = read_article(SAMPLE)
    # The file has 11 non-empty lines (then a trailing blank line): one paragraph each.
    assert len(article.paragraphs) == 11
    assert [p.line for p in article.paragraphs] == list(range(1, 12))
    assert article.title == "Gwadar editorial"
    assert article.slug == "gwadar-editorial"
    assert article.language == "en"
    assert article.author is None and article.date is None and article.speech == {}


def test_sample_editorial_sentences_keep_typographic_apostrophes() -> None:
    first = read_article(SAMPLE).paragraphs[0]
    assert first.heading is None and first.heading_level is None
    assert first.sentences[0].startswith("The bloodshed in Gwadar")
    assert "Pakistan’s" in first.sentences[0]
    assert first.sentences[1].startswith("Five men, three women")
    assert len(first.sentences) == 5


def test_every_paragraph_is_exactly_its_sentences_joined() -> None:
    for paragraph in read_article(SAMPLE).paragraphs:
        assert " ".join(paragraph.sentences) == paragraph.text
        assert all(len(s) <= MAX_SENTENCE_CHARS for s in paragraph.sentences)


# --------------------------------------------------------------------------- plain text


def test_blank_line_separated_text_joins_soft_wrapped_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "wrapped.txt",
        "The first paragraph is\nwrapped over   three\nlines.\n\n\n"
        "The second one\nis wrapped too.\n",
    )
    article = read_article(path)
    assert texts(article) == [
        "The first paragraph is wrapped over three lines.",
        "The second one is wrapped too.",
    ]
    assert [p.line for p in article.paragraphs] == [1, 6]


def test_text_without_blank_lines_has_one_paragraph_per_line(tmp_path: Path) -> None:
    # Leading and trailing blank lines separate nothing, so they do not switch to blocks.
    path = write(tmp_path, "lines.txt", "\n\nOne line.\nTwo line.\nThree line.\n\n")
    article = read_article(path)
    assert texts(article) == ["One line.", "Two line.", "Three line."]
    assert [p.line for p in article.paragraphs] == [3, 4, 5]


def test_a_whitespace_only_line_counts_as_blank(tmp_path: Path) -> None:
    path = write(tmp_path, "blocks.txt", "One line.\nTwo line.\n   \nThree line.\n")
    assert texts(read_article(path)) == ["One line. Two line.", "Three line."]


def test_title_line_then_unwrapped_paragraph_lines_stay_separate(tmp_path: Path) -> None:
    long_a = "Alpha sentence number one. " * 10
    long_b = "Beta sentence number two. " * 10
    path = write(tmp_path, "titled.txt", f"A title\n\n{long_a}\n{long_b}\n")
    assert texts(read_article(path)) == ["A title", long_a.strip(), long_b.strip()]


def test_markup_in_plain_text_is_kept_literally(tmp_path: Path) -> None:
    raw = "<speak>Hello</speak> &amp; <b>bold</b> *not emphasis* # not a heading"
    path = write(tmp_path, "markup.txt", raw + "\n")
    (paragraph,) = read_article(path).paragraphs
    assert paragraph.text == raw
    assert paragraph.heading is None


def test_text_line_numbers_count_front_matter(tmp_path: Path) -> None:
    per_line = write(tmp_path, "a.txt", "---\ntitle: T\n---\nFirst.\nSecond.\n")
    assert [p.line for p in read_article(per_line).paragraphs] == [4, 5]
    blocks = write(tmp_path, "b.txt", "---\ntitle: T\n---\n\nFirst\nwrapped.\n\nSecond.\n")
    assert [p.line for p in read_article(blocks).paragraphs] == [5, 8]


def test_windows_and_old_mac_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path, "crlf.txt", b"Para one\r\nwrapped.\r\n\r\nPara two.\rStill two.\r")
    article = read_article(path)
    assert texts(article) == ["Para one wrapped.", "Para two. Still two."]
    assert [p.line for p in article.paragraphs] == [1, 4]


def test_text_is_normalised_to_nfc(tmp_path: Path) -> None:
    path = write(tmp_path, "nfc.txt", "Cafe\u0301 au lait.\n")
    assert read_article(path).paragraphs[0].text == "Caf\u00e9 au lait."


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.txt", b"\xef\xbb\xbfHello there.\n")
    assert texts(read_article(path)) == ["Hello there."]
    assert parse_article("\ufeffHi.", Path("x.txt")).paragraphs[0].text == "Hi."


def test_stray_control_characters_are_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, "ctl.txt", "Page\x0cbreak and a bell\x07 here.\n")
    assert texts(read_article(path)) == ["Page break and a bell here."]


# --------------------------------------------------------------------------- sentences


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Mr. Smith and Dr. Jones met in the U.S. capital. "
        "They walked down St. James Street to No. 10 Downing Street. Then they left."
    )
    assert split_sentences(text) == [
        "Mr. Smith and Dr. Jones met in the U.S. capital.",
        "They walked down St. James Street to No. 10 Downing Street.",
        "Then they left.",
    ]


def test_questions_exclamations_and_quotes_end_sentences() -> None:
    assert split_sentences("He said “Stop.” Then he left! Did he?  Yes.") == [
        "He said “Stop.”",
        "Then he left!",
        "Did he?",
        "Yes.",
    ]


def test_unknown_or_regional_language_falls_back_sensibly() -> None:
    assert split_sentences("Hello there. General Kenobi.", "xx") == [
        "Hello there.",
        "General Kenobi.",
    ]
    assert split_sentences("Der Hund bellt z. B. laut. Dann schläft er.", "de-DE") == [
        "Der Hund bellt z. B. laut.",
        "Dann schläft er.",
    ]


def test_empty_and_whitespace_text_has_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []


def test_long_sentence_is_split_at_clause_boundaries_first() -> None:
    clause = "the committee met again to discuss the matter at some length"
    sentence = "; ".join([clause] * 12) + "."
    pieces = split_sentences(sentence)
    assert len(pieces) > 1
    assert " ".join(pieces) == sentence
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert all(p.endswith(";") for p in pieces[:-1])


def test_giant_word_is_hard_cut() -> None:
    word = "x" * (MAX_SENTENCE_CHARS * 2 + 5)
    pieces = split_sentences(f"Before. {word} after.")
    assert pieces[0] == "Before."
    assert all(0 < len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert "".join(pieces).replace(" ", "") == f"Before.{word}after."


def test_huge_paragraph_without_newline_or_full_stop_is_fast(tmp_path: Path) -> None:
    words = [f"word{i % 97}," if i % 11 == 0 else f"word{i % 89}" for i in range(20_000)]
    text = " ".join(words)
    text = text[:100_000]
    assert len(text) == 100_000
    path = write(tmp_path, "huge.txt", text)
    started = time.perf_counter()
    (paragraph,) = read_article(path).paragraphs
    assert time.perf_counter() - started < 5  # well under a second in practice
    assert paragraph.text == collapse_ws(text)
    assert all(0 < len(s) <= MAX_SENTENCE_CHARS for s in paragraph.sentences)


def test_huge_paragraph_of_many_sentences_keeps_every_sentence() -> None:
    sentences = [f"Sentence number {i} is here." for i in range(4000)]
    assert split_sentences(" ".join(sentences)) == sentences


# --------------------------------------------------------------------------- properties

WORDS = st.sampled_from(
    [
        "Mr.",
        "Dr.",
        "U.S.",
        "St.",
        "No.",
        "e.g.",
        "Hello",
        "world.",
        "Why?",
        "Yes!",
        "...",
        "…",
        "—",
        "–",
        ";",
        ":",
        ",",
        "(a)",
        "1.5",
        "“quote.”",
        "'q'",
        "\n",
        "\t",
        "  ",
        ".",
        "?!",
        "a",
    ]
)
PUNCTUATION_HEAVY = st.one_of(
    st.lists(WORDS, max_size=300).map(" ".join),
    st.lists(WORDS, max_size=300).map("".join),
    st.text(alphabet=" .!?;:,—–()\"'…\n\tabcMrDUS1", max_size=1500),
)


def check_split(text: str) -> None:
    pieces = split_sentences(text)
    assert all(pieces), "no empty sentence"
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert all(p == p.strip() for p in pieces)
    if all(len(word) <= MAX_SENTENCE_CHARS for word in text.split()):
        assert " ".join(pieces) == collapse_ws(text)
    else:  # a giant word was hard-cut: still nothing lost, duplicated or reordered
        assert "".join("".join(pieces).split()) == "".join(text.split())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=800))
def test_split_never_loses_duplicates_or_reorders_arbitrary_text(text: str) -> None:
    check_split(text)


@settings(max_examples=300, deadline=None)
@given(PUNCTUATION_HEAVY)
def test_split_never_loses_duplicates_or_reorders_punctuation_heavy_text(text: str) -> None:
    check_split(text)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.text(alphabet="abcdefghij.,;—", min_size=1, max_size=500),
        min_size=1,
        max_size=40,
    ).map(" ".join)
)
def test_split_keeps_long_text_within_the_limit(text: str) -> None:
    check_split(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["en", "de", "fr", "ja", "zh", "xx", "EN-us"]))
def test_split_holds_in_every_language(text: str, language: str) -> None:
    pieces = split_sentences(text, language)
    assert all(0 < len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    assert " ".join(pieces) == collapse_ws(text)


# --------------------------------------------------------------------------- markdown


def md(text: str, name: str = "article.md") -> Article:
    return parse_article(text, Path(name))


def test_markdown_heading_introduces_the_next_paragraph() -> None:
    article = md("# Big news\n\nIt happened today.\n\n## Details\n\nMore here.\n")
    first, second = article.paragraphs
    assert (first.heading, first.heading_level, first.text) == ("Big news", 1, "It happened today.")
    assert (second.heading, second.heading_level, second.text) == ("Details", 2, "More here.")
    assert [first.line, second.line] == [1, 5]


def test_setext_headings_are_headings() -> None:
    article = md("Title\n=====\n\nBody.\n\nSub\n---\n\nMore.\n")
    assert [(p.heading, p.heading_level) for p in article.paragraphs] == [
        ("Title", 1),
        ("Sub", 2),
    ]


def test_heading_followed_by_heading_stands_alone() -> None:
    article = md("# Part one\n## Chapter one\n\nText.\n\n## Last words\n")
    part, chapter, last = article.paragraphs
    assert (part.heading, part.text, part.sentences) == ("Part one", "", ())
    assert (chapter.heading, chapter.heading_level, chapter.text) == ("Chapter one", 2, "Text.")
    assert (last.heading, last.text, last.sentences, last.line) == ("Last words", "", (), 6)


def test_list_items_and_block_quotes_become_paragraphs() -> None:
    article = md(
        "Intro.\n\n- First item\n- Second item\n  - Nested item\n\n"
        "1. Ordered one\n2. Ordered two\n\n> A quoted\n> remark.\n"
    )
    assert texts(article) == [
        "Intro.",
        "First item",
        "Second item",
        "Nested item",
        "Ordered one",
        "Ordered two",
        "A quoted remark.",
    ]
    assert [p.line for p in article.paragraphs] == [1, 3, 4, 5, 7, 8, 10]


def test_inline_markup_is_reduced_to_what_is_read() -> None:
    article = md(
        "Some *emphasis*, __strong__, [a link](http://x.example) and `code()`,\n"
        "<b>tagged</b> text, ![a chart](c.png) ![](decor.png) \\*escaped\\* &amp; &copy;\n"
        "hard  \nbreak <http://auto.example>.\n"
    )
    assert texts(article) == [
        "Some emphasis, strong, a link and code(), tagged text, a chart *escaped* & © "
        "hard break http://auto.example."
    ]


def test_code_blocks_are_kept_as_text() -> None:
    article = md("Before.\n\n```python\nx  =  1\nprint(x)\n```\n\n    indented   code\n")
    assert texts(article) == ["Before.", "x = 1 print(x)", "indented code"]
    assert [p.line for p in article.paragraphs] == [1, 3, 8]


def test_html_blocks_are_reduced_to_their_text() -> None:
    article = md(
        "<div class='note'>\n<p>Hi &amp; welcome</p><p>back</p>\n</div>\n\n"
        "<!-- an editor's comment -->\n\n<br/>\n\n"
        "<style>\np { color: red }\n</style>\n\nEnd.\n"
    )
    assert texts(article) == ["Hi & welcome back", "End."]


def test_thematic_breaks_and_alt_less_images_are_skipped() -> None:
    article = md("# Head\n\n***\n\n![](decor.png)\n\nBody.\n")
    assert texts(article) == ["Body."]
    assert article.paragraphs[0].heading == "Head"


def test_markdown_line_numbers_count_front_matter() -> None:
    article = md("---\ntitle: T\nauthor: A\n---\n\n# One\n\nText one.\n\nText two.\n")
    assert [(p.heading, p.line) for p in article.paragraphs] == [("One", 6), (None, 10)]


def test_markdown_extension_variants(tmp_path: Path) -> None:
    for name in ("a.md", "b.markdown", "C.MD"):
        article = read_article(write(tmp_path, name, "# Hello\n\n*World*.\n"))
        assert article.paragraphs[0].heading == "Hello"
        assert texts(article) == ["World."]


# --------------------------------------------------------------------------- metadata


def test_front_matter_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Meta Data.md",
        "---\ntitle: The Real Title\nauthor: Jane Doe\npublisher: The Paper\n"
        "date: 2024-05-01\nlang: ur\nunknown: ignored\n"
        "speech:\n  voice: en-gb\n  rate: 170\n---\n# Heading\n\nBody.\n",
    )
    article = read_article(path)
    assert article.path == path
    assert article.slug == "meta-data"
    assert article.title == "The Real Title"
    assert article.author == "Jane Doe"
    assert article.publisher == "The Paper"
    assert article.date == "2024-05-01"
    assert article.language == "ur"
    assert article.speech == {"voice": "en-gb", "rate": 170}
    assert article.paragraphs[0].heading == "Heading"


def test_front_matter_in_plain_text_and_dots_terminator() -> None:
    article = parse_article(
        "---\ntitle: Plain\nlanguage: de\ndate: 'May 2024'\n...\nText.\n", Path("p.txt")
    )
    assert (article.title, article.language, article.date) == ("Plain", "de", "May 2024")
    assert texts(article) == ["Text."]


def test_several_authors_are_listed() -> None:
    article = parse_article("---\nauthor: [Ann, Bob]\n---\nText.\n", Path("p.txt"))
    assert article.author == "Ann, Bob"


def test_title_falls_back_to_first_heading_then_file_name() -> None:
    assert md("Intro.\n\n## First heading\n\nText.\n\n# Second\n").title == "First heading"
    assert md("Just text.\n", "my_great-article.md").title == "My great article"
    assert parse_article("# not a heading\n", Path("gwadar-editorial.txt")).title == (
        "Gwadar editorial"
    )


def test_first_heading_is_both_title_and_paragraph_heading() -> None:
    article = md("# The Title\n\nText.\n")
    assert article.title == "The Title"
    assert article.paragraphs[0].heading == "The Title"


def test_slug_is_lowercase_with_dashes_and_keeps_other_scripts() -> None:
    assert parse_article("x", Path("dir/My Report (2024)!.txt")).slug == "my-report-2024"
    assert parse_article("x", Path("Café--Noir.txt")).slug == "cafe-noir"
    assert slugify("Gwadar Editorial!") == "gwadar-editorial"
    # Articles named in other scripts keep their names (they all became "article" before).
    assert slugify("日本語") == "日本語"
    assert slugify("مقالہ اول") == "مقالہ-اول"
    assert slugify("हिन्दी लेख") == "हिन्दी-लेख"  # vowel signs are kept, not split off
    assert slugify("!!!") == "article"  # nothing left: still a usable name


def test_unclosed_front_matter_is_just_text() -> None:
    article = parse_article("---\nNot front matter.\n", Path("x.txt"))
    assert texts(article) == ["---", "Not front matter."]


# --------------------------------------------------------------------------- bad input


def test_invalid_utf8_names_the_byte(tmp_path: Path) -> None:
    message = source_error(write(tmp_path, "bad.txt", b"Hello\nw\xf6rld\n"))
    assert "not valid UTF-8 (byte 7)" in message
    with_bom = source_error(write(tmp_path, "bom.txt", b"\xef\xbb\xbfab\xff"))
    assert "(byte 5)" in with_bom


def test_binary_files_are_refused(tmp_path: Path) -> None:
    nul = source_error(write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert "looks like a binary file, not text" in nul
    controls = source_error(write(tmp_path, "blob.md", bytes(range(1, 9)) * 50 + b"text"))
    assert "looks like a binary file, not text" in controls


@pytest.mark.parametrize("content", ["", "   \n\n\t\n", "\ufeff"])
def test_empty_files_are_refused(tmp_path: Path, content: str) -> None:
    assert source_error(write(tmp_path, "empty.txt", content)).endswith("is empty")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("only-meta.txt", "---\ntitle: Nothing else\n---\n\n"),
        ("only-meta.md", "---\ntitle: Nothing else\n---\n"),
        ("images.md", "![](a.png)\n\n![](b.png)\n\n---\n\n<!-- note -->\n"),
    ],
)
def test_files_with_nothing_to_read_are_refused(tmp_path: Path, name: str, content: str) -> None:
    assert "nothing to read aloud" in source_error(write(tmp_path, name, content))


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "yaml.md", "---\ntitle: x\nauthor: [unclosed\ndate: 1\n---\nBody.\n")
    assert "invalid YAML front matter at line 4" in source_error(path)


def test_impossible_yaml_date_is_a_source_error(tmp_path: Path) -> None:
    path = write(tmp_path, "date.md", "---\ndate: 2024-13-45\n---\nBody.\n")
    assert "invalid YAML front matter" in source_error(path)


def test_front_matter_must_be_a_mapping(tmp_path: Path) -> None:
    assert "not a mapping" in source_error(write(tmp_path, "l.txt", "---\n- a\n- b\n---\nB.\n"))
    speech = write(tmp_path, "s.txt", "---\nspeech: fast\n---\nBody.\n")
    assert "'speech' must be a mapping" in source_error(speech)


def test_missing_file_folder_and_unknown_type(tmp_path: Path) -> None:
    assert source_error(tmp_path / "nope.txt").endswith("no such file")
    assert source_error(tmp_path / "nope.docx").endswith("no such file")
    assert "is a folder" in source_error(tmp_path)
    assert "unsupported file type '.docx'" in source_error(write(tmp_path, "a.docx", "Hi."))
    assert "unsupported file type (no extension)" in source_error(write(tmp_path, "README", "Hi."))
