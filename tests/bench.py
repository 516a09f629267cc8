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

Last, the same batch built by one local `build` and then on a local Dask cluster (`dask
scheduler` and 2 one-thread `dask worker`s on 127.0.0.1): goal <= 1.2x the local batch's
wall time, identical manifests; and from the
CPU-seconds per hour of audio (eSpeak, and Piper on a small batch), the worker cores a
day's articles need. `tests/bench.py cluster` runs only that part.
``BENCH_ENGINES`` picks the parts (``loop``, ``espeak``, ``piper``, ``batch``,
``cluster``; default all).
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
            began = time.process_time()
            pss, rss = tree_memory(proc.pid)
            peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
            if wanted is not None:
                wanted.append(runnable(proc.pid))
            # Reading a big process's smaps costs the kernel: 15.6 ms of CPU for a Piper
            # build's tree, which every 50 ms took a fifth of a core from the build (its
            # sample ran at 14.5x real time watched so, 16.7x unwatched). At most 1/20th
            # of a core for watching; the peaks it looks for last seconds.
            time.sleep(max(0.05, 20 * (time.process_time() - began)))

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
    only = (["loop"], ["batch"], ["cluster"])
    parts = sys.argv[1:2] if sys.argv[1:] in only else None
    parts = parts or ["loop", "espeak", "piper", "batch", "cluster"]
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
    if "cluster" in engines:
        cluster_report()
        piper_batch_cpu()


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


# ---------------------------------------------------------------- the batch on a Dask cluster


def tree_cpu(pid: int) -> float:
    """CPU-seconds of a live process and its live descendants, with their waited-for
    children (utime, stime, cutime, cstime)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15])
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def _named(articles: list[str]) -> dict[str, str]:
    return {f"story-{k:02}": text for k, text in enumerate(articles, 1)}


def _batch_project(root: Path, articles: dict[str, str]) -> Path:
    (root / "text").mkdir(parents=True)
    for name, text in articles.items():
        (root / "text" / f"{name}.txt").write_text(text, encoding="utf-8")
    return root


def _timed_build(project: Path, cache: Path, *flags: str) -> tuple[float, float]:
    """One `build` of every article in the project: (wall seconds, CPU-seconds of its tree)."""
    env = {**os.environ, "AUDIO_EDITION_CACHE": str(cache)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*CLI, "build", "--quiet", *flags], cwd=project, env=env, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"batch build failed: {proc.stderr.read().decode()[-500:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def _manifests(out: Path) -> dict:
    """Every manifest, without what names this build (its record, the files' inodes)."""
    import json

    found = {}
    for path in sorted(out.glob("story-*.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest.pop("build")
        for output in manifest["outputs"].values():
            output.pop("id", None)
        found[path.name] = manifest
    return found


def _audio_hours(out: Path) -> float:
    return sum(m["duration_ms"] for m in _manifests(out).values()) / 3.6e6


def cluster_part(count: int = 40) -> dict:
    """The batch of ``count`` articles: one local `build` of all, then the same on a local
    Dask cluster (a scheduler and 2 one-thread workers), each from a cold cache. eSpeak's
    cold clips differ by a few samples from run to run, so the cluster's manifests are
    compared with a local build from the cluster's own clips (copied, without segments)."""
    import importlib.util

    if importlib.util.find_spec("distributed") is None:
        print("cluster: Dask not installed (pip install 'audio-edition[cluster]'), skipped")
        return {}
    articles = _named(batch_articles(count))
    flags = ("--format", "m4b")
    with tempfile.TemporaryDirectory(prefix="audio-edition-bench-batch-") as tmp:
        root = Path(tmp)
        local = _batch_project(root / "local", articles)
        local_s, local_cpu = _timed_build(local, root / "local-cache", *flags)
        hours = _audio_hours(local / "audio")
        from local_cluster import LocalCluster  # tests/, beside this script

        (root / "dask").mkdir()
        cluster = LocalCluster(root / "dask")
        try:
            for _ in range(2):
                cluster.add_worker()
            cluster.wait_for_workers(2)
            procs = [cluster.scheduler, *cluster.workers]
            before = sum(tree_cpu(p.pid) for p in procs)
            remote = _batch_project(root / "cluster", articles)
            cluster_s, client_cpu = _timed_build(
                remote, root / "shared", "--cluster", cluster.address, *flags
            )
            cluster_cpu = client_cpu + sum(tree_cpu(p.pid) for p in procs) - before
        finally:
            cluster.stop()
        ref = _batch_project(root / "ref", articles)
        shutil.copytree(root / "shared" / "clips", root / "ref-cache" / "clips")
        _timed_build(ref, root / "ref-cache", *flags)
        same = _manifests(remote / "audio") == _manifests(ref / "audio")
        return {
            "articles": count,
            "words": sum(len(t.split()) for t in articles.values()),
            "audio_h": hours,
            "local": local_s,
            "local_cpu": local_cpu,
            "cluster": cluster_s,
            "cluster_cpu": cluster_cpu,
            "same": same,
            "n": len(_manifests(remote / "audio")),
        }


def cluster_report(count: int = 40) -> None:
    r = cluster_part(count)
    if not r:
        return
    print(
        f"batch of {r['articles']} articles ({r['words']} words, {r['audio_h'] * 60:.1f} min "
        f"of audio), --format m4b, cold cache:\n"
        f"  local `build` of all: {r['local']:.1f} s, {r['local_cpu']:.1f} CPU-s "
        f"({r['local_cpu'] / r['audio_h']:.0f} CPU-s per hour of audio)\n"
        f"  Dask cluster (scheduler + 2 one-thread workers on 127.0.0.1): {r['cluster']:.1f} s "
        f"= {r['cluster'] / r['local']:.2f}x the local batch (goal <= 1.2x), "
        f"{r['cluster_cpu']:.1f} CPU-s (client, scheduler and workers)\n"
        f"  manifests ({r['n']}) identical to a local build of the cluster's clips: "
        f"{'yes' if r['same'] else 'NO'}",
        flush=True,
    )
    capacity(r["local_cpu"] / r["audio_h"], r["audio_h"] / r["articles"], "eSpeak NG")


def capacity(cpu_per_audio_hour: float, hours_per_article: float, engine: str) -> None:
    """Worker cores a day's articles need, at 85 % busy (the rest: scheduling, I/O)."""
    row = ", ".join(
        f"{n:,}/day: {n * hours_per_article * cpu_per_audio_hour / 86400 / 0.85:.2f} cores"
        for n in (1_000, 10_000, 100_000)
    )
    print(f"  capacity, {engine}, articles of ~150 words: {row}", flush=True)


def piper_batch_cpu(count: int = 4) -> None:
    """CPU-seconds per hour of audio for Piper, from a small local batch."""
    import importlib.util

    if importlib.util.find_spec("piper") is None:
        return
    articles = _named(batch_articles(count))
    with tempfile.TemporaryDirectory(prefix="audio-edition-bench-piper-batch-") as tmp:
        project = _batch_project(Path(tmp), articles)
        _, cpu = _timed_build(project, Path(tmp) / "cache", "--engine", "piper", "--format", "m4b")
        hours = _audio_hours(project / "audio")
    print(
        f"Piper, a batch of {count}: {cpu:.1f} CPU-s for {hours * 60:.1f} min of audio "
        f"({cpu / hours:.0f} CPU-s per hour of audio)",
        flush=True,
    )
    capacity(cpu / hours, hours / count, "Piper")


if __name__ == "__main__":
    main()
