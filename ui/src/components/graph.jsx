// Graph draws a service graph with Cytoscape.js (canvas rendering, so 100
// nodes stay fast) laid out by dagre in layers, left to right. Each node's
// ring is its OK / error / fault / throttle split (Cytoscape's pie with a
// hole); its border colour is its health.
import { useEffect, useRef } from "preact/hooks";
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";

cytoscape.use(dagre);

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function style() {
  const fg = css("--fg"), muted = css("--fg-muted"), bg = css("--bg");
  return [
    { selector: "node", style: {
      "background-color": bg, "border-width": 3, "border-color": "data(health)",
      label: "data(label)", "text-wrap": "wrap", "text-valign": "bottom", "text-margin-y": 6,
      "font-size": 12, color: fg, width: 46, height: 46, "min-zoomed-font-size": 6,
      "pie-size": "100%", "pie-hole": "72%",
      "pie-1-background-color": css("--ok"), "pie-1-background-size": "data(okP)",
      "pie-2-background-color": css("--error"), "pie-2-background-size": "data(errP)",
      "pie-3-background-color": css("--fault"), "pie-3-background-size": "data(faultP)",
      "pie-4-background-color": css("--throttle"), "pie-4-background-size": "data(thrP)",
    } },
    { selector: "node[kind = 'client']", style: { shape: "round-rectangle", width: 36, height: 36 } },
    { selector: "node[kind = 'aws']", style: { shape: "round-hexagon" } },
    { selector: "node[kind = 'database']", style: { shape: "barrel" } },
    { selector: "node[kind = 'remote']", style: { shape: "round-diamond" } },
    { selector: "node:selected", style: { "overlay-opacity": 0.15, "overlay-color": css("--accent"), "border-width": 5 } },
    { selector: "edge", style: {
      width: "data(w)", "line-color": "data(health)", "target-arrow-color": "data(health)",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8,
      label: "data(label)", "font-size": 10, color: muted, "text-rotation": "autorotate", "min-zoomed-font-size": 8,
      "text-background-color": bg, "text-background-opacity": 0.85, "text-background-padding": 2,
    } },
    { selector: "edge:selected", style: { "overlay-opacity": 0.2, "overlay-color": css("--accent") } },
  ];
}

// layoutFor lays a small graph out left to right; a large one top to bottom,
// whose wide layers suit a wide screen better than LR's tall ones.
function layoutFor(n) {
  return n <= 30
    ? { name: "dagre", rankDir: "LR", nodeSep: 34, rankSep: 150, edgeSep: 10, fit: true, padding: 24 }
    : { name: "dagre", rankDir: "TB", nodeSep: 24, rankSep: 90, edgeSep: 6, fit: true, padding: 16 };
}

// GraphView renders {nodes, edges}; onSelect({kind: "node"|"edge"|null, id}).
// onRendered(ms) reports the time from mount to the first drawn layout.
export function GraphView({ nodes, edges, onSelect, selected, height = 560, label, onRendered }) {
  const ref = useRef(null);
  const cy = useRef(null);
  useEffect(() => {
    const t0 = performance.now();
    performance.mark("graph-start");
    const c = cytoscape({
      container: ref.current,
      elements: [
        ...nodes.map((n) => ({ group: "nodes", data: n })),
        ...edges.map((e) => ({ group: "edges", data: e })),
      ],
      style: style(),
      layout: layoutFor(nodes.length),
      minZoom: 0.1, maxZoom: 3,
      boxSelectionEnabled: false, autoungrabify: false,
    });
    const built = performance.now() - t0;
    c.on("tap", (e) => {
      if (e.target === c) onSelect && onSelect(null);
      else onSelect && onSelect({ kind: e.target.isNode() ? "node" : "edge", id: e.target.id() });
    });
    c.one("render", () => {
      performance.mark("graph-rendered");
      performance.measure("graph-first-render", "graph-start", "graph-rendered");
      onRendered && onRendered(performance.now() - t0, built);
    });
    cy.current = c;
    ref.current._cy = c; // for the browser tests, which click nodes where they are drawn
    // Refit when the container changes size (a side panel opens, the window
    // is resized), so no part of the graph is left outside.
    let w = ref.current.clientWidth, h = ref.current.clientHeight;
    const ro = new ResizeObserver(() => {
      const el = ref.current;
      if (!el || (el.clientWidth === w && el.clientHeight === h)) return;
      w = el.clientWidth; h = el.clientHeight;
      c.resize();
      c.fit(undefined, 24);
    });
    ro.observe(ref.current);
    return () => { ro.disconnect(); c.destroy(); cy.current = null; };
  }, [nodes, edges]);
  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    c.elements().unselect();
    if (selected) c.getElementById(selected).select();
  }, [selected, nodes, edges]);
  return <div class="graph" ref={ref} style={{ height: height + "px" }} role="img" aria-label={label} data-nodes={nodes.length} data-edges={edges.length} />;
}

// nodeKind classifies an X-Ray service-graph node for its shape: clients,
// databases, AWS resources (managed services called through the SDK),
// remote (uninstrumented) nodes, and services (what runs instrumented code,
// including on EC2, ECS, EKS, Elastic Beanstalk and Lambda).
export function nodeKind(type, name) {
  const t = (type || "").toLowerCase();
  if (t === "client" || t.endsWith("::client") || t === "user") return "client";
  if (/sql|database|rds|redis|postgres|mysql/.test(t) || /@db\b|sql|postgres|mysql|redis/.test(name || "")) return "database";
  if (/^aws::(ec2::instance|ecs::container|eks::container|elasticbeanstalk::environment|lambda::function|lambda$|appsync|apigateway::stage)/.test(t)) return "service";
  if (t.startsWith("aws::")) return "aws";
  if (t === "remote" || t === "") return "remote";
  return "service";
}

// ringData gives the pie percentages and health colour from counts.
export function ringData({ ok = 0, error = 0, fault = 0, throttle = 0 }) {
  const total = ok + error + fault + throttle;
  const p = (v) => (total ? (100 * v) / total : 0);
  const health = !total ? css("--fg-muted") : fault / total > 0.05 ? css("--fault") : (error + throttle) / total > 0.05 ? css("--error") : css("--ok");
  return { okP: total ? p(ok) : 100, errP: p(error), faultP: p(fault), thrP: p(throttle), health };
}
