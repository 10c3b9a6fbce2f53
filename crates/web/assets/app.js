// procdash dashboard. Reads the JSON API with the session cookie (GET only); admin actions are
// CSRF-checked forms. DOM is built with textContent only: no API value is parsed as HTML.
"use strict";
(function () {
  const body = document.body;
  const page = body.dataset.page;
  const API = body.dataset.api || "/api/v1";
  const ID = body.dataset.id;
  const ADMIN = body.dataset.role === "admin";
  const LIVE_MS = 1000;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const fmt = (t) => (t ? new Date(t).toISOString().replace("T", " ").slice(0, 19) : "–");
  const pct = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(1) + " %");
  const num = (x) => (x === null || x === undefined ? "–" : String(Math.round(x * 100) / 100));
  const status = (s) => el("span", { class: "status s-" + s }, s);

  async function api(path) {
    const res = await fetch(API + path, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (res.status === 401) { window.location.assign("/ui/login"); throw new Error("signed out"); }
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new Error((json && json.message) || ("HTTP " + res.status));
    return json;
  }
  function showError(err) {
    const p = document.getElementById("error");
    if (p) { p.hidden = false; p.textContent = err.message; }
  }
  function fill(tbodyOf, rows) {
    const tbody = document.querySelector("#" + tbodyOf + " tbody");
    tbody.replaceChildren(...rows);
  }
  function cell(v, cls) { return el("td", { class: cls }, v); }
  function liveMark() {
    const l = document.getElementById("live");
    if (l) l.textContent = "live · " + new Date().toLocaleTimeString();
  }
  // Live: the page refreshes on each event of the change feed (GET /events, the session cookie
  // is its credential). Where the feed cannot be opened, it reads the API again every second.
  const FEED_EVENTS = ["run.created", "run.status_changed", "step_run.updated", "rerun.created"];
  function live(fn) {
    let busy = false, again = false, timer = null;
    const tick = async () => {
      if (busy) { again = true; return; }
      busy = true;
      try { await fn(); liveMark(); } catch (e) { showError(e); } finally {
        busy = false;
        if (again) { again = false; tick(); }
      }
    };
    const poll = () => { if (!timer) timer = setInterval(() => { if (!document.hidden) tick(); }, LIVE_MS); };
    tick();
    if (!window.EventSource) { poll(); return; }
    const es = new EventSource(API + "/events");
    es.onopen = () => { body.dataset.live = "feed"; if (timer) { clearInterval(timer); timer = null; } };
    for (const t of FEED_EVENTS) es.addEventListener(t, () => tick());
    es.addEventListener("reset", () => tick());
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) { body.dataset.live = "poll"; poll(); } };
  }

  // Any table can be downloaded as CSV: exactly the rows and columns shown.
  function tableCsv(table) {
    const q = (s) => '"' + s.replace(/"/g, '""') + '"';
    return Array.from(table.querySelectorAll("tr"))
      .map((tr) => Array.from(tr.children).map((c) => q(c.textContent.trim())).join(","))
      .join("\r\n") + "\r\n";
  }
  function download(name, href) {
    const a = el("a", { href: href, download: name });
    document.body.append(a); a.click(); a.remove();
  }
  document.addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-csv], button[data-png]");
    if (!b) return;
    if (b.dataset.csv) {
      const t = document.getElementById(b.dataset.csv);
      const url = URL.createObjectURL(new Blob([tableCsv(t)], { type: "text/csv" }));
      download(b.dataset.csv + ".csv", url);
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } else {
      const canvas = document.querySelector("#" + b.dataset.png + " canvas");
      if (canvas) download(b.dataset.png + ".png", canvas.toDataURL("image/png"));
    }
  });
  // Every admin action asks first.
  document.addEventListener("submit", (ev) => {
    const f = ev.target;
    if (f.dataset.confirm && !window.confirm(f.dataset.confirm)) ev.preventDefault();
  });

  function health(r) {
    const b = [];
    if (r.late_runs > 0) b.push(el("span", { class: "badge late" }, r.late_runs + " late"));
    if (r.stuck_runs > 0) b.push(el("span", { class: "badge stuck" }, r.stuck_runs + " stuck"));
    if (!b.length) b.push(el("span", { class: "badge ok" }, "ok"));
    return el("td", {}, ...b);
  }

  function processesPage() {
    live(async () => {
      const o = await api("/dashboard/overview");
      fill("processes", o.processes.length ? o.processes.map((p) => el("tr", { "data-process": p.process_id },
        el("td", {}, el("a", { href: "/ui/processes/" + p.process_id }, p.name)),
        cell(p.total_runs, "num"), cell(p.pending_runs, "num"), cell(p.running_runs, "num"),
        cell(p.completed_runs, "num"), cell(p.failed_runs, "num"), cell(p.cancelled_runs, "num"),
        cell(pct(p.success_rate), "num"), cell(p.runs_last_24h, "num"), cell(p.failures_last_24h, "num"),
        health(p))) : [el("tr", {}, el("td", { colspan: 11 }, "No processes yet."))]);
    });
  }

  // ---- process page
  function plot(id, opts, data) {
    const target = document.getElementById(id);
    target.replaceChildren();
    // uPlot needs a canvas-sized box; the figure keeps the size.
    return new window.uPlot(Object.assign({ width: 460, height: 220 }, opts), data, target);
  }
  const anomalyAt = (b, metric) => b.anomalies.some((a) => a.metric === metric);
  function ringsAt(points) {
    // Draws a ring on every point flagged as an anomaly.
    return { hooks: { draw: [(u) => {
      const ctx = u.ctx; ctx.save(); ctx.strokeStyle = "#b3261e"; ctx.lineWidth = 2;
      for (const [si, i] of points) {
        const v = u.data[si][i]; if (v === null || v === undefined) continue;
        const x = u.valToPos(u.data[0][i], "x", true), y = u.valToPos(v, "y", true);
        ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.stroke();
      }
      ctx.restore();
    }] } };
  }
  async function kpiCharts() {
    const k = await api("/processes/" + ID + "/kpis");
    const xs = k.buckets.map((b) => Date.parse(b.bucket) / 1000);
    let fc = null;
    try { fc = await api("/processes/" + ID + "/kpis/forecast?metric=runs_started&horizon=7"); }
    catch (e) { document.getElementById("forecast-note").textContent = "No forecast: " + e.message; }
    const fx = fc ? fc.points.map((p) => Date.parse(p.bucket) / 1000) : [];
    const allX = xs.concat(fx);
    const pad = (arr) => arr.concat(fx.map(() => null));
    const lead = (arr) => xs.map(() => null).concat(arr);
    plot("chart-runs", {
      series: [{}, { label: "started", stroke: "#0b57b0" }, { label: "completed", stroke: "#1b6e2f" },
        { label: "failed", stroke: "#b3261e" }, { label: "cancelled", stroke: "#7a4b00" },
        { label: "forecast low", stroke: "#8a8f98", dash: [4, 4] },
        { label: "forecast high", stroke: "#8a8f98", dash: [4, 4] }],
      bands: fc ? [{ series: [6, 5], fill: "rgba(11,87,176,0.12)" }] : [],
    }, [allX, pad(k.buckets.map((b) => b.runs_started)), pad(k.buckets.map((b) => b.runs_completed)),
      pad(k.buckets.map((b) => b.runs_failed)), pad(k.buckets.map((b) => b.runs_cancelled)),
      lead(fc ? fc.points.map((p) => p.lower) : []), lead(fc ? fc.points.map((p) => p.upper) : [])]);
    const failRings = k.buckets.map((b, i) => (anomalyAt(b, "failure_rate") ? [1, i] : null)).filter(Boolean);
    plot("chart-failure", Object.assign({ series: [{}, { label: "failure rate %", stroke: "#b3261e" }] }, ringsAt(failRings)),
      [xs, k.buckets.map((b) => b.failure_rate)]);
    const durRings = k.buckets.map((b, i) => (anomalyAt(b, "median_duration_seconds") ? [1, i] : null)).filter(Boolean);
    plot("chart-duration", Object.assign({ series: [{}, { label: "median", stroke: "#0b57b0" }, { label: "p95", stroke: "#6b3fa0" }] }, ringsAt(durRings)),
      [xs, k.buckets.map((b) => b.median_duration_seconds), k.buckets.map((b) => b.p95_duration_seconds)]);
  }
  async function stepBreakdown() {
    const d = await api("/dashboard/process/" + ID);
    document.getElementById("title").textContent = d.process.name;
    document.title = d.process.name + " · procdash";
    fill("steps", d.steps.map((s) => el("tr", {}, cell(s.index, "num"), cell(s.name), cell(s.success, "num"),
      cell(s.failed, "num"), cell(s.running, "num"), cell(s.pending, "num"), cell(pct(s.failure_rate), "num"),
      cell(num(s.p50_duration_seconds), "num"), cell(num(s.p95_duration_seconds), "num"))));
  }
  async function metaFields() {
    const f = await api("/processes/" + ID + "/searchable-fields");
    const sel = document.getElementById("f-field");
    for (const name of Object.keys(f.searchable_fields.metadata_fields)) sel.append(el("option", { value: name }, name));
  }
  function runFilters() {
    const v = (id) => document.getElementById(id).value.trim();
    const p = new URLSearchParams();
    p.set("process_id", ID);
    if (v("f-status")) p.set("status", v("f-status"));
    if (v("f-from")) p.set("created_after", v("f-from") + "T00:00:00Z");
    if (v("f-to")) p.set("created_before", v("f-to") + "T23:59:59Z");
    if (v("f-field") && v("f-value")) p.append("meta_filter", v("f-field") + ":" + v("f-value"));
    return p;
  }
  function runRow(r) {
    return el("tr", { "data-run": r.id },
      el("td", { class: "num" }, el("a", { href: "/ui/runs/" + r.id }, "#" + r.id)),
      el("td", {}, el("a", { href: "/ui/entities/" + encodeURIComponent(r.entity_id) }, r.entity_id)),
      el("td", {}, status(r.status)), cell(r.health), cell(fmt(r.started_at)), cell(fmt(r.finished_at)));
  }
  function processPage() {
    let cursor = null;
    let shown = [];
    const q = () => document.getElementById("f-q").value.trim();
    async function loadRuns(append) {
      const f = runFilters();
      let page;
      if (q()) {
        const s = new URLSearchParams({ q: q(), process_id: ID, size: "25" });
        if (append && cursor) s.set("cursor", cursor);
        page = await api("/runs/search?" + s);
        // The search spans the process's runs; the other filters apply when it is empty.
        page.items = page.items.map((h) => h.run);
      } else {
        f.set("size", "25");
        if (append && cursor) f.set("cursor", cursor);
        page = await api("/runs/?" + f);
      }
      cursor = page.next_cursor || null;
      shown = append ? shown.concat(page.items) : page.items;
      fill("runs", shown.map(runRow));
      document.getElementById("runs-count").textContent = shown.length + " runs shown" + (cursor ? " (more available)" : "");
      document.getElementById("next-page").hidden = !cursor;
      const ex = runFilters(); ex.delete("cursor");
      ex.set("format", "csv"); document.getElementById("export-csv").href = API + "/runs/export?" + ex;
      ex.set("format", "xlsx"); document.getElementById("export-xlsx").href = API + "/runs/export?" + ex;
    }
    const form = document.getElementById("run-filters");
    form.addEventListener("submit", (ev) => { ev.preventDefault(); cursor = null; loadRuns(false).catch(showError); });
    form.addEventListener("reset", () => setTimeout(() => { cursor = null; loadRuns(false).catch(showError); }, 0));
    document.getElementById("next-page").addEventListener("click", () => loadRuns(true).catch(showError));
    stepBreakdown().catch(showError);
    metaFields().catch(showError);
    kpiCharts().catch(showError);
    // Live: the first page of runs and the step counts refresh while nobody pages further.
    live(async () => { if (!cursor || shown.length <= 25) { await loadRuns(false); await stepBreakdown(); } });
  }

  // ---- run page
  // One bar per step and attempt, placed on a common time axis.
  function timeline(attempts, names) {
    const times = attempts.flatMap((s) => [s.started_at, s.finished_at]).filter(Boolean).map(Date.parse);
    const now = Date.now();
    const t0 = times.length ? Math.min(...times) : now;
    const t1 = Math.max(now, ...times, t0 + 1000);
    const span = t1 - t0;
    return attempts.map((s) => {
      const start = s.started_at ? Date.parse(s.started_at) : null;
      const end = s.finished_at ? Date.parse(s.finished_at) : (start ? now : null);
      const bar = el("div", { class: "tl-bar s-" + s.status, title: s.status });
      if (start !== null) {
        bar.style.left = ((start - t0) / span * 100) + "%";
        bar.style.width = Math.max(0.5, (end - start) / span * 100) + "%";
      } else { bar.style.left = "0"; bar.style.width = "0"; }
      const label = (names[s.step_id] || ("step " + s.step_index)) + (s.attempt > 1 ? " (attempt " + s.attempt + ")" : "") + ": ";
      return el("div", { class: "tl-row", role: "listitem", "data-step-run": s.id, "data-status": s.status, "data-attempt": s.attempt },
        el("span", { class: "tl-label" }, label, status(s.status)),
        el("div", { class: "tl-track" }, bar));
    });
  }
  function dispatchText(d) {
    if (!d) return "–";
    const last = d.tries.length ? d.tries[d.tries.length - 1] : null;
    const lastText = last ? ", last: " + (last.http_status ? "HTTP " + last.http_status : (last.error || "no answer")) + " at " + fmt(last.at) : "";
    return d.state + " via " + d.adapter + ", " + d.tries.length + " tries" + lastText;
  }
  function rerunControl(s, rerunnable) {
    if (!ADMIN || !rerunnable.has(s.id)) return "–";
    return el("form", { method: "post", action: "/ui/step-runs/" + s.id + "/rerun", class: "inline",
      "data-confirm": "Rerun step " + s.step_index + "? A new attempt is created and dispatched." },
      el("input", { type: "hidden", name: "csrf", value: body.dataset.csrf }),
      el("button", { type: "submit", class: "danger", "data-rerun": s.id }, "Rerun step " + s.step_index));
  }

  function runPage() {
    let names = {};
    async function load() {
      const run = await api("/runs/" + ID);
      if (!Object.keys(names).length) {
        const p = await api("/processes/" + run.process_id);
        for (const s of p.steps) names[s.id] = s.name;
        document.getElementById("title").textContent = "Run " + run.id + " of " + p.name;
      }
      const sum = document.getElementById("summary");
      const pair = (k, v) => [el("dt", {}, k), el("dd", {}, v)];
      sum.replaceChildren(...pair("Status", status(run.status)), ...pair("Health", run.health),
        ...pair("Entity", el("a", { href: "/ui/entities/" + encodeURIComponent(run.entity_id) }, run.entity_id)),
        ...pair("Process", el("a", { href: "/ui/processes/" + run.process_id }, String(run.process_id))),
        ...pair("Started", fmt(run.started_at)), ...pair("Finished", fmt(run.finished_at)));
      sum.dataset.status = run.status;
      const rerunnable = new Set(ADMIN ? (await api("/step-runs/run/" + ID + "/rerunnable")).map((x) => x.id) : []);
      // Steps that were rerun: the whole chain of attempts, with each rerun's dispatch.
      const chains = await Promise.all(run.steps.map((s) => (s.attempt > 1 ? api("/step-runs/" + s.id + "/attempts") : [s])));
      const attempts = chains.flat();
      document.getElementById("timeline").replaceChildren(...timeline(attempts, names));
      const reruns = attempts.filter((a) => a.attempt > 1);
      const dispatches = await Promise.all(reruns.map((a) => api("/step-runs/" + a.id + "/dispatch").catch(() => null)));
      fill("attempts", reruns.length ? reruns.map((a, i) => el("tr", { "data-attempt-of": a.original_step_run_id },
        cell(a.step_index, "num"), cell(a.attempt, "num"), el("td", {}, status(a.status)), cell(fmt(a.started_at)),
        cell(fmt(a.finished_at)), cell(dispatchText(dispatches[i])))) : [el("tr", {}, el("td", { colspan: 6 }, "No reruns."))]);
      fill("step-runs", run.steps.map((s) => el("tr", { "data-step-run": s.id },
        cell(s.step_index, "num"), el("td", {}, status(s.status)), cell(fmt(s.started_at)), cell(fmt(s.finished_at)),
        el("td", {}, s.failure ? el("pre", { class: "failure" }, JSON.stringify(s.failure, null, 2)) : "–"),
        el("td", {}, rerunControl(s, rerunnable)))));
      {
        const h = await api("/runs/" + ID + "/history?size=100");
        fill("history", h.items.map((c) => el("tr", {}, cell(fmt(c.occurred_at)), cell(c.entity + " " + c.record_id),
          cell(c.operation), cell(c.actor || "–"), cell(c.changed_fields.join(", ")))));
      }
    }
    live(load);
  }

  function entityPage() {
    let cursor = null;
    let rows = [];
    async function load(append) {
      const p = new URLSearchParams({ size: "50" });
      if (append && cursor) p.set("cursor", cursor);
      const j = await api("/entities/" + encodeURIComponent(ID) + "/runs?" + p);
      cursor = j.next_cursor || null;
      rows = (append ? rows : []).concat(j.items.map((r) => el("tr", {}, cell(fmt(r.created_at)),
        el("td", {}, el("a", { href: "/ui/processes/" + r.process_id }, r.process_name)),
        el("td", { class: "num" }, el("a", { href: "/ui/runs/" + r.run_id }, "#" + r.run_id)),
        el("td", {}, status(r.status)), cell(fmt(r.started_at)), cell(fmt(r.finished_at)))));
      fill("journey", rows);
      document.getElementById("next-page").hidden = !cursor;
    }
    document.getElementById("next-page").addEventListener("click", () => load(true).catch(showError));
    load(false).catch(showError);
  }

  const pages = { processes: processesPage, process: processPage, run: runPage, entity: entityPage };
  if (pages[page]) pages[page]();
})();
