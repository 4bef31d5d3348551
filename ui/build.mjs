// Builds the console into ../internal/ui/dist, which internal/ui embeds:
// index.html plus content-hashed assets (served as immutable). The output is
// deterministic for a given lockfile, so scripts/test can rebuild and diff it
// against the committed copy. `node build.mjs --watch` rebuilds on change.
import * as esbuild from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.FLUORO_UI_OUT || join(here, "..", "internal", "ui", "dist");
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: { app: join(here, "src", "main.jsx") },
  bundle: true,
  minify: !watch,
  format: "esm",
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  legalComments: "eof",
  charset: "utf8",
  metafile: true,
  logLevel: "warning",
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [{ name: "index-html", setup(b) { b.onEnd((r) => r.metafile && writeIndex(r.metafile)); } }],
};

function writeIndex(meta) {
  let js = "", css = "";
  for (const file of Object.keys(meta.outputs)) {
    const name = basename(file);
    if (name.endsWith(".js")) js = name;
    if (name.endsWith(".css")) css = name;
  }
  const html = readFileSync(join(here, "src", "index.html"), "utf8")
    .replace("%CSS%", `assets/${css}`)
    .replace("%JS%", `assets/${js}`);
  writeFileSync(join(out, "index.html"), html);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
writeFileSync(join(out, ".gitattributes"), "* -diff linguist-generated\n");
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log(`watching ui/src, writing ${out}`);
} else {
  const r = await esbuild.build(options);
  for (const [file, o] of Object.entries(r.metafile.outputs)) console.log(`${basename(file)}\t${o.bytes} bytes`);
}
