/**
 * Builds the dual package (`bun scripts/build.ts`, or `npm run build`; `npm pack` runs it first):
 * - dist/*.js + dist/*.d.ts: ESM and its declarations, by tsc from src/ (one file per module);
 * - dist/cjs/index.cjs: CommonJS, one file bundled by Bun.build (`format: "cjs"`), for `require`;
 * - dist/cjs/*.d.cts: the same declarations as CommonJS ones, so TypeScript resolves the `require`
 *   condition to types that describe a CommonJS module (`moduleResolution: "NodeNext"` in a .cts file
 *   would otherwise refuse to `require` ESM declarations).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const root = join(import.meta.dir, "..");
const dist = join(root, "dist");
const cjs = join(dist, "cjs");

rmSync(dist, { recursive: true, force: true });

const tsc = Bun.spawnSync([process.execPath, Bun.fileURLToPath(import.meta.resolve("typescript/bin/tsc")), "-p", join(root, "tsconfig.json")], {
  cwd: root,
  stdout: "pipe",
  stderr: "pipe",
});
// Everything goes to stderr: stdout stays clean for `npm pack --json`, which runs this first.
if (tsc.exitCode !== 0) {
  process.stderr.write(tsc.stdout);
  process.stderr.write(tsc.stderr);
  process.exit(tsc.exitCode ?? 1);
}

const bundle = await Bun.build({
  entrypoints: [join(root, "src/index.ts")],
  outdir: cjs,
  naming: "index.cjs",
  format: "cjs",
  target: "node",
  minify: false,
  sourcemap: "none",
});
if (!bundle.success) {
  for (const log of bundle.logs) console.error(log);
  process.exit(1);
}

/** Every .d.ts under dist (not dist/cjs), relative to dist. */
function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === cjs ? [] : declarations(path);
    return entry.name.endsWith(".d.ts") ? [relative(dist, path)] : [];
  });
}

// Relative specifiers `./x.js` become `./x.cjs`, which TypeScript resolves to `./x.d.cts`.
const specifier = /((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']+?)\.js(["'])/g;
for (const file of declarations(dist)) {
  const text = readFileSync(join(dist, file), "utf8").replace(specifier, "$1$2.cjs$3");
  const target = join(cjs, file.replace(/\.d\.ts$/, ".d.cts"));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
}

console.error(`built ${relative(process.cwd(), dist) || "."}: ESM (tsc), CommonJS (Bun.build) and declarations for both`);
