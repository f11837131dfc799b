(function () {
  "use strict";
  var player = document.getElementById("player");
  document.documentElement.className += " js";
  var copy = document.getElementById("copy-feed");
  if (copy) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var field = document.getElementById("feed-url"), said = document.getElementById("copied");
      field.select();
      var done = function () { said.textContent = "Feed address copied."; };
      if (navigator.clipboard) { navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); }); }
      else { document.execCommand("copy"); done(); }
    });
  }
  if (!player) return;
  var seek = function (t) {
    player.currentTime = t;
    if (player.paused) { var p = player.play(); if (p && p.catch) p.catch(function () {}); }
  };
  // Chapters and cue times: links to the media file without JavaScript; seek the player with it.
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("[data-t]") : null;
    if (!a) return;
    e.preventDefault();
    seek(parseFloat(a.getAttribute("data-t")));
  });
  // With JavaScript a chapter seeks in place: it is a button, and Space presses it too.
  [].forEach.call(document.querySelectorAll(".chapters a[data-t]"), function (a) {
    a.setAttribute("role", "button");
    a.addEventListener("keydown", function (e) {
      if (e.key === " ") { e.preventDefault(); seek(parseFloat(a.getAttribute("data-t"))); }
    });
  });
  // The transcript: a copy of each cue split into words with their times, hidden from screen
  // readers (they read the plain copy, which is only hidden from view). The times come from
  // a small file beside the page (data-words), fetched once the page is shown.
  var list = document.querySelector(".transcript");
  var cues = [].slice.call(document.querySelectorAll(".cue"));
  var starts = [], words = [];
  cues.forEach(function (li) {
    starts.push(parseFloat(li.querySelector("[data-t]").getAttribute("data-t")));
    words.push([]);
  });
  var split = function (n, times) {
    var li = cues[n], plain = li.querySelector(".text");
    if (!times) return;
    var toks = plain.textContent.split(" "), ts = times.split(",");
    if (toks.length !== ts.length) return;
    var span = document.createElement("span"), out = words[n];
    span.className = "words";
    span.setAttribute("aria-hidden", "true");
    toks.forEach(function (tok, i) {
      var w = document.createElement("span");
      w.textContent = tok;
      w.setAttribute("data-t", ts[i]);
      span.appendChild(w);
      out.push([parseFloat(ts[i]), w]);
      if (i < toks.length - 1) span.appendChild(document.createTextNode(" "));
    });
    plain.className += " sr";
    plain.parentNode.insertBefore(span, plain.nextSibling);
  };
  var said = function (state) { if (list) list.setAttribute("data-words-state", state); };
  if (list && list.getAttribute("data-words") && window.fetch) {
    said("loading");
    fetch(list.getAttribute("data-words"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var times = data && data.cues;
        if (!times || times.length !== cues.length) throw new Error("not this page's words");
        times.forEach(function (t, n) { split(n, t); });
        said("ready");
        show();
      })
      ["catch"](function () { said("failed"); });  // the plain transcript still works
  }
  var nowBox = document.getElementById("now"), current = -1, currentWord = null;
  if (nowBox) nowBox.parentNode.hidden = false;
  var find = function (arr, t) {
    var lo = 0, hi = arr.length - 1, at = -1;
    while (lo <= hi) { var mid = (lo + hi) >> 1; if (arr[mid] <= t + 0.001) { at = mid; lo = mid + 1; } else hi = mid - 1; }
    return at;
  };
  var show = function () {
    var t = player.currentTime, i = find(starts, t);
    if (i !== current) {
      if (current >= 0) cues[current].classList.remove("on");
      current = i;
      if (i >= 0) {
        cues[i].classList.add("on");
        if (nowBox) nowBox.textContent = cues[i].querySelector(".text").textContent;
      } else if (nowBox) nowBox.textContent = "";
    }
    if (currentWord) { currentWord.classList.remove("on"); currentWord = null; }
    if (i >= 0 && words[i].length) {
      var ws = words[i], j = find(ws.map(function (w) { return w[0]; }), t);
      if (j >= 0) { currentWord = ws[j][1]; currentWord.classList.add("on"); }
    }
  };
  player.addEventListener("timeupdate", show);
  player.addEventListener("seeked", show);
})();
