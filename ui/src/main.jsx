// Fluoro's console: a navigation bar, the theme switch, and the page the
// URL's hash names.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { href, useRoute } from "./router.js";
import { TracesPage } from "./pages/traces.jsx";
import { TimelinePage } from "./pages/timeline.jsx";
import { MapPage } from "./pages/map.jsx";
import { AnalyticsPage } from "./pages/analytics.jsx";
import { DashboardsPage } from "./pages/dashboards.jsx";
import { GroupsPage, SamplingPage } from "./pages/settings.jsx";
import { DeploymentsPage } from "./pages/deployments.jsx";
import { AlertsPage } from "./pages/alerts.jsx";
import "./style.css";

const NAV = [["map", "Service map"], ["traces", "Traces"], ["analytics", "Analytics"], ["dashboards", "Dashboards"], ["deployments", "Deployments"], ["sampling", "Sampling"], ["groups", "Groups"]];
NAV.push(["alerts", "Alerts"]);

function useTheme() {
  const [theme, setTheme] = useState(() => localStorage.getItem("fluoro-theme") || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
  useEffect(() => { document.documentElement.dataset.theme = theme; localStorage.setItem("fluoro-theme", theme); }, [theme]);
  return [theme, setTheme];
}

function App() {
  const { path, params } = useRoute();
  const [theme, setTheme] = useTheme();
  const page = path[0] || "map";
  useEffect(() => {
    const h = document.querySelector("main h1");
    document.title = (h ? h.textContent + " · " : "") + "Fluoro";
  });
  let body;
  switch (page) {
    case "traces": body = <TracesPage params={params} />; break;
    case "trace": body = <TimelinePage key={path[1]} id={path[1]} params={params} />; break;
    case "analytics": body = <AnalyticsPage params={params} />; break;
    case "dashboards": body = <DashboardsPage key={path[1] || ""} id={path[1]} params={params} />; break;
    case "deployments": body = <DeploymentsPage params={params} />; break;
    case "sampling": body = <SamplingPage />; break;
    case "groups": body = <GroupsPage />; break;
    case "alerts": body = <AlertsPage name={path[1]} />; break;
    case "map": body = <MapPage params={params} />; break;
    default: body = <p role="alert">No page at <code>{location.hash}</code>. <a href={href("map")}>Go to the service map</a>.</p>;
  }
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main").focus(); }}>Skip to content</a>
      <nav class="top" aria-label="Main">
        <a class="brand" href={href("map")}>Fluoro</a>
        {NAV.map(([k, label]) => (
          <a href={href(k)} aria-current={page === k || (k === "traces" && page === "trace") ? "page" : undefined}>{label}</a>
        ))}
        <span class="spacer" />
        <button type="button" class="theme" aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
          onClick={() => setTheme(theme === "dark" ? "light" : "dark")}>{theme === "dark" ? "☀ Light" : "☾ Dark"}</button>
      </nav>
      <main id="main" tabindex={-1} key={theme}>{body}</main>
    </>
  );
}

render(<App />, document.getElementById("app"));
