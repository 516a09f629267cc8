"""The editor's pronunciation tools: the words to check, and saying a text to try it.

``audio-edition words`` lists, per article, the words an editor should check: those
neither in the CMU pronouncing dictionary (through ``pronouncing``) nor in the lexicon,
with how often and on which lines they occur and how the engine will say them (IPA). The
words are those the edition speaks (``source``: no link targets, no image sources), less
Markdown's code, and less whatever the lexicon or text normalisation says otherwise than
written ("$3.2m", "NATO" when the lexicon lists it): ``spoken.spoken_text`` marks those.

``audio-edition say`` speaks a word or a sentence as a build would (the project's lexicon
and normalisation applied) into a file or to the speakers, to try a respelling before
committing it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from .build import engine_name, find_articles
from .config import Settings, load_settings
from .engines import default_engine
from .errors import SourceError, SynthesisError, ToolMissingError, UsageError
from .files import atomic_write_bytes, project_relative, read_article_bytes
from .lexicon import Lexicon, article_lexicon, project_lexicon
from .normalise import Guess, acronym_said, normalise
from .source import MAX_SENTENCE_CHARS, Article, article_from_bytes, collapse_ws
from .speech import SpeechEngine, Utterance, VoiceSettings, engine_phonemes
from .spoken import SpokenText, spoken_text
from .synthesis import voice_for

# A word: letters, with apostrophes inside ("don't", "Pakistan’s"); hyphens part words.
# Letters touching digits or underscores ("4G", "snake_case") are not words to check.
WORD = re.compile(r"\b[^\W\d_]+(?:['’][^\W\d_]+)*\b")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)

SAY_FORMATS = {".wav": "wav", ".mp3": "mp3", ".ogg": "ogg"}


@dataclass(frozen=True)
class UnknownWord:
    """A word to check: as most often written, how often, on which lines, and its IPA.
    An acronym whose reading normalisation guessed has it: "word" or "letters"."""

    word: str
    count: int
    lines: tuple[int, ...]
    ipa: str | None = None
    reading: str | None = None

    def said(self) -> str:
        """What the engine is given for it."""
        return acronym_said(self.word, self.reading) if self.reading else self.word


@dataclass(frozen=True)
class ArticleWords:
    """One article's words to check, most frequent first. ``checked`` is False for a
    language without a pronouncing dictionary (only English has one)."""

    source: str
    language: str
    engine: str
    words: tuple[UnknownWord, ...]
    checked: bool = True

    def to_json(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------- the words to check


@cache
def _dictionary() -> dict:
    import pronouncing  # the CMU dictionary, 126,000 words: loaded only when asked

    pronouncing.init_cmu()
    return pronouncing.lookup


def in_dictionary(word: str) -> bool:
    """Whether the CMU pronouncing dictionary has ``word`` (or it without a possessive)."""
    key = word.lower().replace("’", "'")
    return key in _dictionary() or _POSSESSIVE.sub("", key) in _dictionary()


def has_dictionary(language: str) -> bool:
    return language.lower().replace("_", "-").split("-")[0] == "en"


def unknown_words(article: Article, lines: Sequence[str], lexicon: Lexicon) -> list[UnknownWord]:
    """The article's words neither the dictionary nor ``lexicon`` knows (no IPA yet), most
    frequent first, then in reading order. ``lines`` are the file's lines, for the line
    numbers."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    where: dict[str, set[int]] = {}
    readings: dict[str, str | None] = {}
    for text, first, last in _spoken_texts(article, lines):
        for word, reading in _words_to_check(text, lexicon, article.language):
            key = word if reading else word.casefold()  # "AIDS" is not "aids"
            readings[key] = reading
            counts[key] += 1
            forms.setdefault(key, Counter())[word] += 1
            where.setdefault(key, set()).update(_lines_of(word, lines, first, last))
    order = {key: n for n, key in enumerate(counts)}  # dicts keep the reading order
    return [
        UnknownWord(
            forms[key].most_common(1)[0][0],
            counts[key],
            tuple(sorted(where[key])),
            reading=readings[key],
        )
        for key in sorted(counts, key=lambda k: (-counts[k], order[k]))
    ]


