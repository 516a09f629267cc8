// The edition's web page: read along with the audio. Plain ES2017, no modules, no network:
// the page must work opened straight from disk. Every time comes from data-start/data-end
// attributes (milliseconds) written from the edition manifest.
(function () {
  "use strict";

  var audio = document.getElementById("audio");
  var article = document.getElementById("text");
  var status = document.getElementById("status");
  var playButton = document.getElementById("play");
  var rateSelect = document.getElementById("rate");
  var keysToggle = document.getElementById("keys");
  var cues = Array.prototype.slice.call(article.querySelectorAll(".cue"));
  var cueStarts = cues.map(startOf);
  var chapters = Array.prototype.slice.call(document.querySelectorAll("#chapters button"));
  var chapterStarts = chapters.map(startOf);
  var paragraphs = Array.prototype.slice.call(article.querySelectorAll("[data-para]"));
  var paragraphStarts = paragraphs.map(startOf);
  var reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  var RATE_KEY = "audio-edition.rate";
  var KEYS_KEY = "audio-edition.shortcuts";
  var SKIP_S = 10;
  // "Previous paragraph" within this many seconds of a paragraph's start goes one further
  // back, as "previous track" does on players; later, it restarts the paragraph.
  var RESTART_S = 2;

  var currentCue = null;
  var currentChapter = null;
  var following = true; // keep the sentence being read in view
  var autoScrolling = false; // a scroll we started, not the reader
  var autoScrollTimer = 0;
  var frame = 0;

  function startOf(el) {
    return Number(el.getAttribute("data-start")) / 1000;
  }

  // Index of the last start <= t in an ascending list, or -1.
  function lastAtOrBefore(starts, t) {
    var lo = 0;
    var hi = starts.length - 1;
    var found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t + 0.0005) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  // -- storage: may be unavailable (private windows, some file:// set-ups); never fatal.
  function load(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function save(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      /* remembered for this visit only */
    }
  }

  function say(message) {
    status.textContent = message;
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var m = Math.floor(s / 60);
    var h = Math.floor(m / 60);
    var ss = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m % 60).padStart(2, "0") + ":" + ss : m + ":" + ss;
  }

  // -- following the reading
  function inView(el, margin) {
    var r = el.getBoundingClientRect();
    return r.top >= margin && r.bottom <= window.innerHeight - margin;
  }

  function partlyInView(el) {
    var r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  }

  function scrollToCue(cue) {
    var r = cue.getBoundingClientRect();
    // A third of the way down the window: the reader sees what comes next.
    var y = window.scrollY + r.top - window.innerHeight / 3;
    autoScrolling = true;
    clearTimeout(autoScrollTimer);
    autoScrollTimer = setTimeout(function () {
      autoScrolling = false;
    }, 1200);
    window.scrollTo({ top: Math.max(0, y), behavior: reduceMotion.matches ? "auto" : "smooth" });
  }

  function keepInView(force) {
    if (currentCue && (force || (following && !inView(currentCue, 16)))) {
      scrollToCue(currentCue);
    }
  }

  // A scroll the reader made: follow again only while the sentence being read is on screen,
  // so scrolling away to look at something else is never undone by the next sentence.
  function onScroll() {
    if (!autoScrolling) {
      following = !currentCue || partlyInView(currentCue);
    }
  }

  function readerTakesOver() {
    autoScrolling = false;
  }

  // -- highlighting
  function setCue(cue) {
    if (cue === currentCue) return false;
    if (currentCue) currentCue.classList.remove("reading");
    if (cue) cue.classList.add("reading");
    currentCue = cue;
    // The reading has caught up with where the reader is looking: follow it again.
    if (cue && !following && partlyInView(cue)) following = true;
    return true;
  }

  function setChapter(button) {
    if (button === currentChapter) return;
    if (currentChapter) currentChapter.removeAttribute("aria-current");
    if (button) button.setAttribute("aria-current", "true");
    currentChapter = button;
    if (button && following) chapterInView(button);
  }

  // In wide windows the chapter list scrolls on its own, beside the text: keep the current
  // chapter in it visible. (Narrow windows scroll the whole page, which follows the text.)
  function chapterInView(button) {
    var box = button.closest(".side");
    if (!box || box.scrollHeight <= box.clientHeight) return;
    var b = button.getBoundingClientRect();
    var r = box.getBoundingClientRect();
    if (b.top < r.top || b.bottom > r.bottom) box.scrollTop += b.top - r.top - r.height / 2;
  }

  // -- word marks (word timing): the word being read, inside the sentence being read.
  // Its own state and functions; sync() calls syncWord(t), the article click seekTarget().
  var words = Array.prototype.slice.call(article.querySelectorAll(".word"));
  var wordStarts = words.map(startOf);
  var wordsToggle = document.getElementById("word-marks");
  var WORDS_KEY = "audio-edition.word-marks";
  var currentWord = null;

  function endOf(el) {
    return Number(el.getAttribute("data-end")) / 1000;
  }

  // The word whose time holds t, or null (between sentences, or word marks off).
  function wordAt(t) {
    if (!wordsToggle || !wordsToggle.checked) return null;
    var i = lastAtOrBefore(wordStarts, t);
    return i >= 0 && t < endOf(words[i]) ? words[i] : null;
  }

  // No transition or animation: the mark moves at once, whatever the motion preference.
  function syncWord(t) {
    var word = wordAt(t);
    if (word === currentWord) return;
    if (currentWord) currentWord.classList.remove("word-reading");
    if (word) word.classList.add("word-reading");
    currentWord = word;
  }

  function setWordMarks(on) {
    wordsToggle.checked = on;
    save(WORDS_KEY, on ? "on" : "off");
    syncWord(audio.currentTime);
  }

  function initWordMarks() {
    if (!wordsToggle) return;
    if (!words.length) {
      wordsToggle.parentNode.hidden = true; // an edition without word timing
      return;
    }
    wordsToggle.addEventListener("change", function () { setWordMarks(wordsToggle.checked); });
    setWordMarks(load(WORDS_KEY) !== "off");
  }

  // What a click in the article plays from: the word clicked, else its sentence.
  function seekTarget(target, cue) {
    var word = target.closest ? target.closest(".word") : null;
    return word && cue.contains(word) ? word : cue;
  }
  // -- end of word marks

  function sync() {
    var t = audio.currentTime;
    syncWord(t);
    var i = lastAtOrBefore(cueStarts, t);
    setChapter(chapters[Math.max(0, lastAtOrBefore(chapterStarts, t))] || null);
    if (setCue(i >= 0 ? cues[i] : null)) keepInView(false);
  }

  function tick() {
    sync();
    frame = audio.paused ? 0 : window.requestAnimationFrame(tick);
  }

  // -- playback
  function play() {
    var promise = audio.play();
    if (promise && promise.catch) {
      promise.catch(function () {
        say("The audio could not be played.");
      });
    }
  }

  function seekable(t) {
    for (var i = 0; i < audio.seekable.length; i++) {
      if (audio.seekable.start(i) <= t && t <= audio.seekable.end(i)) return true;
    }
    return false;
  }

  function seek(seconds, andPlay) {
    var end = isFinite(audio.duration) ? audio.duration : Infinity;
    var t = Math.min(Math.max(0, seconds), end);
    // Once the audio's length is known, a position outside audio.seekable means the web
    // server ignores range requests (Python's http.server, for one): say so, not fail quietly.
    if (audio.readyState > 0 && !seekable(t)) {
      say("This web server cannot jump within the audio. Open the page from disk, or use a " +
        "server that supports range requests.");
    }
    audio.currentTime = t;
    following = true;
    sync();
    keepInView(false);
    if (andPlay) play();
  }

  function togglePlay() {
    if (audio.paused) play();
    else audio.pause();
  }

  function skip(seconds) {
    seek(audio.currentTime + seconds, false);
    say((seconds < 0 ? "Back " : "Forward ") + Math.abs(seconds) + " s, " + clock(audio.currentTime));
  }

  function paragraph(step) {
    var t = audio.currentTime;
    var i = lastAtOrBefore(paragraphStarts, t);
    if (step < 0 && i >= 0 && t - paragraphStarts[i] > RESTART_S) step = 0;
    var j = Math.min(Math.max(i + step, 0), paragraphStarts.length - 1);
    if (j < 0) return;
    seek(paragraphStarts[j], !audio.paused);
    say(paragraphs[j].getAttribute("data-para"));
  }

  function setRate(value, announce) {
    var rate = Number(value);
    if (!(rate >= 0.75 && rate <= 3)) return;
    audio.defaultPlaybackRate = rate;
    audio.playbackRate = rate;
    rateSelect.value = String(rate);
    save(RATE_KEY, String(rate));
    if (announce) say("Speed " + rate + "×");
  }

  function stepRate(step) {
    var i = rateSelect.selectedIndex + step;
    if (i >= 0 && i < rateSelect.options.length) setRate(rateSelect.options[i].value, true);
  }

  // -- keyboard shortcuts: single keys (WCAG 2.1.4: they can be turned off).
  var SHORTCUTS = {
    k: togglePlay,
    j: function () { skip(-SKIP_S); },
    l: function () { skip(SKIP_S); },
    p: function () { paragraph(-1); },
    n: function () { paragraph(1); },
    "<": function () { stepRate(-1); },
    ">": function () { stepRate(1); },
  };

  function typingIn(el) {
    return el && (el.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName));
  }

  function onKey(event) {
    if (!keysToggle.checked || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.defaultPrevented || typingIn(event.target)) return;
    var action = SHORTCUTS[event.key.length === 1 ? event.key.toLowerCase() : ""];
    if (!action) return;
    event.preventDefault();
    action();
  }

  function setShortcuts(on) {
    keysToggle.checked = on;
    save(KEYS_KEY, on ? "on" : "off");
    Array.prototype.forEach.call(document.querySelectorAll("[data-keys]"), function (el) {
      if (on) el.setAttribute("aria-keyshortcuts", el.getAttribute("data-keys"));
      else el.removeAttribute("aria-keyshortcuts");
    });
  }

  // -- wiring
  function onArticleClick(event) {
    var cue = event.target.closest ? event.target.closest(".cue") : null;
    var selection = window.getSelection ? window.getSelection() : null;
    if (!cue || (selection && !selection.isCollapsed)) return; // selecting text, not seeking
    seek(startOf(seekTarget(event.target, cue)), true);
  }

  function onChapterClick(event) {
    var button = event.target.closest("button");
    if (button) seek(startOf(button), true);
  }

  function onPlayState() {
    var playing = !audio.paused;
    playButton.querySelector(".label").textContent = playing ? "Pause" : "Play";
    if (playing && !frame) frame = window.requestAnimationFrame(tick);
  }

  function init() {
    audio.addEventListener("play", onPlayState);
    audio.addEventListener("pause", onPlayState);
    audio.addEventListener("ended", onPlayState);
    ["timeupdate", "seeking", "seeked", "loadedmetadata"].forEach(function (name) {
      audio.addEventListener(name, sync);
    });
    audio.addEventListener("ratechange", function () {
      if (audio.playbackRate >= 0.75 && audio.playbackRate <= 3) {
        rateSelect.value = String(audio.playbackRate);
      }
    });
    var sources = audio.querySelectorAll("source");
    sources[sources.length - 1].addEventListener("error", function () {
      say("The audio file could not be loaded. Use a download link above.");
    });
    article.addEventListener("click", onArticleClick);
    document.getElementById("chapters").addEventListener("click", onChapterClick);
    playButton.addEventListener("click", togglePlay);
    document.getElementById("back").addEventListener("click", function () { skip(-SKIP_S); });
    document.getElementById("forward").addEventListener("click", function () { skip(SKIP_S); });
    document.getElementById("prev").addEventListener("click", function () { paragraph(-1); });
    document.getElementById("next").addEventListener("click", function () { paragraph(1); });
    document.getElementById("show").addEventListener("click", function () {
      following = true;
      if (currentCue) keepInView(true);
      else say("Nothing is being read yet.");
    });
    rateSelect.addEventListener("change", function () { setRate(rateSelect.value, false); });
    keysToggle.addEventListener("change", function () { setShortcuts(keysToggle.checked); });
    document.addEventListener("keydown", onKey);
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("scrollend", function () { autoScrolling = false; });
    window.addEventListener("wheel", readerTakesOver, { passive: true });
    window.addEventListener("touchmove", readerTakesOver, { passive: true });
    setRate(load(RATE_KEY) || rateSelect.value, false);
    setShortcuts(load(KEYS_KEY) !== "off");
    initWordMarks();
    sync();
  }

  init();
})();
