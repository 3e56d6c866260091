// The annotating page: one task at a time, keyboard first. Item text is only ever set as textContent.
"use strict";

(function () {
  const project = dw.projectData();
  const base = "/api/projects/" + encodeURIComponent(project.name);
  const byKey = {};
  project.labels.forEach(function (l) { if (l.hotkey) byKey[l.hotkey.toLowerCase()] = l.name; });
  const state = { task: null, chosen: [], spans: [], shownAt: 0, tokens: [], cursor: 0, extent: 0, busy: false, done: 0 };
  const $ = function (id) { return document.getElementById(id); };

  function setStatus(text, isError) {
    $("status").textContent = text;
    $("status").className = isError ? "error" : "muted";
  }

  function renderLabels() {
    const box = $("labels");
    box.replaceChildren();
    project.labels.forEach(function (l) {
      const button = dw.el("button", null, "label");
      button.type = "button";
      button.dataset.label = l.name;
      button.style.setProperty("--colour", l.colour);
      if (l.hotkey) button.appendChild(dw.el("kbd", l.hotkey));
      button.appendChild(dw.el("span", " " + l.name));
      if (state.chosen.indexOf(l.name) >= 0) button.classList.add("chosen");
      if (state.task && isSuggested(l.name)) {
        button.classList.add("suggested");
        button.title = "suggested by a model";
      }
      button.addEventListener("click", function () { choose(l.name); });
      box.appendChild(button);
    });
  }

  function isSuggested(name) {
    const s = state.task.suggestion;
    return s !== null && (s === name || (Array.isArray(s) && s.indexOf(name) >= 0 && typeof s[0] === "string"));
  }

  function tokenize(text) {
    const out = [];
    const re = /\S+/g;
    let m;
    while ((m = re.exec(text)) !== null) out.push({ start: m.index, end: m.index + m[0].length });
    return out;
  }

  function renderItem() {
    const box = $("item");
    box.replaceChildren();
    const payload = state.task.payload;
    if (project.task_type === "image") {
      const img = document.createElement("img");
      img.src = "/api/items/" + state.task.item + "/blob";
      img.alt = "item " + state.task.row_id;
      img.className = "image";
      box.appendChild(img);
      return;
    }
    const text = payload.text || "";
    if (project.task_type !== "spans") {
      box.appendChild(dw.el("p", text, "text"));
      return;
    }
    // Spans: the text in pieces, each piece coloured by the span that covers it.
    const para = dw.el("p", null, "text");
    const cuts = new Set([0, text.length]);
    state.spans.forEach(function (s) { cuts.add(s.start); cuts.add(s.end); });
    const sel = selectionRange();
    if (sel) { cuts.add(sel.start); cuts.add(sel.end); }
    const points = Array.from(cuts).sort(function (a, b) { return a - b; });
    for (let i = 0; i + 1 < points.length; i++) {
      const piece = dw.el("span", text.slice(points[i], points[i + 1]));
      piece.dataset.start = points[i];
      const span = state.spans.find(function (s) { return s.start <= points[i] && points[i + 1] <= s.end; });
      if (span) {
        const label = project.labels.find(function (l) { return l.name === span.label; });
        piece.className = "span";
        piece.style.setProperty("--colour", label ? label.colour : "#888");
        piece.title = span.label;
      }
      if (sel && sel.start <= points[i] && points[i + 1] <= sel.end) piece.classList.add("cursor");
      para.appendChild(piece);
    }
    box.appendChild(para);
    const list = $("spans");
    list.hidden = false;
    list.replaceChildren();
    state.spans.forEach(function (s) {
      list.appendChild(dw.el("span", s.label + ": " + text.slice(s.start, s.end), "chip"));
    });
  }

  function selectionRange() {
    if (!state.tokens.length) return null;
    const a = state.tokens[Math.min(state.cursor, state.tokens.length - 1)];
    const b = state.tokens[Math.min(state.cursor + state.extent, state.tokens.length - 1)];
    return { start: a.start, end: b.end };
  }

  function mouseRange() {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed || !$("item").contains(sel.anchorNode)) return null;
    const offset = function (node, off) {
      const piece = node.nodeType === 3 ? node.parentNode : node;
      return Number(piece.dataset.start || 0) + off;
    };
    let start = offset(sel.anchorNode, sel.anchorOffset);
    let end = offset(sel.focusNode, sel.focusOffset);
    if (start > end) { const t = start; start = end; end = t; }
    sel.removeAllRanges();
    return start < end ? { start: start, end: end } : null;
  }

  function choose(name) {
    if (!state.task) return;
    if (project.task_type === "spans") {
      const range = mouseRange() || selectionRange();
      if (!range) return;
      state.spans = state.spans.filter(function (s) { return s.end <= range.start || s.start >= range.end; });
      state.spans.push({ start: range.start, end: range.end, label: name });
      state.spans.sort(function (a, b) { return a.start - b.start; });
      state.extent = 0;
      renderItem();
    } else if (project.task_type === "multi") {
      const at = state.chosen.indexOf(name);
      if (at >= 0) state.chosen.splice(at, 1); else state.chosen.push(name);
    } else {
      state.chosen = [name];
    }
    renderLabels();
  }

  function answer() {
    if (project.task_type === "spans") return state.spans;
    if (project.task_type === "multi") return state.chosen.slice();
    return state.chosen.length ? state.chosen[0] : null;
  }

  function show(task, note) {
    state.task = task;
    state.chosen = [];
    state.spans = [];
    state.cursor = 0;
    state.extent = 0;
    if (!task) {
      $("item").replaceChildren(dw.el("p", "Nothing more to label in this round. Thank you!", "done"));
      $("labels").replaceChildren();
      $("suggestion").hidden = true;
      setStatus((note ? note + " · " : "") + state.done + " submitted in this session");
      return;
    }
    const prior = task.value !== null && task.value !== undefined ? task.value : task.suggestion;
    if (prior !== null && prior !== undefined) {
      if (project.task_type === "spans") state.spans = prior.slice();
      else state.chosen = Array.isArray(prior) ? prior.slice() : [prior];
    }
    state.tokens = tokenize((task.payload && task.payload.text) || "");
    $("suggestion").hidden = task.suggestion === null || task.suggestion === undefined;
    $("suggestion-label").textContent = dw.show(task.suggestion);
    $("suggestion-confidence").textContent = task.confidence === null ? "" : "(confidence " + task.confidence.toFixed(2) + ")";
    renderItem();
    renderLabels();
    state.shownAt = performance.now();
    setStatus((note ? note + " · " : "") + "Task " + task.assignment + " · item " + task.row_id + " · " + state.done + " submitted in this session");
    $("item").focus();
  }

  async function run(work) {
    if (state.busy) return;
    state.busy = true;
    try { await work(); } catch (err) { setStatus(err.message, true); } finally { state.busy = false; }
  }

  function loadNext(note) {
    return run(async function () {
      const data = await dw.api("GET", base + "/next");
      show(data.task, note);
    });
  }

  function submit() {
    const value = answer();
    if (!state.task) return;
    if (value === null) {
      setStatus("Choose a label first (press its key).", true);
      return;
    }
    const task = state.task;
    const usedSuggestion = task.suggestion !== null && JSON.stringify(value) === JSON.stringify(task.suggestion);
    return run(async function () {
      await dw.api("POST", "/api/tasks/" + task.assignment + "/submit", {
        value: value, duration_ms: Math.round(performance.now() - state.shownAt), suggestion_used: usedSuggestion
      });
      state.done += 1;
      const data = await dw.api("GET", base + "/next");
      show(data.task, "Saved");
    });
  }

  function undo() {
    return run(async function () {
      const data = await dw.api("POST", base + "/undo");
      state.done = Math.max(0, state.done - 1);
      show(data.task, "Undone: change the answer and submit again");
    });
  }

  function skip() {
    const reason = $("skip-reason").value.trim();
    if (!state.task) return;
    if (!reason) { $("skip-reason").focus(); setStatus("Write why you skip, then press Enter.", true); return; }
    const task = state.task;
    return run(async function () {
      await dw.api("POST", "/api/tasks/" + task.assignment + "/skip", { reason: reason });
      $("skip-reason").value = "";
      const data = await dw.api("GET", base + "/next");
      show(data.task, "Skipped");
    });
  }

  function moveCursor(event) {
    const last = state.tokens.length - 1;
    const step = event.key === "ArrowRight" ? 1 : -1;
    if (event.shiftKey) state.extent = Math.max(0, Math.min(last - state.cursor, state.extent + step));
    else { state.cursor = Math.max(0, Math.min(last, state.cursor + step)); state.extent = 0; }
    renderItem();
  }

  document.addEventListener("keydown", function (event) {
    if (event.target === $("skip-reason")) {
      if (event.key === "Enter") { event.preventDefault(); skip(); }
      if (event.key === "Escape") { $("skip-reason").blur(); $("item").focus(); }
      return;
    }
    if (event.ctrlKey || event.metaKey) return;
    const spans = project.task_type === "spans";
    if (spans && (event.key === "ArrowRight" || event.key === "ArrowLeft") && (event.altKey || event.shiftKey)) {
      event.preventDefault();
      moveCursor(event);
    } else if (event.key === "Enter" || event.key === "ArrowRight") {
      event.preventDefault();
      submit();
    } else if (event.key === "ArrowLeft" || event.key === "Backspace") {
      event.preventDefault();
      undo();
    } else if (event.key === "Escape") {
      event.preventDefault();
      $("skip-reason").focus();
    } else if (spans && event.key === "Delete") {
      state.spans.pop();
      renderItem();
    } else if (!event.altKey && byKey[event.key.toLowerCase()]) {
      event.preventDefault();
      choose(byKey[event.key.toLowerCase()]);
    }
  });
  $("submit").addEventListener("click", submit);
  $("undo").addEventListener("click", undo);
  $("skip").addEventListener("click", skip);
  renderLabels();
  loadNext();
})();
