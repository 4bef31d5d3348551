// Time ranges: "range" is a preset (5m … 30d) or "custom" with "from"/"to"
// in epoch seconds, all kept in the URL.

export const PRESETS = [
  ["5m", 300], ["15m", 900], ["1h", 3600], ["3h", 10800], ["6h", 21600],
  ["12h", 43200], ["1d", 86400], ["3d", 259200], ["7d", 604800], ["30d", 2592000],
];

// resolve turns URL params into {start, end, seconds, label}; now is injectable.
export function resolve(params, now = Date.now() / 1000, fallback = "1h") {
  if (params.range === "custom" && params.from && params.to) {
    const start = +params.from, end = +params.to;
    if (end > start) return { start, end, seconds: end - start, label: "custom" };
  }
  const p = PRESETS.find(([k]) => k === params.range) || PRESETS.find(([k]) => k === fallback);
  return { start: Math.floor(now - p[1]), end: Math.ceil(now), seconds: p[1], label: p[0] };
}
