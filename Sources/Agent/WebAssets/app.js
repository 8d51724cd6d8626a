"use strict";
(() => {
  const POLL_MS = 1000;
  const FETCH_TIMEOUT_MS = 1500;
  const HISTORY_EVERY = 3;
  const WINDOW_S = 300;
  const SMOOTH_S = 5;
  const PALETTE = ["#3b82f6", "#e0912b", "#14a37f", "#9b5de5", "#e0568a", "#0ea5c6", "#7a9a1e", "#6366f1"];
  const GONE = new Set(["dead", "left"]);
  const STATE_TONE = { participant: "ok", viewer: "neutral", terminating: "warn", suspect: "warn",
    dead: "bad", left: "neutral" };
  const HEALTH_TONE = { up: "ok", down: "bad", unknown: "neutral" };

  const app = {
    tick: 0, node: null, self: null, members: [], membersAt: 0, online: false,
    targets: new Map(), throughput: new Map(), changes: new Map(), historyNow: 0, historyLoaded: false,
    colours: new Map(), selected: null, hoverTimeline: false,
    components: null, graph: null, graphWindow: 5, detailID: null, detail: null, detailError: null,
  };
  const COMPONENT_TONE = { healthy: "ok", unhealthy: "bad", unknown: "neutral", exited: "warn" };
  const VIEWS = ["overview", "graph", "component", "clustering", "targets", "throughput", "timeline"];
  const $ = (id) => document.getElementById(id);
  const fmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

  // Elements: h("td", { class: "x", dataset: { name: "a" } }, child, "text", ...)
  function h(tag, attrs, ...children) {
    const svg = ["svg", "path", "line", "text", "g", "rect", "circle", "title"].includes(tag);
    const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "dataset") { for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v); }
      else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  async function getJSON(url) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      const response = await fetch(url, { signal: controller.signal, cache: "no-store" });
      if (!response.ok) throw new Error(url + ": HTTP " + response.status);
      return await response.json();
    } finally {
      clearTimeout(timer);
    }
  }

  // Where a member's API is, as seen from this browser.
  function base(member) {
    if (member.isSelf) return "";
    let addr = member.addr || "";
    const m = addr.match(/^(.*):(\d+)$/);
    if (!m) return "http://" + addr;
    let host = m[1];
    if (host === "" || host === "0.0.0.0" || host === "[::]" || host === "::") host = location.hostname;
    return location.protocol + "//" + host + ":" + m[2];
  }

  function colour(name) {
    if (!name) return "var(--faint)";
    if (!app.colours.has(name)) app.colours.set(name, PALETTE[app.colours.size % PALETTE.length]);
    return app.colours.get(name);
  }
  const who = (name) => name
    ? h("span", { class: "who" }, h("span", { class: "swatch", style: { background: colour(name) } }), name)
    : h("span", { class: "none" }, "nobody");

  function clock(ms, seconds = true) {
    const options = { hour: "2-digit", minute: "2-digit", hour12: false };
    if (seconds) options.second = "2-digit";
    return new Date(ms).toLocaleTimeString([], options);
  }
  function ago(ms) {
    const s = Math.max(0, (Date.now() - ms) / 1000);
    if (s < 10) return s.toFixed(1) + " s ago";
    if (s < 90) return Math.round(s) + " s ago";
    if (s < 5400) return Math.round(s / 60) + " min ago";
    return Math.round(s / 3600) + " h ago";
  }
  function span(seconds) {
    if (seconds < 90) return Math.round(seconds) + " s";
    if (seconds < 5400) return Math.round(seconds / 60) + " min";
    return (seconds / 3600).toFixed(1) + " h";
  }

  // ---- Polling ----

  async function poll() {
    app.tick += 1;
    try {
      const answer = await getJSON("/api/v0/cluster/members");
      app.node = answer.node;
      app.members = answer.members;
      app.self = answer.members.find((m) => m.isSelf) || { name: answer.node, addr: location.host };
      app.membersAt = Date.now();
      app.online = true;
      for (const m of [...app.members].sort((a, b) => a.name.localeCompare(b.name))) colour(m.name);
    } catch (error) {
      app.online = false;
    }
    // The members first: a peer that does not answer must not hold up the clustering view.
    renderHeader();
    renderMembers();
    const live = app.online ? app.members.filter((m) => !GONE.has(m.state)) : [];
    const liveNames = new Set(live.map((m) => m.name));
    await Promise.all(live.map(async (member) => {
      const [targets, rate] = await Promise.allSettled([
        getJSON(base(member) + "/api/v0/web/targets"),
        getJSON(base(member) + "/api/v0/throughput?seconds=" + WINDOW_S),
      ]);
      if (targets.status === "fulfilled") app.targets.set(member.name, { at: Date.now(), ...targets.value });
      else app.targets.delete(member.name);
      const known = app.throughput.get(member.name);
      if (rate.status === "fulfilled") {
        app.throughput.set(member.name, { points: rate.value.points, live: true, at: Date.now() });
      } else if (known) known.live = false;
    }));
    for (const name of [...app.targets.keys()]) if (!liveNames.has(name)) app.targets.delete(name);
    for (const [name, series] of app.throughput) {
      if (!liveNames.has(name)) series.live = false;
      if (!series.live && Date.now() - series.at > WINDOW_S * 1000) app.throughput.delete(name);
    }
    if (app.online && (!app.historyLoaded || app.tick % HISTORY_EVERY === 0)) await pollHistory();
    if (app.online) await pollComponents();
    render();
  }

  // This member's components (Alloy's /api/v0/web/components), what leaves each one (the graph's
  // edges, only on the Graph view: each reading is a point of the rates) and the open detail page.
  async function pollComponents() {
    const view = document.body.dataset.view;
    const [list, graph, detail] = await Promise.allSettled([
      getJSON("/api/v0/web/components"),
      view === "graph" ? getJSON("/api/v0/web/graph?window=" + app.graphWindow) : Promise.resolve(null),
      view === "component" && app.detailID
        ? getJSON("/api/v0/web/components/" + encodeURIComponent(app.detailID)) : Promise.resolve(null),
    ]);
    if (list.status === "fulfilled") app.components = list.value;
    if (graph.status === "fulfilled" && graph.value) app.graph = graph.value;
    if (detail.status === "fulfilled" && detail.value) { app.detail = detail.value; app.detailError = null; }
    else if (detail.status === "rejected") { app.detail = null; app.detailError = String(detail.reason.message); }
  }

  async function pollHistory() {
    // The whole history once, then the recent changes (changes can take effect in the future).
    const since = app.historyLoaded ? "&since=" + (Date.now() - 600000) : "";
    try {
      const answer = await getJSON("/api/v0/ownership-history?x=1" + since);
      for (const change of answer.changes) {
        app.changes.set(change.walPosition + "/" + change.key + "/" + change.to, change);
      }
      app.historyNow = answer.now;
      app.historyLoaded = true;
    } catch (error) { /* keep what we have */ }
  }

  async function loop() {
    try { await poll(); } catch (error) { console.error(error); }
    setTimeout(loop, POLL_MS);
  }

  // ---- Merging ----

  // Every target once, its owner from this member's view, its health from the owner's own answer.
  function mergedTargets() {
    const byKey = new Map();
    const local = app.targets.get(app.node);
    const sources = local ? [[app.node, local], ...[...app.targets].filter(([n]) => n !== app.node)]
      : [...app.targets];
    for (const [, answer] of sources) {
      for (const t of answer.targets) {
        if (!byKey.has(t.key)) byKey.set(t.key, { key: t.key, job: t.job, url: t.url, labels: t.labels,
          owner: t.owner, weight: t.weight, status: null, reporter: null });
      }
    }
    for (const target of byKey.values()) {
      const answer = target.owner && app.targets.get(target.owner);
      const status = answer && answer.targets.find((t) => t.key === target.key);
      if (status) { target.status = status; target.reporter = target.owner; }
    }
    return [...byKey.values()].sort((a, b) => a.job.localeCompare(b.job)
      || targetName(a).localeCompare(targetName(b), undefined, { numeric: true }));
  }
  const targetName = (t) => t.labels.instance || t.labels.__address__ || t.url || t.key;
  const healthOf = (t) => (t.status ? t.status.health : "unknown");

  function rateSeries() {
    const now = Math.floor(Date.now() / 1000) - 1;
    const start = now - WINDOW_S + 1;
    const result = [];
    for (const [name, series] of [...app.throughput].sort((a, b) => a[0].localeCompare(b[0]))) {
      const values = new Map(series.points.map((p) => [p.time, p.samples]));
      const raw = [];
      for (let t = start; t <= now; t++) raw.push(values.has(t) ? values.get(t) : null);
      const smooth = raw.map((v, i) => {
        if (v === null) return null;
        let sum = 0, n = 0;
        for (let j = Math.max(0, i - SMOOTH_S + 1); j <= i; j++) if (raw[j] !== null) { sum += raw[j]; n++; }
        return n ? sum / n : null;
      });
      let last = null;
      for (let i = smooth.length - 1; i >= 0; i--) if (smooth[i] !== null) { last = smooth[i]; break; }
      result.push({ name, live: series.live, values: smooth, last: series.live ? last : 0 });
    }
    return { start, now, series: result };
  }

  // ---- Rendering ----

  function render() {
    renderHeader();
    const targets = mergedTargets();
    const rates = rateSeries();
    renderSummary(targets, rates);
    renderMembers();
    renderShare(targets);
    renderTargets(targets);
    renderThroughput(rates);
    if (!app.hoverTimeline) renderTimeline();
    renderComponents();
    if (document.body.dataset.view === "graph") renderGraph();
    if (document.body.dataset.view === "component") renderDetail();
  }

  // ---- Components: the table, the graph, the detail page ----

  const componentLink = (id) => h("a", { class: "component-link", href: "#component/" + encodeURIComponent(id) }, id);
  const healthBadge = (health) => h("span", { class: "badge health", "data-tone": COMPONENT_TONE[health.state]
    || "neutral" }, health.state);

  function renderComponents() {
    const list = app.components || [];
    const rows = list.map((c) => h("tr", { class: "component", dataset: { id: c.localID, health: c.health.state } },
      h("td", {}, componentLink(c.localID)),
      h("td", {}, healthBadge(c.health)),
      h("td", { class: "col-message" }, c.health.message || h("span", { class: "none" }, "—")),
      h("td", {}, c.dataFlowEdgesTo.length ? c.dataFlowEdgesTo.map((id) => h("div", {}, componentLink(id)))
        : h("span", { class: "none" }, "—")),
    ));
    $("components").replaceChildren(...(rows.length ? rows : [h("tr", { class: "empty" },
      h("td", { colspan: 4 }, app.components ? "No components." : "Waiting for the components…"))]));
    const unhealthy = list.filter((c) => c.health.state !== "healthy").length;
    $("components-count").textContent = list.length ? list.length + " components"
      + (unhealthy ? ", " + unhealthy + " not healthy" : ", all healthy") : "";
  }

  function flowLabel(flow) {
    if (!flow) return "";
    if (flow.type === "target") return fmt.format(flow.count) + (flow.count === 1 ? " target" : " targets");
    return flow.rate == null ? "… samples/s" : fmtRate(flow.rate) + " samples/s";
  }
  function fmtRate(rate) {
    return rate < 10 ? rate.toFixed(1) : fmt.format(rate);
  }

  // Components in columns by their distance from the sources, data flowing left to right; the
  // remote-write endpoints as the last column.
  function graphLayout(list, flows) {
    const nodes = list.map((c) => ({ id: c.localID, kind: c.name, label: c.label, health: c.health, sink: false }));
    const byID = new Map(nodes.map((n) => [n.id, n]));
    const edges = [];
    const flowOf = new Map();
    for (const f of flows) if (!f.endpoint) flowOf.set(f.componentID, f);
    for (const c of list) {
      for (const to of c.dataFlowEdgesTo) if (byID.has(to)) edges.push({ from: c.localID, to, flow: flowOf.get(c.localID) });
    }
    for (const f of flows) {
      if (!f.endpoint || !byID.has(f.componentID)) continue;
      const id = "endpoint " + f.componentID + " " + f.endpoint;
      const host = (f.url || "").replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
      const sink = { id, kind: "remote endpoint", label: host || f.endpoint, title: f.endpoint + ": " + f.url, sink: true,
        health: null };
      nodes.push(sink);
      byID.set(id, sink);
      edges.push({ from: f.componentID, to: id, flow: f });
    }
    const layer = new Map(nodes.map((n) => [n.id, 0]));
    for (let round = 0; round < nodes.length; round++) {
      let changed = false;
      for (const e of edges) {
        if (layer.get(e.to) < layer.get(e.from) + 1) { layer.set(e.to, layer.get(e.from) + 1); changed = true; }
      }
      if (!changed) break;
    }
    const columns = [];
    for (const n of nodes) (columns[layer.get(n.id)] = columns[layer.get(n.id)] || []).push(n);
    const row = new Map();
    columns.forEach((column, index) => {
      if (index > 0) {
        const mean = (n) => {
          const from = edges.filter((e) => e.to === n.id).map((e) => row.get(e.from)).filter((v) => v !== undefined);
          return from.length ? from.reduce((a, b) => a + b, 0) / from.length : Infinity;
        };
        column.sort((a, b) => mean(a) - mean(b));
      }
      column.forEach((n, i) => row.set(n.id, i));
    });
    return { nodes, edges, columns, layer, row };
  }

  function renderGraph() {
    const box = $("graph");
    const list = app.components;
    if (!list) return;
    if (!list.length) { box.replaceChildren(h("p", { class: "empty" }, "No components.")); return; }
    const flows = app.graph ? app.graph.data : [];
    const { nodes, edges, columns, layer, row } = graphLayout(list, flows);
    const W = 180, H = 58, GX = 104, GY = 34, PAD = 12;
    const tallest = Math.max(...columns.map((c) => (c ? c.length : 0)));
    const width = PAD * 2 + columns.length * W + (columns.length - 1) * GX;
    const height = PAD * 2 + tallest * H + (tallest - 1) * GY + 10;
    const pos = new Map();
    for (const n of nodes) {
      const column = columns[layer.get(n.id)];
      const offset = ((tallest - column.length) * (H + GY)) / 2;
      pos.set(n.id, { x: PAD + layer.get(n.id) * (W + GX), y: PAD + offset + row.get(n.id) * (H + GY) });
    }
    // Scaled down to the panel's width when wider, never up.
    const svg = h("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
      style: { maxWidth: width + "px" }, "aria-label": "Component graph" });
    for (const e of edges) {
      const a = pos.get(e.from), b = pos.get(e.to);
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x - 7, y2 = b.y + H / 2, mx = (x1 + x2) / 2;
      const type = e.flow ? e.flow.type : "";
      svg.append(h("path", { class: "graph-edge", d: `M${x1} ${y1} C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}`,
        dataset: { from: e.from, to: e.to, type, count: e.flow ? e.flow.count : "",
          rate: e.flow && e.flow.rate != null ? e.flow.rate.toFixed(2) : "" } }));
      svg.append(h("path", { class: "arrow" + (type === "prometheus_metric" ? " metric" : ""),
        d: `M${x2} ${y2 - 5} L${x2 + 7} ${y2} L${x2} ${y2 + 5} Z` }));
      svg.append(h("text", { class: "edge-label", x: mx, y: (y1 + y2) / 2 - 7, "text-anchor": "middle",
        dataset: { from: e.from, to: e.to } }, flowLabel(e.flow)));
    }
    for (const n of nodes) {
      const p = pos.get(n.id);
      const tone = n.health ? COMPONENT_TONE[n.health.state] : null;
      const g = h("g", { class: "graph-node" + (n.sink ? " sink" : ""), transform: `translate(${p.x} ${p.y})`,
        dataset: { id: n.id, health: n.health ? n.health.state : "" },
        onclick: n.sink ? null : () => { location.hash = "#component/" + encodeURIComponent(n.id); } },
        h("title", {}, n.health ? n.id + ": " + n.health.state + (n.health.message ? " — " + n.health.message : "")
          : n.title || n.label),
        h("rect", { width: W, height: H, rx: 8 }),
        h("text", { class: "kind", x: 14, y: 22 }, n.kind),
        h("text", { class: "label", x: 14, y: 42 }, n.label.length > 19 ? n.label.slice(0, 18) + "…" : n.label));
      if (tone) g.append(h("circle", { class: "dot", cx: W - 16, cy: 37, r: 5,
        fill: `var(--${tone === "neutral" ? "faint" : tone})` }));
      svg.append(g);
    }
    box.replaceChildren(svg);
  }

  // A component's body in Alloy's syntax: attributes and blocks, secrets as (secret).
  function alloyBody(body, indent) {
    const out = [];
    for (const stmt of body || []) {
      if (stmt.type === "attr") {
        out.push(indent, h("span", { class: "key" }, stmt.name), " = ", ...alloyValue(stmt.value, indent), "\n");
      } else {
        out.push(indent, h("span", { class: "key" }, stmt.name), stmt.label ? " " + JSON.stringify(stmt.label) : "",
          " {\n", ...alloyBody(stmt.body, indent + "  "), indent, "}\n");
      }
    }
    return out;
  }
  function alloyValue(v, indent) {
    switch (v.type) {
      case "null": return ["null"];
      case "number": case "bool": case "function": return [String(v.value)];
      case "string": return [JSON.stringify(v.value)];
      case "capsule": return v.value === "(secret)" ? [h("span", { class: "secret" }, "(secret)")] : [v.value];
      case "array": {
        if (!v.value.length) return ["[]"];
        const inner = indent + "  ";
        return ["[\n", ...v.value.flatMap((item) => [inner, ...alloyValue(item, inner), ",\n"]), indent, "]"];
      }
      case "object": {
        if (!v.value.length) return ["{}"];
        const inner = indent + "  ";
        return ["{\n", ...v.value.flatMap((f) => [inner, JSON.stringify(f.key), " = ", ...alloyValue(f.value, inner),
          ",\n"]), indent, "}"];
      }
      default: return [JSON.stringify(v.value)];
    }
  }

  function renderDetail() {
    const box = $("component-detail");
    $("component-title").textContent = app.detailID || "Component";
    const d = app.detail && app.detail.localID === app.detailID ? app.detail : null;
    if (!d) {
      box.replaceChildren(h("p", { class: "empty" }, app.detailError ? "No such component: " + app.detailID
        : "Loading…"));
      return;
    }
    const links = (ids) => ids.length ? ids.map((id) => h("div", {}, componentLink(id)))
      : h("span", { class: "none" }, "none");
    const row = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
    const section = (name, title, body) => h("div", { class: "detail-section" }, h("h3", {}, title),
      body && body.length ? h("pre", { class: "body-text", dataset: { section: name } }, ...alloyBody(body, ""))
        : h("p", { class: "none", dataset: { section: name } }, "none"));
    box.replaceChildren(h("div", { class: "component-detail", dataset: { id: d.localID, health: d.health.state } },
      h("div", { class: "detail-health" }, healthBadge(d.health), h("span", { class: "health-message" },
        d.health.message || ""), d.health.updatedTime ? h("span", { class: "hint" }, "since "
          + new Date(d.health.updatedTime).toLocaleString()) : null),
      h("div", { class: "details" }, h("dl", {}, row("Component", d.name), row("Label", d.label),
        row("Uses", links(d.referencesTo)), row("Used by", links(d.referencedBy)),
        row("Data flows to", links(d.dataFlowEdgesTo)))),
      section("arguments", "Arguments", d.arguments),
      section("exports", "Exports", d.exports),
      section("debug", "Debug info", d.debugInfo)));
  }

  function renderHeader() {
    const status = $("status");
    status.dataset.state = app.online ? "live" : (app.membersAt ? "offline" : "connecting");
    $("status-text").textContent = app.online ? "live" : (app.membersAt ? "unreachable" : "connecting");
    if (app.self) {
      $("local-node").dataset.name = app.self.name;
      $("local-name").textContent = app.self.name;
      $("local-addr").textContent = app.self.addr;
      document.title = app.self.name + " · agentd";
    }
  }

  function renderSummary(targets, rates) {
    const live = app.members.filter((m) => !GONE.has(m.state));
    const participants = app.members.filter((m) => m.state === "participant");
    $("sum-members").textContent = live.length;
    $("sum-members-note").textContent = participants.length + " participating"
      + (app.members.length > live.length ? ", " + (app.members.length - live.length) + " gone" : "");
    $("sum-targets").textContent = targets.length;
    const up = targets.filter((t) => healthOf(t) === "up").length;
    const down = targets.filter((t) => healthOf(t) === "down").length;
    $("sum-targets-note").textContent = up + " up" + (down ? ", " + down + " down" : "");
    const total = rates.series.reduce((sum, s) => sum + (s.live && s.last ? s.last : 0), 0);
    $("sum-rate").textContent = rates.series.length ? fmt.format(total) : "–";
    const changes = [...app.changes.values()].filter((c) => c.effectiveMs <= Date.now());
    const last = changes.reduce((a, c) => (!a || c.effectiveMs > a.effectiveMs ? c : a), null);
    $("sum-change").textContent = last ? ago(last.effectiveMs) : "–";
    $("sum-change-note").textContent = last ? last.detail : "";
    $("sum-change-note").title = last ? last.cause.replace(/_/g, " ") + ": " + last.detail : "";
  }

  function renderMembers() {
    const rows = app.members.map((m) => h("tr", {
      class: "member" + (GONE.has(m.state) ? " gone" : ""),
      dataset: { name: m.name, addr: m.addr, state: m.state, incarnation: m.incarnation, self: m.isSelf },
    },
      h("td", { class: "m-name" }, who(m.name)),
      h("td", { class: "m-addr mono" }, m.addr),
      h("td", { class: "m-state" }, h("span", { class: "badge state",
        "data-tone": STATE_TONE[m.state] || "neutral" }, m.state)),
      h("td", { class: "m-inc num mono" }, m.incarnation),
      h("td", { class: "m-self" }, m.isSelf ? h("span", { class: "self" }, "● this node") : ""),
    ));
    $("members").replaceChildren(...(rows.length ? rows
      : [h("tr", { class: "empty" }, h("td", { colspan: 5 }, "Waiting for the cluster…"))]));
    $("members-updated").textContent = app.membersAt
      ? (app.online ? "updated every second" : "unreachable since " + clock(app.membersAt)) : "";
  }

  // How the targets split between the members, from this member's view.
  function renderShare(targets) {
    const counts = new Map();
    const series = new Map();
    for (const t of targets) if (t.owner) counts.set(t.owner, (counts.get(t.owner) || 0) + 1);
    // With balance = "series", the weights published for the owners' targets.
    for (const t of targets) if (t.owner && t.weight) series.set(t.owner, (series.get(t.owner) || 0) + t.weight);
    const owners = [...counts.keys()].sort();
    const total = targets.length;
    $("share-bar").replaceChildren(...owners.map((o) => h("div", { class: "share-seg",
      style: { width: (counts.get(o) / total) * 100 + "%", background: colour(o) },
      title: o + ": " + counts.get(o) + " of " + total, dataset: { member: o, count: counts.get(o) } })));
    $("share-legend").replaceChildren(...owners.map((o) => h("li", {},
      h("span", { class: "swatch", style: { background: colour(o) } }), o,
      h("span", { class: "rate" }, counts.get(o)),
      series.has(o) ? h("span", { class: "rate", dataset: { member: o, series: series.get(o) } },
        series.get(o).toLocaleString() + " series") : null)));
    $("share-total").textContent = total ? total + " targets" : "";
  }

  function syncOptions(select, values, label) {
    const current = select.value;
    const wanted = ["", ...values];
    const have = [...select.options].map((o) => o.value);
    if (wanted.join("\n") !== have.join("\n")) {
      select.replaceChildren(...wanted.map((v) => h("option", { value: v }, v || label)));
      select.value = wanted.includes(current) ? current : "";
    }
  }

  function renderTargets(targets) {
    const owners = [...new Set([...app.members.map((m) => m.name), ...targets.map((t) => t.owner)])]
      .filter(Boolean).sort();
    syncOptions($("filter-owner"), owners, "All owners");
    const owner = $("filter-owner").value;
    const health = $("filter-health").value;
    const text = $("filter-text").value.trim().toLowerCase();
    const shown = targets.filter((t) => (!owner || t.owner === owner) && (!health || healthOf(t) === health)
      && (!text || (t.url + " " + Object.entries(t.labels).map(([k, v]) => k + "=" + v).join(" "))
        .toLowerCase().includes(text)));
    const rows = shown.map((t) => {
      const s = t.status;
      const hl = healthOf(t);
      const labels = Object.entries(t.labels).filter(([k]) => !k.startsWith("__")).sort();
      return h("tr", {
        class: "target",
        dataset: { key: t.key, instance: targetName(t), job: t.job, owner: t.owner || "", health: hl },
      },
        h("td", { class: "c-target" }, h("strong", {}, targetName(t)), h("span", { class: "sub" }, t.url)),
        h("td", { class: "col-labels" }, labels.map(([k, v]) => h("span", { class: "chip" }, k + "=",
          h("b", {}, v)))),
        h("td", { class: "owner" }, who(t.owner),
          t.weight ? h("span", { class: "sub", title: "weight published for balance = \"series\"" },
            t.weight.toLocaleString() + " series") : null),
        h("td", { class: "c-health" }, h("span", { class: "badge health", "data-tone": HEALTH_TONE[hl],
          title: t.reporter ? "as reported by " + t.reporter : "the owner has not answered" }, hl)),
        h("td", { class: "last-scrape", title: s && s.lastScrape ? new Date(s.lastScrape).toISOString() : "" },
          s && s.lastScrape ? ago(s.lastScrape) : h("span", { class: "none" }, "never"),
          s && s.lastDurationSeconds != null
            ? h("span", { class: "sub" }, (s.lastDurationSeconds * 1000).toFixed(0) + " ms"
              + (s.lastSamples != null ? " · " + fmt.format(s.lastSamples) + " samples" : ""))
            : null),
        h("td", { class: "col-error" }, s && s.lastError
          ? h("span", { class: "error", title: s.lastError }, s.lastError) : h("span", { class: "none" }, "—")),
      );
    });
    const empty = targets.length ? "No target matches the filters." : "Waiting for targets…";
    $("targets").replaceChildren(...(rows.length ? rows
      : [h("tr", { class: "empty" }, h("td", { colspan: 6 }, empty))]));
    $("targets-count").textContent = shown.length === targets.length ? targets.length + " targets"
      : shown.length + " of " + targets.length + " targets";
  }

  function niceCeiling(value) {
    if (value <= 0) return 10;
    const exponent = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (value <= step * exponent) return step * exponent;
    return 10 * exponent;
  }

  function renderThroughput(rates) {
    const box = $("throughput-chart");
    const width = Math.max(280, box.clientWidth || 600);
    const height = Math.max(160, box.clientHeight || 240);
    const pad = { left: 52, right: 10, top: 10, bottom: 24 };
    const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
    const n = rates.now - rates.start;
    const totals = [];
    for (let i = 0; i <= n; i++) {
      let sum = null;
      for (const s of rates.series) if (s.values[i] !== null) sum = (sum || 0) + s.values[i];
      totals.push(sum);
    }
    const max = niceCeiling(Math.max(0, ...totals.filter((v) => v !== null)) * 1.08);
    const x = (i) => pad.left + (n ? (i / n) * plotW : 0);
    const y = (v) => pad.top + plotH - (v / max) * plotH;
    const svg = h("svg", { viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "Samples per second per member" });
    for (let k = 0; k <= 4; k++) {
      const v = (max * k) / 4;
      svg.append(h("line", { class: "grid-line", x1: pad.left, x2: width - pad.right, y1: y(v), y2: y(v) }));
      svg.append(h("text", { class: "axis-label", x: pad.left - 8, y: y(v) + 4, "text-anchor": "end" },
        fmt.format(v)));
    }
    for (let m = 0; m <= WINDOW_S / 60; m++) {
      const i = n - m * 60;
      if (i < 0) break;
      svg.append(h("text", { class: "axis-label", x: x(i), y: height - 6,
        "text-anchor": m === 0 ? "end" : "middle" }, m === 0 ? "now" : "−" + m + " min"));
    }
    const path = (values) => {
      let d = "", pen = false;
      values.forEach((v, i) => {
        if (v === null) { pen = false; return; }
        d += (pen ? "L" : "M") + x(i).toFixed(1) + " " + y(v).toFixed(1);
        pen = true;
      });
      return d;
    };
    if (rates.series.length > 1) {
      svg.append(h("path", { class: "series total", d: path(totals), dataset: { member: "total" } }));
    }
    for (const s of rates.series) {
      svg.append(h("path", { class: "series", d: path(s.values), stroke: colour(s.name),
        dataset: { member: s.name, live: s.live, last: Math.round(s.last || 0) } }));
    }
    if (!rates.series.length) {
      svg.append(h("text", { class: "empty", x: width / 2, y: height / 2, "text-anchor": "middle" },
        "Waiting for throughput…"));
    }
    box.replaceChildren(svg);
    const items = rates.series.map((s) => h("li", {
      class: "legend-item", dataset: { member: s.name, rate: Math.round(s.last || 0), live: s.live } },
      h("span", { class: "swatch", style: { background: colour(s.name) } }), s.name,
      h("span", { class: "rate" }, s.live ? fmt.format(s.last || 0) + "/s" : "stopped")));
    if (rates.series.length > 1) {
      items.push(h("li", { class: "legend-item total" }, h("span", { class: "dash" }), "total"));
    }
    $("throughput-legend").replaceChildren(...items);
  }

  function renderTimeline() {
    const now = Date.now();
    const changes = [...app.changes.values()].sort((a, b) => a.effectiveMs - b.effectiveMs || a.timeMs - b.timeMs);
    const range = $("timeline-range").value;
    let start;
    if (range === "auto") {
      const first = changes.length ? changes[0].effectiveMs : now - 60000;
      start = Math.max(first - Math.max(2000, (now - first) * 0.03), now - 86400000);
    } else start = now - Number(range) * 1000;
    const end = now;
    const pct = (ms) => ((Math.min(Math.max(ms, start), end) - start) / (end - start)) * 100;
    const byKey = new Map();
    for (const c of changes) {
      if (!byKey.has(c.key)) byKey.set(c.key, { key: c.key, name: c.target, labels: c.labels, changes: [] });
      byKey.get(c.key).changes.push(c);
    }
    const rows = [...byKey.values()].sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
    const container = $("timeline");
    if (!rows.length) {
      container.replaceChildren(h("p", { class: "empty" }, "No ownership changes recorded yet."));
      $("timeline-legend").replaceChildren();
      return;
    }
    const owners = new Set();
    const items = [];
    for (const row of rows) {
      const track = h("div", { class: "tl-track" });
      let current = "";
      row.changes.forEach((c, i) => {
        const next = row.changes[i + 1];
        const from = c.effectiveMs, to = next ? next.effectiveMs : end;
        if (from > end) return;
        if (!next || next.effectiveMs > end) current = c.to || "";
        if (!c.to || to <= start) return;
        owners.add(c.to);
        const left = pct(from), width = pct(to) - left;
        const id = c.walPosition + "/" + c.key + "/" + c.to;
        const title = `${c.to}: ${clock(from)} → ${next && next.effectiveMs <= end ? clock(to) : "now"}`
          + `\n${c.cause.replace(/_/g, " ")}: ${c.detail}`;
        track.append(h("div", {
          class: "segment" + (app.selected === id ? " selected" : ""),
          style: { left: left + "%", width: Math.max(width, 0.3) + "%", background: colour(c.to) },
          title, dataset: { owner: c.to, start: from, end: to, cause: c.cause, change: id },
          onclick: () => { app.selected = id; showDetails(c, next); renderTimeline(); },
        }, width > 9 ? h("span", { class: "seg-label" }, c.to) : null));
      });
      items.push(h("div", { class: "tl-name", title: row.key, dataset: { key: row.key } }, row.name));
      track.classList.add("timeline-row");
      track.dataset.key = row.key;
      track.dataset.instance = row.name;
      track.dataset.currentOwner = current;
      items.push(track);
    }
    const ticks = h("div", { class: "tl-axis" });
    for (let k = 0; k <= 4; k++) {
      const t = start + ((end - start) * k) / 4;
      ticks.append(h("span", { style: { left: (k * 25) + "%" } },
        k === 4 ? "now" : clock(t, end - start < 3600000)));
    }
    items.push(h("div", {}), ticks);
    container.replaceChildren(...items);
    $("timeline-legend").replaceChildren(...[...owners].sort().map((o) =>
      h("li", {}, h("span", { class: "swatch", style: { background: colour(o) } }), o)),
      h("li", { class: "hint" }, "window " + span((end - start) / 1000) + " · click a bar for the cause"));
  }

  function showDetails(c, next) {
    const panel = $("timeline-details");
    const row = (k, v) => [h("dt", {}, k), h("dd", {}, v)];
    panel.replaceChildren(h("dl", {},
      row("Target", c.target + "  (" + c.key + ")"),
      row("Owner", c.from ? [who(c.from), "  →  ", who(c.to)] : who(c.to)),
      row("Effective", c.effective + (next ? "  until " + next.effective : "  until now")),
      row("Recorded", c.time),
      row("Cause", h("span", { class: "badge" }, c.cause.replace(/_/g, " "))),
      row("Detail", c.detail),
      row("Labels", Object.entries(c.labels).sort().map(([k, v]) => h("span", { class: "chip" }, k + "=",
        h("b", {}, v)))),
      row("WAL position", h("span", { class: "mono" }, c.walPosition)),
    ));
    panel.dataset.change = c.walPosition + "/" + c.key;
    panel.hidden = false;
  }

  // ---- Views ----

  function showView() {
    const name = (location.hash || "#overview").slice(1);
    let view = name.startsWith("component/") ? "component" : name;
    if (!VIEWS.includes(view)) view = "overview";
    if (view === "component") {
      const id = decodeURIComponent(name.slice("component/".length));
      if (id !== app.detailID) { app.detailID = id; app.detail = null; app.detailError = null; }
    }
    document.body.dataset.view = view;
    if (view === "graph" || view === "component") pollComponents().then(render, () => {});
    for (const tab of document.querySelectorAll(".tab")) {
      if (tab.dataset.view === view || (view === "component" && tab.dataset.view === "graph")) {
        tab.setAttribute("aria-current", "page");
      } else tab.removeAttribute("aria-current");
    }
    render();
  }

  window.addEventListener("hashchange", showView);
  window.addEventListener("resize", () => render());
  for (const id of ["filter-owner", "filter-health", "filter-text"]) {
    $(id).addEventListener("input", () => renderTargets(mergedTargets()));
  }
  $("timeline-range").addEventListener("change", () => renderTimeline());
  $("graph-window").addEventListener("change", () => { app.graphWindow = Number($("graph-window").value); });
  $("timeline").addEventListener("mouseenter", () => { app.hoverTimeline = true; });
  $("timeline").addEventListener("mouseleave", () => { app.hoverTimeline = false; });
  showView();
  loop();
})();

