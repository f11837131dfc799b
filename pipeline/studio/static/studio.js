// The storycast studio page: choose by pressing words, move parts, save, listen.
// Served by storycast itself; it talks only to the studio that served it.
"use strict";

(function () {
  const token = document.querySelector('meta[name="studio-token"]').content;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const stateEl = $("#state");
  const state = stateEl ? JSON.parse(stateEl.textContent) : null;

  function clock(s) {
    const m = Math.floor(s / 60);
    const r = (s - m * 60).toFixed(1).padStart(4, "0");
    return m + ":" + r;
  }
  function say(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  }
  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Studio-Token": token },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { error: "The studio did not answer clearly." }; }
    return { ok: res.ok, data: data };
  }

  // --- the preview page: say what is playing --------------------------------------
  const preview = $("#preview");
  if (preview) {
    preview.addEventListener("play", () => say("playing", "Playing."));
    preview.addEventListener("pause", () => say("playing", "Paused at " + clock(preview.currentTime) + "."));
    preview.addEventListener("ended", () => say("playing", "Finished."));
    // the quick version plays at once; when the finished one is made, offer it
    const note = $("#version-note");
    if (note && note.dataset.waiting) {
      const ask = async () => {
        let ready = false, problem = "";
        try {
          const res = await fetch(note.dataset.waiting, { cache: "no-store" });
          const data = res.ok ? await res.json() : {};
          ready = data.ready === true;
          problem = data.problem || "";
        } catch (e) { ready = false; }
        if (problem) {
          say("finished", "The finished version could not be made. Ask your producer to look at this: " + problem);
          return;
        }
        if (!ready) { setTimeout(ask, 2000); return; }
        const b = document.createElement("button");
        b.type = "button";
        b.id = "use-finished";
        b.textContent = "Listen to the finished version";
        b.addEventListener("click", () => {
          preview.src = note.dataset.finished;
          preview.load();
          note.textContent = "This is exactly what will be put out, made from what you last saved. Hidden words are beeped or quiet, as they will be.";
          b.remove();
          say("finished", "Now playing the finished version.");
          preview.play().catch(() => {});
        });
        $("#finished").after(b);
        say("finished", "The finished version is ready. It is exactly what will be put out.");
      };
      setTimeout(ask, 2000);
    }
  }

  // --- the ideas page: one at a time ----------------------------------------------
  const ideas = $("#ideas");
  if (ideas && state) {
    const found = JSON.parse($("#ideas-data").textContent);
    const items = $$(".idea", ideas);
    let at = 0;
    const show = () => {
      items.forEach((li, i) => { li.hidden = i !== at; });
      if (at >= items.length) { $("#ideas-done").hidden = false; }
      else { const b = $(".accept", items[at]); if (b) b.focus(); }
    };
    ideas.addEventListener("click", async (ev) => {
      const btn = ev.target.closest("button");
      if (!btn) return;
      const n = Number(btn.dataset.n);
      if (btn.classList.contains("accept")) {
        const r = await post("/ep/" + state.slug + "/idea", { base: state.base, idea: found[n] });
        if (!r.ok) { say("saved", r.data.error); return; }
        state.base = r.data.base;
        say("saved", "Done. " + r.data.message);
      } else {
        say("saved", "Left as it was.");
      }
      at += 1;
      show();
    });
    show();
  }

  // --- the edit page -----------------------------------------------------------------
  const kept = $("#kept");
  if (!kept || !state) return;
  const left = $("#left");
  const player = $("#player");
  state.hidden = state.redactions.slice();
  let pending = null; // first word of a span being chosen (hide, bite)

  // a word's recording is its part's (said once per part, not once per word)
  function source(w) { return w.closest(".part").dataset.source; }
  function mode() { return $('input[name="mode"]:checked').value; }
  // a word's own text, without its labels ("cut", "hidden", "said again")
  function wordText(b) {
    return Array.from(b.childNodes)
      .filter((n) => !(n.classList && n.classList.contains("tag")))
      .map((n) => n.textContent).join("").trim();
  }

  // roving focus: one word per part in the Tab order, arrows move between words
  function rove(part) {
    const words = $$(".w:not([hidden])", part);
    words.forEach((w, i) => w.setAttribute("tabindex", i === 0 ? "0" : "-1"));
  }
  $$(".part").forEach(rove);
  document.addEventListener("keydown", (ev) => {
    const w = ev.target.closest && ev.target.closest(".w");
    if (!w) return;
    const words = $$(".w:not([hidden])", w.closest(".part"));
    const i = words.indexOf(w);
    let j = -1;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") j = Math.min(i + 1, words.length - 1);
    if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") j = Math.max(i - 1, 0);
    if (ev.key === "Home") j = 0;
    if (ev.key === "End") j = words.length - 1;
    if (j >= 0) {
      ev.preventDefault();
      w.setAttribute("tabindex", "-1");
      words[j].setAttribute("tabindex", "0");
      words[j].focus();
    }
  });

  function setCut(w, cut) {
    w.classList.toggle("cut", cut);
    const tag = $(".tag.cut-tag", w);
    if (cut && !tag) {
      const t = document.createElement("span");
      t.className = "tag cut-tag";
      t.textContent = "cut";
      w.prepend(t, " ");
    } else if (!cut && tag) {
      tag.nextSibling && tag.nextSibling.nodeType === 3 && tag.nextSibling.remove();
      tag.remove();
    }
  }
  function sentenceButton(p) {
    const b = $(".cut-sentence", p);
    const words = $$(".w:not([hidden])", p);
    const all = words.length > 0 && words.every((w) => w.classList.contains("cut"));
    b.textContent = all ? "Keep sentence" : "Cut sentence";
    b.setAttribute("aria-label", (all ? "Keep" : "Cut") + " this sentence: " +
      words.map(wordText).join(" ").slice(0, 60));
  }

  function play(w) {
    // made as it plays, from this word on, with hidden words beeped or quiet as published
    const at = Number(w.dataset.s);
    player.src = "/ep/" + state.slug + "/listen/" + encodeURIComponent(source(w)) + "?at=" + at;
    player.load();
    player.play().catch(() => {});
    say("playing", "Playing " + source(w) + " from " + clock(at) + ", “" + wordText(w) + "”.");
  }

  function between(a, b) {
    // words from a to b (inclusive) in the same part, in order
    const words = $$(".w:not([hidden])", a.closest(".part"));
    let i = words.indexOf(a), j = words.indexOf(b);
    if (i > j) [i, j] = [j, i];
    return words.slice(i, j + 1);
  }

  function press(w) {
    const m = mode();
    if (m === "listen") { play(w); return; }
    if (m === "cut") {
      const cut = !w.classList.contains("cut");
      setCut(w, cut);
      sentenceButton(w.closest(".sentence"));
      say("doing", (cut ? "Cut: “" : "Kept: “") + wordText(w) + "”. Save to keep your changes.");
      return;
    }
    if (m === "chapter") {
      pending = w;
      $("#chapter-form").hidden = false;
      $("#chapter-title").value = "";
      $("#chapter-title").focus();
      say("doing", "Type the chapter's name, then press “Add the chapter”.");
      return;
    }
    if (m === "spell") {
      if (w.classList.contains("hidden-part")) {
        say("doing", "Hidden words cannot be changed here.");
        return;
      }
      pending = w;
      $("#spell-what").textContent = "Written now: “" + wordText(w) + "”";
      $("#spell-text").value = wordText(w).replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
      $("#spell-said").textContent = "";
      $("#spell-difference").hidden = true;
      $("#spell-form").hidden = false;
      $("#spell-text").focus();
      say("doing", "Write the word as it should be, then press “Save the spelling”.");
      return;
    }
    if (m === "hide" && w.classList.contains("also")) {
      // words already hidden elsewhere, said again here: hidden here too, the same way
      // (the studio keeps the words to remove; this page never had them)
      const r = {
        source: source(w), in: Number(w.dataset.s), out: Number(w.dataset.e),
        mode: w.dataset.mode, replace_with: w.dataset.with, like: Number(w.dataset.like),
      };
      state.hidden.push(r);
      w.classList.remove("also");
      const again = $(".also-tag", w);
      if (again) { again.nextSibling && again.nextSibling.nodeType === 3 && again.nextSibling.remove(); again.remove(); w.append(" " + r.replace_with); }
      pending = null;
      listMarks();
      say("doing", "Hidden here too. It will show “" + r.replace_with + "”. Save to keep your changes.");
      return;
    }
    if (m === "hide" || m === "bite") {
      if (!pending || pending.closest(".part") !== w.closest(".part")) {
        pending = w;
        say("doing", "First word: “" + wordText(w) + "”. Now press the last word.");
        return;
      }
      const span = between(pending, w);
      pending = null;
      const text = span.map(wordText).join(" ");
      if (m === "hide") {
        state.hideSpan = span;
        $("#hide-what").textContent = "Hide: “" + text + "”";
        $("#hide-said").value = text;
        $("#hide-form").hidden = false;
        $("#hide-with").focus();
        say("doing", "Say what to show instead, then press “Hide these words”.");
      } else {
        state.biteSpan = span;
        $("#bite-what").textContent = "Short preview: “" + text + "”";
        $("#bite-form").hidden = false;
        $("#bite-title").focus();
        say("doing", "Give the short preview a name, then press “Use this as the short preview”.");
      }
    }
  }

  document.addEventListener("click", (ev) => {
    const t = ev.target.closest("button");
    if (!t) return;
    const part = t.closest(".part");
    if (t.classList.contains("w")) { press(t); return; }
    if (t.classList.contains("cut-sentence")) {
      const p = t.closest(".sentence");
      const words = $$(".w:not([hidden])", p);
      const cut = !words.every((w) => w.classList.contains("cut"));
      words.forEach((w) => setCut(w, cut));
      sentenceButton(p);
      say("doing", (cut ? "Sentence cut." : "Sentence kept.") + " Save to keep your changes.");
      t.focus();
      return;
    }
    if (t.classList.contains("move-up") || t.classList.contains("move-down")) {
      const up = t.classList.contains("move-up");
      const other = up ? part.previousElementSibling : part.nextElementSibling;
      if (!other) { say("doing", up ? "This part is already first." : "This part is already last."); return; }
      if (up) kept.insertBefore(part, other); else kept.insertBefore(other, part);
      t.focus();
      const n = $$(".part", kept).indexOf(part) + 1;
      say("doing", "Moved. This part is now number " + n + ". Save to keep your changes.");
      return;
    }
    if (t.classList.contains("leave-out")) {
      left.prepend(part);
      part.classList.add("left-out");
      $(".put-back", part).focus();
      say("doing", "Part left out. Save to keep your changes.");
      return;
    }
    if (t.classList.contains("put-back")) {
      kept.append(part);
      part.classList.remove("left-out");
      $(".leave-out", part).focus();
      say("doing", "Part put back at the end. Save to keep your changes.");
    }
  });

  // a kept part moved by a pointer (mouse, finger, pen) on its handle: the same move as
  // Move up / Move down, said the same way when it is let go
  let dragging = null;
  kept.addEventListener("pointerdown", (ev) => {
    const handle = ev.target.closest(".drag");
    const part = handle && handle.closest(".part");
    if (!part || part.parentElement !== kept || ev.button !== 0) return;
    ev.preventDefault();
    dragging = { part: part, from: $$(".part", kept).indexOf(part) };
    part.classList.add("dragging");
    handle.setPointerCapture(ev.pointerId);
  });
  kept.addEventListener("pointermove", (ev) => {
    if (!dragging) return;
    const under = document.elementFromPoint(ev.clientX, ev.clientY);
    const over = under && under.closest(".part");
    if (!over || over === dragging.part || over.parentElement !== kept) return;
    const box = over.getBoundingClientRect();
    const after = ev.clientY > box.top + box.height / 2;
    kept.insertBefore(dragging.part, after ? over.nextElementSibling : over);
  });
  function dropped() {
    if (!dragging) return;
    const part = dragging.part, from = dragging.from;
    dragging = null;
    part.classList.remove("dragging");
    const n = $$(".part", kept).indexOf(part) + 1;
    say("doing", n === from + 1 ? "Not moved: this part is still number " + n + "."
      : "Moved. This part is now number " + n + ". Save to keep your changes.");
  }
  kept.addEventListener("pointerup", dropped);
  kept.addEventListener("pointercancel", dropped);

  // chapters, hidden words, short preview
  function listMarks() {
    const ul = $("#chapters");
    ul.textContent = "";
    state.chapters.forEach((c, i) => {
      const li = document.createElement("li");
      li.textContent = "“" + c.title + "”, starting in " + c.source + " at " + clock(c.at) + " ";
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Remove chapter “" + c.title + "”";
      b.addEventListener("click", () => { state.chapters.splice(i, 1); listMarks(); say("doing", "Chapter removed. Save to keep your changes."); });
      li.append(b);
      ul.append(li);
    });
    if (!state.chapters.length) ul.innerHTML = "<li>No chapters yet.</li>";
    const hid = $("#hidden");
    hid.textContent = "";
    state.hidden.forEach((r) => {
      const li = document.createElement("li");
      li.textContent = "In " + r.source + " at " + clock(r.in) + ": shown as “" + r.replace_with +
        "”, with " + (r.mode === "silence" ? "quiet" : "a beep") + " instead.";
      hid.append(li);
    });
    if (!state.hidden.length) hid.innerHTML = "<li>No hidden words.</li>";
    const b = state.soundbite;
    $("#bite").textContent = b ? "From " + b.source + " at " + clock(b.at) + (b.title ? ": “" + b.title + "”" : "") : "None chosen.";
  }
  listMarks();

  $("#chapter-add").addEventListener("click", () => {
    const title = $("#chapter-title").value.trim();
    if (!title) { say("doing", "Type a name for the chapter first."); $("#chapter-title").focus(); return; }
    if (!pending) return;
    state.chapters.push({ source: source(pending), at: Number(pending.dataset.s), title: title });
    const w = pending;
    pending = null;
    $("#chapter-form").hidden = true;
    listMarks();
    say("doing", "Chapter “" + title + "” added. Save to keep your changes.");
    w.focus();
  });
  $("#chapter-cancel").addEventListener("click", () => { $("#chapter-form").hidden = true; if (pending) pending.focus(); pending = null; });
  $("#hide-cancel").addEventListener("click", () => { $("#hide-form").hidden = true; state.hideSpan = null; });
  $("#hide-add").addEventListener("click", () => {
    const span = state.hideSpan;
    if (!span) return;
    const r = {
      source: source(span[0]),
      in: Number(span[0].dataset.s),
      out: Number(span[span.length - 1].dataset.e),
      mode: $("#hide-mode").value,
      replace_with: $("#hide-with").value.trim() || "[removed]",
      text: $("#hide-said").value.trim(),
    };
    state.hidden.push(r);
    const token = document.createElement("button");
    token.type = "button";
    token.className = "w hidden-part";
    token.dataset.s = r.in;
    token.dataset.e = r.out;
    token.setAttribute("tabindex", "-1");
    const tag = document.createElement("span");
    tag.className = "tag";
    tag.textContent = "hidden";
    token.append(tag, " " + r.replace_with);
    span[0].before(token, " ");
    span.forEach((w) => { w.hidden = true; });
    rove(token.closest(".part"));
    $("#hide-form").hidden = true;
    state.hideSpan = null;
    listMarks();
    say("doing", "Hidden. It will show “" + r.replace_with + "”. Save to keep your changes.");
    token.focus();
  });
  // a word's spelling: saved at once to the episode's corrections, shown here at once
  const EDGES = /^([^\p{L}\p{N}]*)(.*?)([^\p{L}\p{N}]*)$/su;
  function core(text) { return text.match(EDGES)[2].toLowerCase(); }
  function respell(b, text) {
    const old = b.lastChild && b.lastChild.nodeType === 3 ? b.lastChild : null;
    const was = wordText(b);
    const m = was.match(EDGES);
    let now = text;
    if (m[1] && !now.startsWith(m[1])) now = m[1] + now;
    if (m[3] && !now.endsWith(m[3])) now = now + m[3];
    if (old) old.data = old.data.replace(was, now); else b.append(now);
  }
  $("#spell-cancel").addEventListener("click", () => {
    $("#spell-form").hidden = true;
    if (pending) pending.focus();
    pending = null;
  });
  $("#spell-save").addEventListener("click", async () => {
    const w = pending;
    const text = $("#spell-text").value.trim();
    if (!w) return;
    if (!text) { say("spell-said", "Write the new spelling first."); $("#spell-text").focus(); return; }
    const everywhere = $('input[name="spell-where"]:checked').value === "everywhere";
    say("spell-said", "Saving…");
    const r = await post("/ep/" + state.slug + "/spelling", {
      base: state.spelling_base, source: source(w),
      in: Number(w.dataset.s), out: Number(w.dataset.e), text: text, everywhere: everywhere,
    });
    if (!r.ok) {
      say("spell-said", r.data.error || "Not saved.");
      if (r.data.difference) {
        $("#spell-difference-lines").textContent = r.data.difference;
        $("#spell-difference").hidden = false;
      }
      return;
    }
    state.spelling_base = r.data.base;
    const was = core(wordText(w));
    const changed = everywhere
      ? $$(".w:not(.hidden-part)").filter((b) => core(wordText(b)) === was)
      : [w];
    changed.forEach((b) => respell(b, text));
    pending = null;
    $("#spell-form").hidden = true;
    say("doing", r.data.message);
    w.focus();
  });

  $("#bite-add").addEventListener("click", () => {
    const span = state.biteSpan;
    if (!span) return;
    const last = span[span.length - 1];
    state.soundbite = {
      source: source(span[0]), at: Number(span[0].dataset.s),
      end_source: source(last), end: Number(last.dataset.e),
      title: $("#bite-title").value.trim(),
    };
    $("#bite-form").hidden = true;
    listMarks();
    say("doing", "Short preview chosen. Save to keep your changes.");
  });

  function decisions() {
    return {
      base: state.base,
      parts: $$(".part", kept).map((p) => ({
        source: p.dataset.source,
        in: Number(p.dataset.in),
        out: Number(p.dataset.out),
        fade_in: Number(p.dataset.fadeIn),
        fade_out: Number(p.dataset.fadeOut),
        cut: $$(".w.cut", p).map((w) => [Number(w.dataset.s), Number(w.dataset.e)]),
      })),
      chapters: state.chapters,
      redactions: state.hidden,
      soundbite: state.soundbite,
    };
  }

  document.body.dataset.ready = "yes"; // every word can be used now

  $("#save").addEventListener("click", async () => {
    say("saved", "Saving…");
    const diff = $("#difference");
    const r = await post("/ep/" + state.slug + "/save", decisions());
    if (r.ok) {
      state.base = r.data.base;
      diff.hidden = true;
      say("saved", r.data.message);
    } else {
      say("saved", r.data.error || "Not saved.");
      if (r.data.difference) {
        $("#difference-lines").textContent = r.data.difference;
        const ul = $("#difference-summary");
        ul.textContent = "";
        (r.data.summary || []).forEach((line) => {
          const li = document.createElement("li");
          li.textContent = line;
          ul.append(li);
        });
        diff.hidden = false;
      }
    }
  });
})();
