// Unit tests of the console's pure logic (no browser): the span tree and
// critical path, the latency histogram, histogram quantiles, routing and
// time ranges. Run with `node --test test/` (internal/ui/js_test.go does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { build, criticalPath, graph, rows } from "../src/tracemodel.js";
import { histQuantile, latencyHistogram, quote } from "../src/format.js";
import { resolve } from "../src/timerange.js";

// A trace: gateway (0–10) calls users (1–3) then orders (3–9); orders calls
// db twice in sequence (3.5–5, 5–8) and a cache in parallel (4–4.5).
function trace() {
  const seg = (doc) => ({ Id: doc.id, Document: JSON.stringify(doc) });
  return {
    Id: "1-00000000-000000000000000000000001",
    Segments: [
      seg({ id: "g", name: "gateway", start_time: 0, end_time: 10, subsegments: [
        { id: "g1", name: "users", start_time: 1, end_time: 3, namespace: "remote" },
        { id: "g2", name: "orders", start_time: 3, end_time: 9, namespace: "remote" },
      ] }),
      seg({ id: "o", name: "orders", parent_id: "g2", start_time: 3.1, end_time: 8.9, fault: true, subsegments: [
        { id: "o1", name: "db", start_time: 3.5, end_time: 5, namespace: "remote" },
        { id: "o2", name: "db", start_time: 5, end_time: 8 },
        { id: "o3", name: "cache", start_time: 4, end_time: 4.5 },
      ] }),
      seg({ id: "u", name: "users", parent_id: "g1", start_time: 1.1, end_time: 2.9 }),
      { Id: "bad", Document: "{not json" },
    ],
  };
}

test("build nests segments under the subsegments that called them", () => {
  const m = build(trace());
  assert.equal(m.spans.length, 8);
  assert.deepEqual(m.roots.map((s) => s.id), ["g"]);
  assert.deepEqual(m.byId.get("g2").children.map((s) => s.id), ["o"]);
  assert.deepEqual(m.byId.get("o").children.map((s) => s.id), ["o1", "o3", "o2"], "children by start time");
  assert.equal(m.byId.get("o1").service, "orders", "a subsegment belongs to its segment's service");
  assert.equal(m.duration, 10);
  const r = rows(m);
  assert.deepEqual(r.map((x) => x.span.id), ["g", "g1", "u", "g2", "o", "o1", "o3", "o2"]);
  assert.deepEqual(r.map((x) => x.depth), [0, 1, 2, 1, 2, 3, 3, 3]);
  assert.deepEqual(rows(m, new Set(["g2"])).map((x) => x.span.id), ["g", "g1", "u", "g2"], "collapsed children are hidden");
});

test("the critical path follows the last-finishing child backwards", () => {
  const on = criticalPath(build(trace()));
  for (const id of ["g", "g2", "o", "o2", "o1", "g1", "u"]) assert.ok(on.has(id), id + " is critical");
  assert.ok(!on.has("o3"), "the cache call, overlapped by db, is not critical");
});

test("the trace's graph has an edge per caller and callee segment", () => {
  const g = graph(build(trace()));
  assert.deepEqual(g.edges.map((e) => e.id).sort(), ["e:client→gateway", "e:gateway→orders", "e:gateway→users"]);
  assert.equal(g.nodes.find((n) => n.name === "orders").fault, 1);
});

test("latencyHistogram spreads ms and s on a log scale and counts every value", () => {
  const vs = [0.001, 0.002, 0.01, 0.01, 0.1, 1, 5];
  const [xs, ys] = latencyHistogram(vs, 20);
  assert.equal(xs.length, 20);
  assert.equal(ys.reduce((a, b) => a + b, 0), vs.length);
  for (let i = 1; i < xs.length; i++) assert.ok(Math.abs(xs[i] / xs[i - 1] - xs[1] / xs[0]) < 1e-9, "buckets are geometric");
  const half = Math.sqrt(xs[1] / xs[0]);
  assert.ok(xs[0] / half <= 0.001 && xs[19] * half >= 5, "the buckets' edges cover the values");
  assert.equal(latencyHistogram([]), null);
});

test("histQuantile reads X-Ray histograms", () => {
  const h = [{ Value: 0.3, Count: 1 }, { Value: 0.1, Count: 98 }, { Value: 0.2, Count: 1 }];
  assert.equal(histQuantile(h, 0.5), 0.1);
  assert.equal(histQuantile(h, 0.99), 0.2);
  assert.equal(histQuantile(h, 1), 0.3);
  assert.ok(Number.isNaN(histQuantile([], 0.5)));
});

test("quote escapes for filter expressions", () => {
  assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
});

test("resolve turns presets and custom ranges into seconds", () => {
  assert.deepEqual(resolve({ range: "5m" }, 1000), { start: 700, end: 1000, seconds: 300, label: "5m" });
  assert.deepEqual(resolve({ range: "custom", from: "10", to: "70" }, 1000), { start: 10, end: 70, seconds: 60, label: "custom" });
  assert.equal(resolve({ range: "custom", from: "70", to: "10" }, 1000).label, "1h", "an inverted custom range falls back");
  assert.equal(resolve({ range: "nope" }, 1000).seconds, 3600);
});
