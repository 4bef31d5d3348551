// Measures the CPU time (not wall time, which a loaded machine inflates) of
// laying out the 100-node fixture graph with dagre, as the service map does,
// in Node.js (headless Cytoscape: layout only, no drawing).
//   node e2e/layout-bench.mjs [nodes] [runs]
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import { serviceGraph } from "./fixtures.mjs";

cytoscape.use(dagre);
const n = +(process.argv[2] || 100), runs = +(process.argv[3] || 9);
const g = serviceGraph(n, 0, 3600);
const els = g.Services.map((s) => ({ data: { id: "n" + s.ReferenceId } }));
for (const s of g.Services) for (const e of s.Edges) els.push({ data: { id: `e${s.ReferenceId}-${e.ReferenceId}`, source: "n" + s.ReferenceId, target: "n" + e.ReferenceId } });
const cpu = [];
for (let i = 0; i < runs; i++) {
  const c0 = process.cpuUsage();
  cytoscape({ headless: true, elements: els, layout: { name: "dagre", rankDir: n <= 30 ? "LR" : "TB" } });
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
}
cpu.sort((a, b) => a - b);
console.log(`dagre layout of ${n} nodes, ${els.length - g.Services.length} edges: CPU ms ${cpu.map((x) => x.toFixed(0)).join(" ")}; median ${cpu[runs >> 1].toFixed(0)}`);
