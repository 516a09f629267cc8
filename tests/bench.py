"""`make bench`: build speed and memory on the sample and on a generated long book.

For each book it prints, measured in the same run:
- the raw floor: eSpeak NG's own command line over the whole text, plus one ffmpeg encode
  of that WAV with the builder's AAC settings;
- the cold build of the M4B alone (`--format m4b`, empty cache), and its ratio to the floor;
- the no-change rebuild, and the one-sentence-edit rebuild (and its ratio to the cold build);
- peak memory: of the builder process (its own peak RSS), and of its whole process tree
  (workers, ffmpeg): as PSS, shared pages counted once, and as RSS summed per process.

And the editor's loop (`audio-edition serve --watch`, the page open in Chromium): from
saving a one-word edit of the sample to the open page having reloaded with the new audio,
median of 5 edits (goal < 2 s on 2 cores). `tests/bench.py loop` measures only that.

Goals: cold <= 1.0x floor on 2 cores; edit <= 0.25x cold; no change < 0.5 s; peak memory
< 200 MB for the long book and not growing with its length (compare the half book).

Then, when Piper is installed (the ``natural`` extra), the same books read by Piper
(``--engine piper``): the cold build as a multiple of real time (the edition's length over
the build's), the edit rebuild's ratio to the cold build, and the tree's peak memory.
Goals: >= 15x real time on 2 cores; edit <= 0.25x cold on the long book; tree < 1 GB.
And a batch (``tests/bench.py batch`` measures only that): 40 generated articles of about
150 words each, no clip shared between them, built by one ``build`` and by 40 separate
``build`` commands (each with its own empty cache): the wall times and their ratio (goal
<= 0.5), and how busy the cores were during the batch (CPU seconds of the whole process
tree over wall time x cores; goal >= 85%). Other programs running take cores too, so it
also prints how much of the time the batch had work for every core (threads of its
process tree running or runnable), which they do not change.

``BENCH_ENGINES`` picks the parts (``loop``, ``espeak``, ``piper``, ``batch``; default all).
Machines are noisy: these are figures to read, not limits to assert.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "text" / "gwadar-editorial.txt"
CLI = [sys.executable, "-m", "audio_edition.cli"]


def long_book(copies: int) -> str:
    """The sample repeated, every sentence made unique so the cache cannot share clips."""
    paragraphs = [p for p in SAMPLE.read_text(encoding="utf-8").splitlines() if p.strip()]
    out = []
    for k in range(1, copies + 1):
        for p in paragraphs:
            sentences = re.split(r"(?<=[.!?])\s+", p)
            out.append(" ".join(f"In part {k}, {s[0].lower()}{s[1:]}" for s in sentences))
    return "\n".join(out) + "\n"


def tree_memory(pid: int) -> tuple[int, int]:
    """Memory of a process and all its descendants, in bytes: (PSS, RSS summed).

    PSS (proportional set size) counts a page shared by several processes once in all,
    split between them: it is what the tree costs the machine. Summed RSS counts shared
    pages (ffmpeg's libraries, Python's) once per process, so it overstates the tree.
    """
    pss = rss = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
            pss += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1)) * 1024
            rss += int(re.search(r"^Rss:\s+(\d+)", rollup, re.M).group(1)) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return pss, rss


def runnable(pid: int) -> int:
    """How many threads of a process tree are running or waiting for a core (state R)."""
    count, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                stat = (task / "stat").read_text()
                count += stat[stat.rindex(")") + 2] == "R"
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return count


def run(
    args: list[str], cwd: Path, env: dict | None = None, wanted: list[int] | None = None
) -> tuple[float, int, int, int]:
    """Run a command; return (seconds, its own peak RSS, peak PSS and peak RSS of its tree).
    ``wanted`` gets, every 50 ms, how many cores the tree could use (``runnable``)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_pss = peak_rss = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_pss, peak_rss
        while not done.is_set():
            pss, rss = tree_memory(proc.pid)
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
            if wanted is not None:
                wanted.append(runnable(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"failed: {' '.join(args)}: {proc.stderr.read().decode()[-500:]}")
    return seconds, usage.ru_maxrss * 1024, peak_pss, peak_rss


def raw_floor(text_path: Path, work: Path) -> float:
    from audio_edition.encode import AAC

    wav = work / "floor.wav"
    start = time.perf_counter()
    subprocess.run(["espeak-ng", "-f", str(text_path), "-w", str(wav)], check=True)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(wav),
            *AAC.encode_args(),
            str(work / "floor.m4a"),
        ],
        check=True,
    )
    return time.perf_counter() - start


