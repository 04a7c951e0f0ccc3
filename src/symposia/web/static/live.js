// The live page: one EventSource, one panel per step. Model text is untrusted: it only ever goes
// into the page as text (textContent / text nodes), never as HTML.
"use strict";
(function () {
  const panels = document.getElementById("panels");
  if (!panels) return;
  const statusEl = document.getElementById("live-status");
  const sessionEl = document.getElementById("live-session");
  const errorEl = document.getElementById("live-error");
  const notesEl = document.getElementById("live-notes");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function panel(key) {
    for (const p of panels.querySelectorAll("section.panel")) {
      if (p.dataset.key === key) return p;
    }
    return null;
  }

  function ensurePanel(d) {
    let p = panel(d.key);
    if (p) return p;
    p = el("section", "panel");
    p.dataset.key = d.key;
    p.dataset.status = "streaming";
    const h = el("h2");
    h.append(el("span", "name", d.name), " ", el("span", "label", d.label), " ", el("span", "pstatus", "streaming"));
    const reasoning = el("pre", "reasoning");
    reasoning.hidden = true;
    p.append(h, reasoning, el("pre", "answer"), el("p", "detail"));
    panels.append(p);
    return p;
  }

  function setStatus(p, status) {
    p.dataset.status = status;
    p.querySelector(".pstatus").textContent = status;
  }

  function money(x) { return x === null || x === undefined ? "—" : "$" + Number(x).toFixed(4); }

  function finishPanel(p, d) {
    setStatus(p, d.status);
    const answer = p.querySelector(".answer");
    // d.html was rendered from Markdown and sanitised on the server (nh3 allow-list: no script, no
    // event handlers, no images); without it, the plain text.
    if (typeof d.html === "string") { answer.innerHTML = d.html; answer.classList.add("md"); }
    else if (typeof d.text === "string") answer.textContent = d.text;
    const bits = [];
    if (d.finish_reason) bits.push("finish: " + d.finish_reason);
    if (d.latency_s !== undefined) bits.push(Number(d.latency_s).toFixed(2) + " s");
    bits.push("cost " + money(d.cost));
    if (d.flags && d.flags.length) bits.push("flags: " + d.flags.join(", "));
    if (d.error) bits.push("error: " + d.error);
    p.querySelector(".detail").textContent = bits.join(" · ");
  }

  function showSession(id) {
    if (!id || sessionEl.querySelector("a")) return;
    const a = el("a", null, "Open the session record");
    a.href = "/session/" + encodeURIComponent(id);
    sessionEl.append(a);
  }

  function end(d) {
    statusEl.textContent = d.status;
    statusEl.dataset.status = d.status;
    showSession(d.session_id);
    if (d.error) { errorEl.textContent = d.error; errorEl.hidden = false; }
  }

  const source = new EventSource(panels.dataset.events);
  const on = (name, fn) => source.addEventListener(name, (ev) => fn(JSON.parse(ev.data)));

  on("snapshot", (s) => {
    panels.replaceChildren();
    notesEl.replaceChildren(...s.notes.map((n) => el("li", null, n)));
    for (const d of s.panels) {
      const p = ensurePanel(d);
      p.querySelector(".answer").textContent = d.text;
      const r = p.querySelector(".reasoning");
      r.textContent = d.reasoning;
      r.hidden = !d.reasoning;
      if (d.status !== "streaming") finishPanel(p, d);
    }
    showSession(s.session_id);
    if (s.status !== "running") { end(s); source.close(); }
  });
  on("note", (d) => notesEl.append(el("li", null, d.text)));
  on("start", (d) => ensurePanel(d));
  on("chunk", (d) => { const p = panel(d.key); if (p) p.querySelector(".answer").append(document.createTextNode(d.text)); });
  on("reasoning", (d) => {
    const p = panel(d.key);
    if (!p) return;
    const r = p.querySelector(".reasoning");
    r.hidden = false;
    r.append(document.createTextNode(d.text));
  });
  on("restart", (d) => {
    const p = panel(d.key);
    if (!p) return;
    p.querySelector(".answer").textContent = "";
    p.querySelector(".reasoning").textContent = "";
    p.querySelector(".detail").textContent = "retrying: " + d.reason;
  });
  on("done", (d) => { const p = panel(d.key); if (p) finishPanel(p, d); showSession(d.session_id); });
  on("end", (d) => { end(d); source.close(); });
})();
