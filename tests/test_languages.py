"""Languages: tags to voices, an article's language from its script, clip lengths by script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audio_edition.engines.espeak import EspeakEngine
from audio_edition.errors import SourceError, UsageError
from audio_edition.source import parse_article
from audio_edition.speech import Voice, resolve_voice, voice_for_language, voices_for_language
from audio_edition.speech_pool import plausible_seconds

from .conftest import run_cli
from .test_bad_input import _fails_cleanly

# A slice of eSpeak NG 1.51's list, in its order (the first voice for a language wins).
VOICES = [
    Voice(id_, id_, (lang,), None)
    for id_, lang in [
        ("sem/ar", "ar"),
        ("iro/chr", "chr-US-Qaaa-x-west"),
        ("sit/cmn", "cmn"),
        ("sit/cmn-latn-pinyin", "cmn-latn-pinyin"),
        ("gmw/de", "de"),
        ("gmw/en-029", "en-029"),
        ("gmw/en", "en-gb"),
        ("gmw/en-gb-x-rp", "en-gb-x-rp"),
        ("gmw/en-us", "en-us"),
        ("roa/es", "es"),
        ("roa/es-419", "es-419"),
        ("roa/fr-be", "fr-be"),
        ("roa/fr", "fr-fr"),
        ("sit/hak", "hak"),
        ("sem/he", "he"),
        ("jpx/ja", "ja"),
        ("gmq/nb", "nb"),
        ("roa/pt", "pt"),
        ("roa/pt-br", "pt-br"),
        ("inc/ur", "ur"),
        ("sit/yue", "yue"),
        ("sit/yue-latn-jyutping", "yue"),
    ]
]


@pytest.mark.parametrize(
    ("tag", "voice"),
    [
        ("ja", "jpx/ja"),
        ("ja-JP", "jpx/ja"),
        ("ur", "inc/ur"),
        ("ur-PK", "inc/ur"),
        ("zh", "sit/cmn"),
        ("zh-Hans", "sit/cmn"),
        ("zh-CN", "sit/cmn"),
        ("zh_TW", "sit/cmn"),
        ("zh-Hant-TW", "sit/cmn"),
        ("cmn", "sit/cmn"),
        ("zh-HK", "sit/yue"),
        ("zh-Hant-HK", "sit/yue"),
        ("zh-yue", "sit/yue"),
        ("yue", "sit/yue"),
        ("zh-hakka", "sit/hak"),
        ("en", "gmw/en-us"),
        ("EN", "gmw/en-us"),
        ("en-US", "gmw/en-us"),
        ("en-GB", "gmw/en"),
        ("en-gb-x-rp", "gmw/en-gb-x-rp"),
        ("en-AU", "gmw/en"),
        ("en-GB-oxendict", "gmw/en"),
        ("pt", "roa/pt"),
        ("pt-BR", "roa/pt-br"),
        ("pt-PT", "roa/pt"),
        ("fr", "roa/fr"),
        ("fr-CA", "roa/fr"),
        ("fr-BE", "roa/fr-be"),
        ("es-MX", "roa/es-419"),
        ("es-ES", "roa/es"),
        ("de-AT", "gmw/de"),
        ("no", "gmq/nb"),
        ("iw", "sem/he"),
        ("chr", "iro/chr"),
        (" ar ", "sem/ar"),
    ],
)
def test_a_language_tag_finds_its_voice(tag: str, voice: str) -> None:
    assert voice_for_language(VOICES, tag) == voice


@pytest.mark.parametrize("tag", ["xx", "und", "", "日本語", "e"])
def test_a_language_no_voice_speaks_finds_none(tag: str) -> None:
    assert voice_for_language(VOICES, tag) is None


class _Engine:
    def voices(self) -> list[Voice]:
        return VOICES


def test_no_voice_for_the_language_is_one_line_naming_the_article_and_the_ways_out() -> None:
    with pytest.raises(SourceError) as err:
        resolve_voice(_Engine(), None, "xx", Path("text/a.md"))
    message = str(err.value)
    assert message.startswith("text/a.md: ") and "'xx'" in message and "\n" not in message
    assert "--voice" in message and "speech: voice:" in message
    assert "audio-edition voices --language" in message
    assert err.value.exit_code == 1


def test_an_explicit_voice_wins_over_the_language() -> None:
    assert resolve_voice(_Engine(), "jpx/ja", "xx", Path("a.md")) == "jpx/ja"
    assert resolve_voice(_Engine(), "gmw/en-us", "zh", Path("a.md")) == "gmw/en-us"
    with pytest.raises(UsageError):
        resolve_voice(_Engine(), "jpx/jp", "ja", Path("a.md"))


def test_the_voices_listed_for_a_language_include_its_alias() -> None:
    ids = lambda tag: [v.id for v in voices_for_language(VOICES, tag)]  # noqa: E731
    assert ids("zh") == ["sit/cmn", "sit/cmn-latn-pinyin"]
    assert ids("zh-HK") == ["sit/yue", "sit/yue-latn-jyutping"]
    assert ids("en-GB") == ["gmw/en", "gmw/en-gb-x-rp"]
    assert "gmw/en-us" in ids("en") and "gmw/en-029" in ids("en")
    assert ids("xx") == []


# --------------------------------------------------------------------------- script


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("The harbour was quiet at dawn.", "en"),
        ("Café au lait, s’il vous plaît, à Zürich.", "en"),  # Latin: English, as before
        ("今日は東京で会議があります。明日は大阪です。", "ja"),
        ("東京都知事選挙の結果が発表され、新知事が記者会見で経済政策を説明した。", "ja"),
        ("今天天气很好，我们去公园散步吧。", "zh"),
        ("오늘은 날씨가 아주 좋아서 공원에 산책하러 갔습니다.", "ko"),
        ("Σήμερα ο καιρός είναι πολύ καλός.", "el"),
        ("The attack on Gwadar (گوادر) was condemned by everyone in the city.", "en"),
        ("2024: 1,234 — …", "en"),
    ],
)
def test_without_front_matter_the_language_follows_the_script(text: str, language: str) -> None:
    assert parse_article(text, Path("a.txt")).language == language


@pytest.mark.parametrize(
    ("text", "script"),
    [
        ("آج موسم بہت اچھا ہے اور ہم پارک میں سیر کرنے جا رہے ہیں۔", "Arabic script"),
        ("Сегодня хорошая погода, и мы идём гулять в парк.", "Cyrillic script"),
        ("आज मौसम बहुत अच्छा है।", "Devanagari script"),
        ("བཀྲ་ཤིས་བདེ་ལེགས།", "Tibetan script"),
    ],
)
def test_a_script_several_languages_share_asks_for_the_language(text: str, script: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_article(text, Path("text/a.txt"))
    message = str(err.value)
    assert message.startswith("text/a.txt: ") and script in message and "\n" not in message
    assert "language:" in message and "front matter" in message


def test_the_language_comes_from_what_is_read_not_from_markup() -> None:
    # The link target's Latin letters outnumber the Han ones, but are never spoken.
    text = (
        "# 新闻\n\n[今天天气很好](https://example.org/news/weather/today-in-beijing-and-shanghai)\n"
    )
    assert parse_article(text, Path("a.md")).language == "zh"


def test_front_matter_language_wins_over_the_script() -> None:
    text = "---\nlanguage: ur\n---\nآج موسم بہت اچھا ہے۔\n"
    assert parse_article(text, Path("a.txt")).language == "ur"
    assert parse_article("---\nlang: ja\n---\nHello.\n", Path("a.md")).language == "ja"


# --------------------------------------------------------------------------- clip lengths

# Measured through the project's engine (pyttsx3 2.99 over eSpeak NG 1.51): voice,
# rate, text, seconds. Each must fall inside the plausible bounds, with the margin the
# bounds promise (the measured time times 1.4, and divided by 1.4, also fits).
MEASURED = [
    (
        "gmw/en-us",
        175,
        "The council met on Tuesday to discuss the new budget for the city's schools.",
        4.03,
    ),
    ("gmw/en-us", 175, "Yes.", 0.68),
    ("gmw/en-us", 80, "آج موسم بہت اچھا ہے اور ہم پارک میں سیر کرنے جا رہے ہیں۔", 71.90),
    ("gmw/en-us", 175, "آج موسم بہت اچھا ہے اور ہم پارک میں سیر کرنے جا رہے ہیں۔", 33.67),
    ("jpx/ja", 80, "東京都知事選挙の結果が発表され、新知事が記者会見で経済政策を説明した。", 53.50),
    (
        "jpx/ja",
        175,
        "東京都知事選挙の結果が発表され、新知事が記者会見で経済政策を説明した。",
        24.30,
    ),
    ("jpx/ja", 450, "わたしはきのうともだちとえいがをみにいきました。", 1.17),
    ("jpx/ja", 175, "ＡＢＣ　テスト", 4.67),
    ("jpx/ja", 80, "This is an audio edition, read by a synthetic voice.", 28.54),
    ("jpx/ja", 450, "はい。", 0.17),
    ("sit/cmn", 80, "今天天气很好，我们去公园散步吧。", 12.06),
    ("sit/cmn", 450, "是。", 0.15),
    ("sit/yue", 450, "中华人民共和国国务院今天发布了新的经济政策。", 1.94),
    ("inc/ur", 175, "آج موسم بہت اچھا ہے اور ہم پارک میں سیر کرنے جا رہے ہیں۔", 4.23),
    ("inc/ur", 450, "آج موسم بہت اچھا ہے اور ہم پارک میں سیر کرنے جا رہے ہیں۔", 1.62),
    ("zle/ru", 450, "Сегодня хорошая погода, и мы идём гулять в парк.", 1.13),
    ("inc/hi", 450, "आज मौसम बहुत अच्छा है और हम पार्क में घूमने जा रहे हैं।", 1.49),
    ("ko", 80, "오늘은 날씨가 아주 좋아서 공원에 산책하러 갔습니다.", 9.19),
    ("sem/ar", 80, "ذهبنا إلى السوق في الصباح واشترينا الخبز والفاكهة.", 10.18),
]


@pytest.mark.parametrize(("voice", "rate", "text", "seconds"), MEASURED)
def test_measured_clip_lengths_are_plausible_in_every_script(
    voice: str, rate: int, text: str, seconds: float
) -> None:
    shortest, longest = plausible_seconds(text, rate)
    assert shortest <= seconds / 1.4 and seconds * 1.4 <= longest


def test_a_clip_cut_short_or_far_too_long_is_still_implausible() -> None:
    kanji = "東京都知事選挙の結果が発表され、新知事が記者会見で経済政策を説明した。"
    english = "The council met on Tuesday to discuss the new budget for the city's schools."
    for text in (kanji, english):
        shortest, longest = plausible_seconds(text, 175)
        assert shortest > 0.1  # a stub of a clip is caught
        assert longest < 200  # as is a clip many times too long
    # English keeps the bounds it had: 0.1 to 8 times 5.5 characters a word at the rate.
    guess = len(english) / 5.5 / 175 * 60
    assert plausible_seconds(english, 175) == pytest.approx((0.1 * guess, 8 * guess + 3), 0.01)


# --------------------------------------------------------------------------- real engine


def _article(root: Path, name: str, text: str) -> Path:
    (root / "text").mkdir(exist_ok=True)
    path = root / "text" / name
    path.write_text(text, encoding="utf-8")
    return path


def _build(root: Path):
    return run_cli("build", "--format", "vtt", "--no-opening", "--no-closing", cwd=root)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("language", "sentence", "voice"),
    [
        ("ja", "東京都知事選挙の結果が発表され、新知事が記者会見で経済政策を説明した。", "jpx/ja"),
        ("zh", "今天天气很好，我们去公园散步吧。", "sit/cmn"),
    ],
)
def test_a_japanese_or_chinese_article_builds_with_its_voice(tmp_path, language, sentence, voice):
    _article(tmp_path, "news.md", f"---\ntitle: News\nlanguage: {language}\n---\n{sentence}\n")
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "audio" / "news.json").read_text())
    assert manifest["voice"]["voice"] == voice
    assert manifest["language"] == language
    assert sentence in (tmp_path / "audio" / "news.vtt").read_text()


@pytest.mark.integration
def test_a_language_no_voice_speaks_fails_in_one_line(tmp_path):
    _article(tmp_path, "news.md", "---\nlanguage: xx\n---\nHello there.\n")
    line = _fails_cleanly(_build(tmp_path), 1, "text/news.md", "'xx'", "--voice")
    assert "speech: voice:" in line
    assert not (tmp_path / "audio" / "news.vtt").exists()


@pytest.mark.integration
def test_an_urdu_article_without_front_matter_asks_for_its_language(tmp_path):
    _article(tmp_path, "gwadar.txt", "گوادر میں حملہ ہوا۔ شہر میں سوگ ہے۔\n")
    _fails_cleanly(_build(tmp_path), 1, "gwadar.txt", "Arabic script", "language:")
    assert not (tmp_path / "audio" / "gwadar.vtt").exists()
    # Said once in front matter, it builds with the Urdu voice.
    _article(
        tmp_path, "gwadar.txt", "---\nlanguage: ur\n---\nگوادر میں حملہ ہوا۔ شہر میں سوگ ہے۔\n"
    )
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "audio" / "gwadar.json").read_text())
    assert manifest["voice"]["voice"] == "inc/ur"


@pytest.mark.integration
def test_an_english_article_quoting_urdu_builds(tmp_path):
    # The English voice names the Urdu letters one by one: slow, but not a broken clip.
    _article(
        tmp_path,
        "quote.txt",
        "The governor spoke to the crowd in the harbour town this morning.\n\n"
        "آج موسم بہت اچھا ہے اور ہم پارک میں سیر کرنے جا رہے ہیں۔\n",
    )
    result = _build(tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "audio" / "quote.json").read_text())
    assert manifest["voice"]["voice"] == "gmw/en-us"


@pytest.mark.integration
def test_tags_map_to_the_installed_voices():
    engine = EspeakEngine()
    found = {tag: resolve_voice(engine, None, tag) for tag in ("ja", "zh", "zh-HK", "ur", "en")}
    assert found == {
        "ja": "jpx/ja",
        "zh": "sit/cmn",
        "zh-HK": "sit/yue",
        "ur": "inc/ur",
        "en": "gmw/en-us",
    }
    assert resolve_voice(engine, None, "en-GB") == "gmw/en"
    assert resolve_voice(engine, None, "pt-BR") == "roa/pt-br"


@pytest.mark.integration
def test_the_voices_command_lists_mandarin_for_zh(tmp_path):
    result = run_cli("voices", "--language", "zh", cwd=tmp_path)
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "sit/cmn",
        "sit/cmn-latn-pinyin",
    ]
