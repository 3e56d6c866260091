// The review page: every label given to a contested item, and the reviewer's decision. Text only.
"use strict";

(function () {
  const project = dw.projectData();
  const base = "/api/projects/" + encodeURIComponent(project.name);
  const byKey = {};
  project.labels.forEach(function (l) { if (l.hotkey) byKey[l.hotkey.toLowerCase()] = l.name; });
  let first = null;
  const $ = function (id) { return document.getElementById(id); };

  function itemView(item) {
    const card = dw.el("article", null, "review-item");
    card.dataset.item = item.item;
    card.appendChild(dw.el("h3", "Item " + item.row_id + (item.flag ? " · flagged: " + item.flag : "") + " · " + item.round));
    if (project.task_type === "image") {
      const img = document.createElement("img");
      img.src = "/api/items/" + item.item + "/blob";
      img.alt = "item " + item.row_id;
      img.className = "image";
      card.appendChild(img);
    } else {
      card.appendChild(dw.el("p", item.payload.text || "", "text"));
    }
    if (item.suggestion !== null) card.appendChild(dw.el("p", "Suggested by a model: " + dw.show(item.suggestion), "suggestion"));
    const list = dw.el("ul", null, "answers");
    item.annotations.forEach(function (a) {
      const li = dw.el("li");
      li.appendChild(dw.el("strong", a.annotator));
      li.appendChild(dw.el("span", ": " + dw.show(a.value) + " "));
      const accept = dw.el("button", "Accept " + a.annotator + "'s answer", "small");
      accept.type = "button";
      accept.addEventListener("click", function () { decide(item, a.value); });
      li.appendChild(accept);
      list.appendChild(li);
    });
    card.appendChild(list);
    if (project.task_type === "single" || project.task_type === "image") {
      const row = dw.el("div", null, "labels");
      project.labels.forEach(function (l) {
        const b = dw.el("button", null, "label");
        b.type = "button";
        b.dataset.label = l.name;
        b.style.setProperty("--colour", l.colour);
        if (l.hotkey) b.appendChild(dw.el("kbd", l.hotkey));
        b.appendChild(dw.el("span", " " + l.name));
        b.addEventListener("click", function () { decide(item, l.name); });
        row.appendChild(b);
      });
      card.appendChild(row);
    }
    return card;
  }

  async function decide(item, value) {
    try {
      await dw.api("POST", "/api/items/" + item.item + "/review", { value: value });
      await load("Decided item " + item.row_id);
    } catch (err) {
      $("status").textContent = err.message;
      $("status").className = "error";
    }
  }

  async function load(note) {
    const items = await dw.api("GET", base + "/review");
    const queue = $("queue");
    queue.replaceChildren();
    items.forEach(function (item) { queue.appendChild(itemView(item)); });
    first = items.length ? items[0] : null;
    $("status").className = "muted";
    $("status").textContent = (note ? note + " · " : "") + items.length + " item(s) to review";
  }

  document.addEventListener("keydown", function (event) {
    if (!first || event.ctrlKey || event.metaKey || event.altKey) return;
    const name = byKey[event.key.toLowerCase()];
    if (name && (project.task_type === "single" || project.task_type === "image")) {
      event.preventDefault();
      decide(first, name);
    }
  });
  load().catch(function (err) { $("status").textContent = err.message; $("status").className = "error"; });
})();
