// VList renders only the rows in view (plus overscan) of a fixed-row-height
// list, so 10,000 traces or 5,000 spans cost a few dozen DOM nodes.
import { useLayoutEffect, useRef, useState } from "preact/hooks";

export function VList({ count, rowHeight, render, height = 480, overscan = 8, label, onEnd, class: cls = "" }) {
  const ref = useRef(null);
  const [top, setTop] = useState(0);
  const [h, setH] = useState(height);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setH(el.clientHeight || height));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(top / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((top + h) / rowHeight) + overscan);
  const rows = [];
  for (let i = first; i < last; i++) rows.push(render(i, { position: "absolute", top: i * rowHeight + "px", height: rowHeight + "px", left: 0, right: 0 }));
  return (
    <div ref={ref} class={"vlist " + cls} role="list" aria-label={label} style={{ height: height + "px" }}
      onScroll={(e) => {
        const el = e.currentTarget;
        setTop(el.scrollTop);
        if (onEnd && el.scrollTop + el.clientHeight > el.scrollHeight - rowHeight * 20) onEnd();
      }}>
      <div style={{ position: "relative", height: count * rowHeight + "px" }}>{rows}</div>
    </div>
  );
}