def _words_to_check(text: str, lexicon: Lexicon, language: str) -> Iterator[tuple[str, str | None]]:
    """The words of ``text`` said as written that neither the dictionary nor the lexicon
    knows, without a possessive ending ("Gwadar's" is Gwadar); and the acronyms read as
    normalisation guessed ("USAID" as a word), with that reading."""
    said = spoken_text(text, lexicon, None, language)
    taken = [(s.start, s.end) for s in said.spans]  # the lexicon's and normalisation's
    for m in WORD.finditer(text):
        if any(m.start() < end and start < m.end() for start, end in taken):
            continue
        word = m.group()
        if not in_dictionary(word) and not lexicon.knows(word):
            yield _POSSESSIVE.sub("", word), None
    guessed: list[Guess] = []
    normalise(text, lexicon.acronyms, language, guessed)
    for guess in guessed:
        if not lexicon.matches(guess.acronym):  # an entry says it otherwise
            yield guess.acronym, guess.reading


def _spoken_texts(article: Article, lines: Sequence[str]) -> Iterator[tuple[str, int, int]]:
    """Each text the edition says, with the first and last line of the file it can be on:
    the front matter's title, author and publisher, then every heading and sentence."""
    paragraphs = article.paragraphs
    body = paragraphs[0].line if paragraphs else len(lines) + 1
    for meta in (article.title, article.author, article.publisher):
        # Only when the file has it (a title made from the file's name has no line).
        if meta and any(meta in line for line in lines[: body - 1]):
            yield meta, 1, body - 1
    for n, p in enumerate(paragraphs):
        last = paragraphs[n + 1].line - 1 if n + 1 < len(paragraphs) else len(lines)
        for text in ([p.heading] if p.heading else []) + list(p.sentences):
            yield text, p.line, max(p.line, last)


def _lines_of(word: str, lines: Sequence[str], first: int, last: int) -> set[int]:
    """The lines from ``first`` to ``last`` (from 1) the word is on, else ``first``."""
    pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
    found = {n for n in range(first, last + 1) if pattern.search(lines[n - 1])}
    return found or {first}


def words_report(
    paths: Sequence[Path] = (),
    project: Path = Path(),
    settings: Settings | None = None,
    engine: SpeechEngine | None = None,
) -> list[ArticleWords]:
    """The words to check in each article (default: every article in text/), with the IPA
    of the engine each would be built with (one phonemiser process per article)."""
    settings = settings or load_settings(project)
    lexicon = project_lexicon(project, settings)
    engines: dict[str, SpeechEngine] = {}
    reports = []
    for path in find_articles(paths, project):
        data = read_article_bytes(path, project)
        article = _without_code(data, path)
        name = engine_name(settings, article)
        if engine is None and name not in engines:
            engines[name] = default_engine(name)
        speaker = engine or engines[name]
        checked = has_dictionary(article.language)
        found = []
        if checked:
            lexicon_here = lexicon.with_entries(article_lexicon(article))
            found = unknown_words(article, _lines(data), lexicon_here)
        # The voice is settled only for words to say: a language no voice speaks has none.
        words = _with_ipa(found, speaker, voice_for(article, settings, speaker)) if found else ()
        reports.append(
            ArticleWords(
                project_relative(path, project), article.language, speaker.name, words, checked
            )
        )
    return reports


def _lines(data: bytes) -> list[str]:
    """The file's lines as ``source`` counts them (it has parsed the file: it decodes)."""
    text = data.decode("utf-8").removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _without_code(data: bytes, path: Path) -> Article:
    """The article without Markdown's code; one that is only code has no words (and one
    that cannot be built at all fails as the build would)."""
    try:
        return article_from_bytes(data, path, code=False)
    except SourceError:
        return replace(article_from_bytes(data, path), paragraphs=())


def _with_ipa(
    words: list[UnknownWord], engine: SpeechEngine, voice: VoiceSettings
) -> tuple[UnknownWord, ...]:
    """The words with the IPA the engine says them with, in the article's voice."""
    said = engine_phonemes(engine, "\n".join(w.said() for w in words), voice)
    if said is None:
        return tuple(words)
    return tuple(
        replace(w, ipa=ipa or None) for w, ipa in zip(words, said.split("\n"), strict=True)
    )


def lexicon_lines(reports: Sequence[ArticleWords]) -> list[str]:
    """The words to check as lines of pronunciations.toml, one per word across the
    articles: the respelling to edit (the word as written, for now), what the engine says
    and where the word is, as a comment."""
    merged: dict[str, list] = {}
    for report in reports:
        for w in report.words:
            key = w.word if w.reading else w.word.casefold()
            entry = merged.setdefault(key, [w, 0, []])
            entry[1] += w.count
            entry[2].append(f"{report.source}:{','.join(map(str, w.lines))}")
    words, acronyms = [], []
    for w, count, places in sorted(merged.values(), key=lambda e: -e[1]):
        ipa = f"says /{w.ipa}/; " if w.ipa else ""
        times = "once" if count == 1 else f"{count} times"
        value = w.reading or w.word  # an acronym: "word" or "letters", to keep or change
        line = f"{_toml_key(w.word)} = {_toml_string(value)}  # {ipa}{times}: {' '.join(places)}"
        (acronyms if w.reading else words).append(line)
    # TOML: the table of acronyms after the entries, which are top-level keys.
    if acronyms:
        words += [""] * bool(words) + ["[acronyms]", *acronyms]
    return words


