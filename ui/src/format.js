// Formatting and small numeric helpers shared by the pages.

export function ms(seconds) {
  if (seconds == null || isNaN(seconds)) return "–";
  const v = seconds * 1000;
  if (v < 1) return v.toFixed(2) + " ms";
  if (v < 10) return v.toFixed(1) + " ms";
  if (v < 1000) return Math.round(v) + " ms";
  if (v < 60000) return (v / 1000).toFixed(2) + " s";
  return (v / 60000).toFixed(1) + " min";
}

export function num(n, digits = 1) {
  if (n == null || isNaN(n)) return "–";
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(digits) + "M";
  if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(digits) + "k";
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) < 1 ? n.toFixed(2) : n.toFixed(digits);
}

export const pct = (part, whole) => (whole ? ((100 * part) / whole).toFixed(1) + "%" : "–");

export function time(epochSeconds) {
  const d = new Date(epochSeconds * 1000);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// quantile of a sorted array (q in [0,1]).
export function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

// histQuantile reads a quantile from X-Ray's [{Value, Count}] histogram.
export function histQuantile(hist, q) {
  if (!hist || !hist.length) return NaN;
  const h = [...hist].sort((a, b) => a.Value - b.Value);
  const total = h.reduce((s, b) => s + b.Count, 0);
  let seen = 0;
  for (const b of h) {
    seen += b.Count;
    if (seen >= q * total) return b.Value;
  }
  return h[h.length - 1].Value;
}

// A stable colour per service name (hue from a string hash).
export function colour(name) {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return `hsl(${(h >>> 0) % 360} 62% 52%)`;
}

// svcName renders a ServiceId list as names.
export const services = (ids) => (ids || []).map((s) => s.Name).filter(Boolean);

// quote makes a filter-expression string literal.
export const quote = (s) => '"' + String(s).replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';

// latencyHistogram buckets response times (seconds) on a log scale, which
// keeps both the body (ms) and the tail (s) of a latency distribution
// visible: n buckets from the fastest to the slowest, x at each bucket's
// geometric centre.
export function latencyHistogram(values, n = 40) {
  const ds = values.filter((v) => v >= 0);
  if (!ds.length) return null;
  let lo = Infinity, hi = 0;
  for (const d of ds) { if (d < lo) lo = d; if (d > hi) hi = d; }
  lo = Math.max(1e-4, lo * 0.98);
  hi = Math.max(hi * 1.02, lo * 1.5);
  const step = Math.log(hi / lo) / n;
  const xs = Array.from({ length: n }, (_, i) => lo * Math.exp((i + 0.5) * step));
  const ys = new Array(n).fill(0);
  for (const d of ds) ys[Math.max(0, Math.min(n - 1, Math.floor(Math.log(Math.max(d, lo) / lo) / step)))]++;
  return [xs, ys];
}

// logX is the uPlot scale for latencyHistogram's x values.
export const logX = { x: { time: false, distr: 3, log: 10 } };
