// Turns BatchGetTraces' documents into a tree of spans (segments and their
// nested subsegments), the rows of a waterfall, the critical path and the
// trace's own service graph.

// build parses a Trace ({Id, Duration, Segments: [{Id, Document}]}).
export function build(trace) {
  const byId = new Map();
  const spans = [];
  let t0 = Infinity, t1 = -Infinity;
  function add(doc, segment, parentId, depthHint) {
    const s = {
      id: doc.id, name: doc.name || "(unnamed)", parentId, segment: segment || null,
      service: segment ? segment.name : doc.name, origin: segment ? segment.origin : doc.origin,
      kind: segment ? "subsegment" : "segment",
      start: doc.start_time, end: doc.end_time ?? doc.start_time, inProgress: !!doc.in_progress,
      fault: !!doc.fault, error: !!doc.error, throttle: !!doc.throttle, inferred: !!doc.inferred,
      namespace: doc.namespace || "", http: doc.http, sql: doc.sql, aws: doc.aws, cause: doc.cause,
      annotations: doc.annotations, metadata: doc.metadata, doc, children: [],
    };
    if (!byId.has(s.id)) { byId.set(s.id, s); spans.push(s); }
    if (s.start < t0) t0 = s.start;
    if (s.end > t1) t1 = s.end;
    for (const sub of doc.subsegments || []) add(sub, segment || s, s.id, depthHint + 1);
    return s;
  }
  for (const seg of trace.Segments || []) {
    let doc;
    try { doc = JSON.parse(seg.Document); } catch { continue; }
    add(doc, null, doc.parent_id, 0);
  }
  for (const s of spans) if (s.inProgress) s.end = Math.max(s.end, t1);
  const roots = [];
  for (const s of spans) {
    const p = s.parentId && byId.get(s.parentId);
    if (p && p !== s) p.children.push(s);
    else roots.push(s);
  }
  const byStart = (a, b) => a.start - b.start || a.end - b.end;
  for (const s of spans) s.children.sort(byStart);
  roots.sort(byStart);
  return { id: trace.Id, spans, byId, roots, start: t0, end: t1, duration: Math.max(0, t1 - t0) };
}

// rows flattens the tree depth-first, skipping the children of collapsed ids.
export function rows(model, collapsed = new Set()) {
  const out = [];
  const stack = model.roots.slice().reverse().map((s) => [s, 0]);
  while (stack.length) {
    const [s, depth] = stack.pop();
    out.push({ span: s, depth });
    if (collapsed.has(s.id)) continue;
    for (let i = s.children.length - 1; i >= 0; i--) stack.push([s.children[i], depth + 1]);
  }
  return out;
}

// criticalPath returns the ids of the spans on the critical path: from each
// root, the child that finished last before the parent's end, then the child
// that finished last before that one started, and so on, recursively.
export function criticalPath(model) {
  const on = new Set();
  function walk(s, until) {
    on.add(s.id);
    let t = Math.min(s.end, until);
    const kids = s.children.slice().sort((a, b) => b.end - a.end);
    for (const c of kids) {
      if (c.start >= t) continue;
      walk(c, t);
      t = c.start;
      if (t <= s.start) break;
    }
  }
  for (const r of model.roots) walk(r, Infinity);
  return on;
}

// graph builds the trace's own map: a node per segment name, an edge per
// caller → callee segment pair, with counts of calls and faults/errors.
export function graph(model) {
  const nodes = new Map(), edges = new Map();
  const node = (name, type) => {
    if (!nodes.has(name)) nodes.set(name, { id: "n:" + name, name, type: type || "", ok: 0, error: 0, fault: 0, throttle: 0, time: 0, count: 0 });
    return nodes.get(name);
  };
  node("client", "client").ok++;
  for (const s of model.spans) {
    if (s.kind !== "segment") continue;
    const n = node(s.name, s.origin || (s.inferred ? "remote" : ""));
    n.count++; n.time += s.end - s.start;
    if (s.fault) n.fault++; else if (s.throttle) n.throttle++; else if (s.error) n.error++; else n.ok++;
    const p = s.parentId && model.byId.get(s.parentId);
    const from = p ? (p.segment ? p.segment.name : p.name) : "client";
    const key = from + "→" + s.name;
    if (!edges.has(key)) edges.set(key, { id: "e:" + key, source: "n:" + from, target: "n:" + s.name, count: 0, time: 0 });
    const e = edges.get(key);
    e.count++; e.time += s.end - s.start;
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

// exceptions lists a span's exceptions (cause.exceptions), if any.
export const exceptions = (s) => (s.cause && typeof s.cause === "object" && s.cause.exceptions) || [];