def _toml_key(word: str) -> str:
    return word if re.fullmatch(r"[A-Za-z0-9_-]+", word) else _toml_string(word)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------- say


@dataclass(frozen=True)
class Said:
    """What ``say`` spoke: the text as written and as the engine was given it, its IPA
    (None when the engine has no phonemes), and the file written (None when played)."""

    spoken: SpokenText
    ipa: str | None
    out: Path | None


def say(
    text: str,
    out: Path | None = None,
    project: Path = Path(),
    settings: Settings | None = None,
    engine: SpeechEngine | None = None,
    language: str = "en",
) -> Said:
    """Speak ``text`` (a word or a sentence) as a build would, with the project's lexicon
    and normalisation: into ``out`` (.wav, .mp3 or .ogg, written whole or not at all), or
    to the speakers with ffplay when ``out`` is None."""
    text = collapse_ws(text)
    if not WORD.search(text) and not any(c.isdigit() for c in text):
        raise UsageError("say: give a word or a sentence to speak")
    if len(text) > MAX_SENTENCE_CHARS:
        raise UsageError(f"say: at most {MAX_SENTENCE_CHARS} characters (a word or a sentence)")
    if out is not None and Path(out).suffix.lower() not in SAY_FORMATS:
        raise UsageError(f"{out}: say writes {', '.join(SAY_FORMATS)} files (by the name's end)")
    settings = settings or load_settings(project)
    engine = engine or default_engine(engine_name(settings))
    markup = getattr(engine, "phoneme_markup", None)
    spoken = spoken_text(text, project_lexicon(project, settings).checked(markup), markup, language)
    # voice_for reads only these of an article: the settings and flags, and the language.
    voice = voice_for(SimpleNamespace(speech={}, language=language, path=None), settings, engine)
    with tempfile.TemporaryDirectory(prefix="audio-edition-say-") as tmp:
        wav = Path(tmp) / "say.wav"
        for _ in engine.synthesize([(Utterance(spoken.text, voice, "say"), wav)], jobs=1):
            pass
        if out is None:
            play(wav)
        else:
            _export(wav, Path(out))
    return Said(spoken, engine_phonemes(engine, spoken.text, voice), out)


def _export(wav: Path, out: Path) -> None:
    """The clip as ``out``'s format, written atomically (the old file stays on failure)."""
    import io

    from pydub import AudioSegment

    kind = SAY_FORMATS[out.suffix.lower()]
    buffer = io.BytesIO()
    try:
        AudioSegment.from_wav(wav).export(buffer, format=kind)
    except Exception as exc:  # pydub runs ffmpeg for mp3 and ogg
        raise SynthesisError(f"{out}: could not encode the {kind} ({_first_line(exc)})") from exc
    try:
        atomic_write_bytes(out, buffer.getvalue())
    except OSError as exc:  # a folder of that name, no permission, a full disk
        raise UsageError(f"{out}: cannot be written ({exc.strerror or exc})") from None


def play(wav: Path) -> None:
    """Play a clip with ffplay (from ffmpeg); a one-line error when it cannot."""
    if shutil.which("ffplay") is None:
        raise ToolMissingError(
            "ffplay is not installed, so say cannot play: `sudo apt-get install ffmpeg`, "
            "or write a file with --out FILE"
        )
    run = subprocess.run(
        ["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", str(wav)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    # ffplay exits 0 when it finds no audio device: its message is the sign.
    failed = [line.strip() for line in run.stderr.splitlines() if _NO_PLAY.search(line)]
    if run.returncode != 0 or failed:
        why = failed[0] if failed else _last_line(run.stderr) or f"exit {run.returncode}"
        raise ToolMissingError(
            f"ffplay could not play the audio (is there an audio device?): {why}; "
            "write a file with --out FILE instead"
        )


_NO_PLAY = re.compile(r"audio open failed|Failed to open|Could not initialize SDL", re.I)


def _last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


def _first_line(text: object) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")
