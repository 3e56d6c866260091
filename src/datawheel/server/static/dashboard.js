// The dashboard: progress, pace, class balance and agreement, refreshed every few seconds. Text only.
"use strict";

(function () {
  const project = dw.projectData();
  const base = "/api/projects/" + encodeURIComponent(project.name);
  const colours = {};
  project.labels.forEach(function (l) { colours[l.name] = l.colour; });
  const $ = function (id) { return document.getElementById(id); };

  function number(value, digits) {
    return value === null || value === undefined ? "–" : Number(value).toFixed(digits);
  }

  function rows(tableId, records, cells) {
    const body = $(tableId).querySelector("tbody");
    body.replaceChildren();
    records.forEach(function (r) {
      const tr = document.createElement("tr");
      cells(r).forEach(function (c) { tr.appendChild(dw.el("td", c)); });
      body.appendChild(tr);
    });
  }

  // Per annotator: the share of their paired labels that agree; per label: specific agreement.
  function agreementOf(r) {
    return number(r.agreement !== undefined ? r.agreement : r.specific_agreement, 2);
  }

  function render(s) {
    $("items-done").textContent = s.items_done;
    $("items").textContent = s.items;
    $("annotations").textContent = s.annotations;
    $("per-hour").textContent = s.items_per_hour;
    $("to-review").textContent = s.to_review;
    $("kappa").textContent = s.agreement ? number(s.agreement.krippendorff_alpha, 2) : "–";
    $("progress-bar").style.width = (s.items ? (100 * s.items_done) / s.items : 0) + "%";
    const balance = $("balance");
    balance.replaceChildren();
    s.per_label.forEach(function (l) {
      const row = dw.el("div", null, "bar-row");
      row.appendChild(dw.el("span", l.label, "bar-name"));
      const bar = dw.el("span", null, "bar");
      bar.style.width = Math.max(1, Math.round(l.share * 100)) + "%";
      bar.style.setProperty("--colour", colours[l.label] || "#888");
      row.appendChild(bar);
      row.appendChild(dw.el("span", l.count + " (" + Math.round(l.share * 100) + "%)", "bar-count"));
      balance.appendChild(row);
    });
    rows("annotators", s.per_annotator, function (a) {
      return [a.annotator, a.done, a.skipped, number(a.seconds_per_task, 1), number(a.items_per_hour, 1), agreementOf(a)];
    });
    rows("labels-table", s.per_label, function (l) {
      return [l.label, l.count, Math.round(l.share * 100) + "%", agreementOf(l)];
    });
    $("updated").textContent = "Updated " + new Date().toLocaleTimeString() + " · " + s.round + " round · " + s.skipped + " skipped";
  }

  async function pilot() {
    const box = $("pilot");
    if (!box) return;
    const items = await dw.api("GET", base + "/pilot");
    box.replaceChildren();
    if (!items.length) { box.appendChild(dw.el("p", "No disagreements in the pilot (yet).", "muted")); return; }
    const list = dw.el("ul", null, "pilot");
    items.forEach(function (item) {
      const li = dw.el("li");
      li.appendChild(dw.el("q", item.payload.text || item.row_id));
      li.appendChild(dw.el("span", " — " + item.annotations.map(function (a) { return a.annotator + ": " + dw.show(a.value); }).join("; ")));
      list.appendChild(li);
    });
    box.appendChild(list);
  }

  async function refresh() {
    try {
      render(await dw.api("GET", base + "/stats"));
      await pilot();
    } catch (err) {
      $("updated").textContent = err.message;
    }
  }
  refresh();
  setInterval(refresh, 5000);
})();