def bench(name: str, text: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="audio-edition-bench-") as tmp:
        project = Path(tmp)
        (project / "text").mkdir()
        article = project / "text" / "book.txt"
        article.write_text(text, encoding="utf-8")
        floor = raw_floor(article, project)
        build = [*CLI, "build", "--format", "m4b"]
        cold, cold_rss, cold_pss, cold_sum = run(build, project)
        run(build, project)  # settle the fast path once
        nochange, _, _, _ = run(build, project)
        edited = text.replace("daily wages", "daily pay", 1)
        assert edited != text
        article.write_text(edited, encoding="utf-8")
        edit, edit_rss, edit_pss, edit_sum = run(build, project)
        words = len(text.split())
        return {
            "name": name,
            "words": words,
            "floor": floor,
            "cold": cold,
            "nochange": nochange,
            "edit": edit,
            "rss": max(cold_rss, edit_rss),
            "pss": max(cold_pss, edit_pss),
            "rss_sum": max(cold_sum, edit_sum),
        }


# ---------------------------------------------------------------- the editor's loop

LOOP_WORDS = ("pay", "earnings", "income", "takings", "salaries")  # each edit is new text
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def editor_loop() -> tuple[list[float], list[str]]:
    """Seconds from each save to the open page reloaded with its new audio loaded, and the
    lines the watcher printed (each with its rebuild's own time)."""
    import playwright.sync_api as playwright_api

    with tempfile.TemporaryDirectory(prefix="audio-edition-bench-") as tmp:
        project = Path(tmp)
        (project / "text").mkdir()
        article = project / "text" / SAMPLE.name
        text = SAMPLE.read_text(encoding="utf-8")
        article.write_text(text, encoding="utf-8")
        (project / "audio-edition.toml").write_text('formats = ["html"]\n')  # page + MP3
        server = subprocess.Popen(
            [*CLI, "serve", "--watch"], cwd=project, stdout=subprocess.PIPE, text=True
        )
        try:
            line = ""
            while "Serving" not in line:
                line = server.stdout.readline()
                if not line:
                    raise SystemExit("serve --watch stopped")
            url = line.split(" at ")[1].split()[0] + "gwadar-editorial.html"
            with playwright_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                page = browser.new_page()
                page.goto(url)
                times = [_one_edit(page, article, text, word) for word in LOOP_WORDS]
        finally:
            server.send_signal(signal.SIGINT)
            rest, _ = server.communicate(timeout=30)
        return times, [line for line in rest.splitlines() if "re-spoken" in line]


def _one_edit(page, article: Path, text: str, word: str) -> float:
    page.evaluate("window.benchMark = true")
    start = time.perf_counter()
    article.write_text(text.replace("daily wages", f"daily {word}", 1), encoding="utf-8")
    ready = (
        "!window.benchMark && document.querySelector('.cue.changed') "
        "&& document.getElementById('audio').readyState >= 1"
    )
    while True:
        try:
            if page.evaluate(ready):
                return time.perf_counter() - start
        except Exception:  # the page is between documents: reloading
            pass
        time.sleep(0.01)


def loop_report() -> None:
    times, rebuilds = editor_loop()
    for line in rebuilds:
        print(f"  {line}")
    print(
        "editor's loop (serve --watch, sample, one-word edit -> page reloaded with new audio): "
        f"median {statistics.median(times):.2f} s of {len(times)} "
        f"({', '.join(f'{t:.2f}' for t in times)})",
        flush=True,
    )


def bench_piper(name: str, text: str) -> dict:
    """The book read by Piper: cold build, edit rebuild, the edition's length, peak memory."""
    import json

    with tempfile.TemporaryDirectory(prefix="audio-edition-bench-piper-") as tmp:
        project = Path(tmp)
        (project / "text").mkdir()
        article = project / "text" / "book.txt"
        article.write_text(text, encoding="utf-8")
        build = [*CLI, "build", "--engine", "piper", "--format", "m4b"]
        cold, _, cold_pss, cold_sum = run(build, project)
        manifest = json.loads((project / "audio" / "book.json").read_text(encoding="utf-8"))
        article.write_text(text.replace("daily wages", "daily pay", 1), encoding="utf-8")
        edit, _, edit_pss, edit_sum = run(build, project)
        return {
            "name": name,
            "audio": manifest["duration_ms"] / 1000,
            "cold": cold,
            "edit": edit,
            "pss": max(cold_pss, edit_pss),
            "rss_sum": max(cold_sum, edit_sum),
        }


def piper_part(books: list[tuple[str, str]]) -> None:
    import importlib.util

    if importlib.util.find_spec("piper") is None:
        print("Piper: not installed (pip install 'audio-edition[natural]'), skipped")
        return
    print("Piper (--engine piper --format m4b):")
    print(
        f"{'book':28} {'audio s':>8} {'cold s':>7} {'x real time':>11} {'edit s':>7} "
        f"{'edit/cold':>9} {'tree PSS MB':>11} {'tree RSS sum MB':>15}"
    )
    for name, text in books:
        r = bench_piper(name, text)
        print(
            f"{r['name']:28} {r['audio']:>8.0f} {r['cold']:>7.1f} {r['audio'] / r['cold']:>11.1f} "
            f"{r['edit']:>7.2f} {r['edit'] / r['cold']:>9.3f} {r['pss'] / 1e6:>11.0f} "
            f"{r['rss_sum'] / 1e6:>15.0f}",
            flush=True,
        )


