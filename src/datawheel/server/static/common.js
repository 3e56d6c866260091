// Shared helpers of the pages: the API with the session's CSRF token, and DOM built as text only.
"use strict";

window.dw = (function () {
  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  async function api(method, path, body) {
    const options = { method: method, headers: { "X-CSRF-Token": csrf() }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    if (response.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
      throw new Error("signed out");
    }
    const data = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      throw new Error(data.error ? data.error + (data.hint ? " — " + data.hint : "") : "HTTP " + response.status);
    }
    return data;
  }

  // An element with text content only: data never becomes HTML.
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function projectData() {
    return JSON.parse(document.getElementById("project-data").textContent);
  }

  function show(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    if (Array.isArray(value) && value.length && typeof value[0] === "object") {
      return value.map(function (s) { return s.label + "[" + s.start + ":" + s.end + "]"; }).join(", ");
    }
    if (Array.isArray(value)) return value.join(", ");
    return JSON.stringify(value);
  }

  return { api: api, el: el, projectData: projectData, show: show };
})();
