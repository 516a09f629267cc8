// Live reload, for `audio-edition serve --watch` only. The server adds
// <meta name="audio-edition-live" content="/_events"> to the pages it serves while it
// watches (and allows the connection in the Content-Security-Policy); without that flag
// (opened from disk, or from another server) this script does nothing at all.
//
// When the server says this page's edition was rebuilt, the page keeps where the listener
// was (position, speed, playing or not) and the ids of the sentences that changed, and
// reloads; the new page puts the listener back, marks the changed sentences (a class, and
// "changed" for screen readers) and offers "Play changes", which plays them in turn.
(function () {
  "use strict";

  var flag = document.querySelector('meta[name="audio-edition-live"]');
  if (!flag || !window.EventSource) return;
  var audio = document.getElementById("audio");
  var status = document.getElementById("status");
  var KEY = "audio-edition.live";
  var here = decodeURIComponent(location.pathname.split("/").pop() || "index.html");

  function say(message) {
    if (status) status.textContent = message;
  }

  function remember(state) {
    try {
      window.sessionStorage.setItem(KEY, JSON.stringify(state));
    } catch (e) {
      /* the page reloads at the start: nothing is lost but the place */
    }
  }

  function recall() {
    try {
      var state = JSON.parse(window.sessionStorage.getItem(KEY) || "null");
      window.sessionStorage.removeItem(KEY);
      return state && state.page === here ? state : null;
    } catch (e) {
      return null;
    }
  }

  function onRebuild(event) {
    var news;
    try {
      news = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (here === "index.html") {
      location.reload(); // the list of editions may have changed
      return;
    }
    if (news.page !== here) return;
    remember({
      page: here,
      time: audio ? audio.currentTime : 0,
      rate: audio ? audio.playbackRate : 1,
      playing: audio ? !audio.paused : false,
      changed: news.changed || [],
    });
    location.reload();
  }

  // -- after a reload: the listener's place, and the changes marked
  function restore(state) {
    if (!audio) return;
    function place() {
      audio.currentTime = Math.min(state.time, audio.duration || state.time);
      audio.playbackRate = state.rate;
      if (state.playing) {
        var p = audio.play();
        if (p && p.catch) p.catch(function () { /* autoplay refused: Play resumes */ });
      }
    }
    if (audio.readyState >= 1) place();
    else audio.addEventListener("loadedmetadata", place, { once: true });
  }

  function markChanges(ids) {
    var cues = [];
    ids.forEach(function (id) {
      var cue = document.getElementById(id);
      if (!cue || !cue.classList.contains("cue")) return;
      cue.classList.add("changed");
      var note = document.createElement("span");
      note.className = "visually-hidden changed-note";
      note.textContent = " (changed)";
      cue.insertAdjacentElement("afterend", note);
      cues.push(cue);
    });
    return cues;
  }

  function playChangesButton(cues) {
    var group = document.querySelector("#player .buttons");
    if (!group || !cues.length) return;
    var button = document.createElement("button");
    button.type = "button";
    button.id = "play-changes";
    button.textContent = "Play changes (" + cues.length + ")";
    group.appendChild(button);
    var queue = [];
    var end = 0; // where the change being played ends (0: not playing the changes)
    var jumping = false; // a seek of ours, not the listener's
    function next() {
      var cue = queue.shift();
      if (!cue) {
        end = 0;
        audio.pause();
        say("End of the changes.");
        return;
      }
      end = Number(cue.getAttribute("data-end")) / 1000;
      jumping = true;
      audio.currentTime = Number(cue.getAttribute("data-start")) / 1000;
      say("Change " + (cues.length - queue.length) + " of " + cues.length);
      var p = audio.play();
      if (p && p.catch) p.catch(function () { say("The audio could not be played."); });
    }
    audio.addEventListener("timeupdate", function () {
      if (end && audio.currentTime >= end) next();
    });
    audio.addEventListener("seeking", function () {
      if (!jumping) end = 0; // the listener went elsewhere: stop playing the changes
    });
    audio.addEventListener("seeked", function () {
      jumping = false;
    });
    button.addEventListener("click", function () {
      queue = cues.slice();
      next();
    });
  }

  var state = recall();
  if (state) {
    restore(state);
    var cues = markChanges(state.changed);
    playChangesButton(cues);
    say("Rebuilt: " + cues.length + " sentence" + (cues.length === 1 ? "" : "s") + " changed.");
  }
  var events = new EventSource(flag.getAttribute("content"));
  events.addEventListener("rebuild", onRebuild);
})();