def main() -> None:
    if not shutil.which("espeak-ng") or not shutil.which("ffmpeg"):
        raise SystemExit("bench needs espeak-ng and ffmpeg: run `make run` first")
    copies = int(os.environ.get("BENCH_COPIES", "17"))
    books = [
        ("sample", SAMPLE.read_text(encoding="utf-8")),
        (f"half book ({copies // 2} copies)", long_book(copies // 2)),
        (f"long book ({copies} copies)", long_book(copies)),
    ]
    parts = sys.argv[1:2] if sys.argv[1:] in (["loop"], ["batch"]) else None
    parts = parts or ["loop", "espeak", "piper", "batch"]
    engines = os.environ.get("BENCH_ENGINES", ",".join(parts)).split(",")
    print(f"cores: {os.cpu_count()}")
    if "loop" in engines:
        loop_report()
    if "espeak" in engines:
        espeak_part(books)
    if "piper" in engines:
        piper_part([books[0], books[2]])
    if "batch" in engines:
        batch_part()


# ---------------------------------------------------------------- a batch of articles

BATCH_ARTICLES = 40
BATCH_WORDS = 150


def batch_articles(count: int = BATCH_ARTICLES, words: int = BATCH_WORDS) -> list[str]:
    """Short articles from the sample's sentences, each made unique ("In story 7, ...")."""
    text = SAMPLE.read_text(encoding="utf-8")
    sentences = [s for p in text.splitlines()[1:] for s in re.split(r"(?<=[.!?])\s+", p) if s]
    articles, n = [], 0
    for k in range(1, count + 1):
        body: list[str] = []
        while sum(len(s.split()) for s in body) < words:
            s = sentences[n % len(sentences)]
            body.append(f"In story {k}, {s[0].lower()}{s[1:]}")
            n += 1
        paragraphs = [" ".join(body[i : i + 3]) for i in range(0, len(body), 3)]
        articles.append(f"Story {k}\n\n" + "\n\n".join(paragraphs) + "\n")
    return articles


def timed(args: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """Run a command; return (wall seconds, CPU seconds of its whole process tree)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def batch_part() -> None:
    formats = os.environ.get("BENCH_BATCH_FORMATS", "m4b")
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="audio-edition-bench-batch-") as tmp:
        root = Path(tmp)
        for name in ("batch", "separate"):
            (root / name / "text").mkdir(parents=True)
            for k, text in enumerate(batch_articles(), 1):
                (root / name / "text" / f"story-{k:02}.txt").write_text(text, encoding="utf-8")
        words = sum(len(t.split()) for t in batch_articles())
        build = [*CLI, "build", "--format", formats]
        env = {**os.environ, "AUDIO_EDITION_CACHE": str(root / "cache-batch")}
        before, wanted = resource.getrusage(resource.RUSAGE_CHILDREN), []
        wall, _, pss, _ = run(build, root / "batch", env, wanted)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # On a shared machine the CPU share is others' too; this is the batch's own demand.
        both = sum(n >= cores for n in wanted) / max(1, len(wanted))
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        env = {**os.environ, "AUDIO_EDITION_CACHE": str(root / "cache-separate")}
        separate = separate_cpu = 0.0
        for path in sorted((root / "separate" / "text").iterdir()):
            w, c = timed([*build, f"text/{path.name}"], root / "separate", env)
            separate, separate_cpu = separate + w, separate_cpu + c
    print(
        f"batch: {BATCH_ARTICLES} articles, {words} words, --format {formats}, {cores} cores\n"
        f"  one build: {wall:.1f} s ({cpu:.1f} s CPU, cores busy {cpu / (wall * cores):.0%}, "
        f"tree peak PSS {pss / 1e6:.0f} MB; work for every core {both:.0%} of the time); "
        f"{BATCH_ARTICLES} builds: {separate:.1f} s ({separate_cpu:.1f} s CPU, cores busy "
        f"{separate_cpu / (separate * cores):.0%}); one / separate {wall / separate:.2f}",
        flush=True,
    )


def espeak_part(books: list[tuple[str, str]]) -> None:
    header = (
        f"{'book':28} {'words':>6} {'floor s':>8} {'cold s':>7} {'cold/floor':>10} "
        f"{'no-change s':>11} {'edit s':>7} {'edit/cold':>9} {'builder MB':>10} "
        f"{'tree PSS MB':>11} {'tree RSS sum MB':>15}"
    )
    print(header)
    for name, text in books:
        r = bench(name, text)
        print(
            f"{r['name']:28} {r['words']:>6} {r['floor']:>8.1f} {r['cold']:>7.1f} "
            f"{r['cold'] / r['floor']:>10.2f} {r['nochange']:>11.2f} {r['edit']:>7.2f} "
            f"{r['edit'] / r['cold']:>9.3f} {r['rss'] / 1e6:>10.0f} {r['pss'] / 1e6:>11.0f} "
            f"{r['rss_sum'] / 1e6:>15.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
