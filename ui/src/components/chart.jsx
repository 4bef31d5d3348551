// Chart wraps uPlot: bars for response-time distributions (with drag to
// select a band) and lines for series over time.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
// paint resolves "var(--name)" for the canvas, which knows no CSS variables.
const paint = (v) => (typeof v === "string" && v.startsWith("var(") ? css(v.slice(4, -1)) : v);

// marksPlugin draws a dashed vertical line at each mark's x ({x, label}:
// deployment markers) and a focusable dot on it whose tooltip is the label.
function marksPlugin(marks) {
  let dots = [];
  return {
    hooks: {
      init: (u) => {
        dots = marks.map((m) => {
          const el = document.createElement("span");
          el.className = "dmark";
          el.tabIndex = 0;
          el.setAttribute("aria-label", m.label);
          const tip = el.appendChild(document.createElement("span"));
          tip.className = "tip";
          tip.textContent = m.label;
          return u.over.appendChild(el);
        });
      },
      draw: (u) => {
        const g = u.ctx, px = devicePixelRatio || 1;
        g.save();
        g.strokeStyle = css("--throttle");
        g.lineWidth = 1.5 * px;
        g.setLineDash([4 * px, 3 * px]);
        marks.forEach((m, i) => {
          const x = Math.round(u.valToPos(m.x, "x", true));
          const inside = x >= u.bbox.left && x <= u.bbox.left + u.bbox.width;
          dots[i].style.display = inside ? "" : "none";
          const left = u.valToPos(m.x, "x");
          dots[i].style.left = left + "px";
          dots[i].classList.toggle("left", left > u.over.clientWidth / 2); // the tooltip opens inwards
          if (!inside) return;
          g.beginPath();
          g.moveTo(x, u.bbox.top);
          g.lineTo(x, u.bbox.top + u.bbox.height);
          g.stroke();
        });
        g.restore();
      },
    },
  };
}

// Plot draws data ([xs, ...ys]) with series options; onSelect(x0, x1) is
// called after a drag along x; marks ([{x, label}]) are drawn as vertical
// lines with a tooltip.
export function Plot({ data, series, height = 180, bars = false, onSelect, xTime = false, xFmt, yFmt, label, scales, marks }) {
  const ref = useRef(null);
  const plot = useRef(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const width = Math.max(240, el.clientWidth || 600);
    const axisStroke = css("--fg-muted");
    const grid = { stroke: css("--border"), width: 1 };
    const opts = {
      width, height,
      scales: scales || { x: { time: xTime } },
      legend: { show: series.length > 1 },
      cursor: { drag: { x: !!onSelect, y: false, setScale: false } },
      select: { show: !!onSelect },
      plugins: marks && marks.length ? [marksPlugin(marks)] : [],
      axes: [
        { stroke: axisStroke, grid, values: xFmt ? (u, vs) => vs.map((v) => (v == null ? "" : xFmt(v))) : undefined },
        { stroke: axisStroke, grid, size: 56, values: yFmt ? (u, vs) => vs.map((v) => (v == null ? "" : yFmt(v))) : undefined },
      ],
      series: [{}, ...series.map((s) => ({
        ...s, stroke: paint(s.stroke), fill: paint(s.fill),
        width: 1.5,
        ...(bars ? { paths: uPlot.paths.bars({ size: [0.9, 100] }), points: { show: false } } : {}),
      }))],
      hooks: onSelect ? {
        setSelect: [(u) => {
          if (u.select.width < 2) return;
          const a = u.posToVal(u.select.left, "x"), b = u.posToVal(u.select.left + u.select.width, "x");
          u.setSelect({ left: 0, width: 0 }, false);
          onSelect(Math.min(a, b), Math.max(a, b));
        }],
      } : {},
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current && plot.current.setSize({ width: Math.max(240, el.clientWidth), height }));
    ro.observe(el);
    return () => { ro.disconnect(); plot.current.destroy(); plot.current = null; };
  }, [data, series, height, bars, onSelect, marks]);
  return <div class="plot" ref={ref} role="img" aria-label={label} />;
}

// Heatmap paints counts[x][y] on a canvas (time × latency).
export function Heatmap({ counts, xs, ys, height = 200, label, xFmt, yFmt }) {
  const ref = useRef(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    const w = (c.width = Math.max(240, c.parentElement.clientWidth || 600));
    c.height = height;
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, height);
    const left = 56, bottom = 18;
    const cw = (w - left) / Math.max(1, xs.length), ch = (height - bottom) / Math.max(1, ys.length);
    let max = 1;
    for (const col of counts) for (const v of col) max = Math.max(max, v);
    const hot = css("--accent");
    for (let i = 0; i < counts.length; i++)
      for (let j = 0; j < counts[i].length; j++) {
        const v = counts[i][j];
        if (!v) continue;
        g.globalAlpha = 0.15 + 0.85 * Math.log1p(v) / Math.log1p(max);
        g.fillStyle = hot;
        g.fillRect(left + i * cw, height - bottom - (j + 1) * ch, Math.ceil(cw), Math.ceil(ch));
      }
    g.globalAlpha = 1;
    g.fillStyle = css("--fg-muted");
    g.font = "11px system-ui, sans-serif";
    for (let j = 0; j < ys.length; j += Math.max(1, Math.floor(ys.length / 5))) g.fillText(yFmt(ys[j]), 2, height - bottom - j * ch - 2);
    for (let i = 0; i < xs.length; i += Math.max(1, Math.floor(xs.length / 6))) g.fillText(xFmt(xs[i]), left + i * cw, height - 4);
  }, [counts, xs, ys, height]);
  return <canvas ref={ref} role="img" aria-label={label} class="heatmap" />;
}
