/**
 * SPEC §7: `docker compose up --build` runs the stack. There is no Docker engine in CI, so this reads
 * the Dockerfile, .dockerignore and docker-compose.yml as files and checks what a build would get
 * wrong silently: a file the processes import or read at runtime left out of the image (or out of
 * the build context), a package they import installed only as a devDependency, compose services
 * that build three images or run something else than `bun run start` / `worker` / `migrate`.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, resolve } from "node:path";
import { loadConfig } from "../../core/config.ts";

const root = resolve(import.meta.dir, "../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const isDir = (path: string) => existsSync(join(root, path)) && statSync(join(root, path)).isDirectory();

/** Every file under `path` (relative to the repository), or `path` itself when it is a file. */
function filesUnder(path: string): string[] {
  if (!isDir(path)) return [path];
  return readdirSync(join(root, path)).flatMap((name) => filesUnder(posix.join(path, name)));
}

// ---------------------------------------------------------------------------------------------
// .dockerignore, with Docker's rules: patterns in order, the last one that matches a path or one of
// its parent directories decides; `!` re-includes; `*` and `?` stay within one path segment, `**`
// spans any number of segments.
// ---------------------------------------------------------------------------------------------

function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      // `**/` matches zero or more directories; a trailing `**` matches everything below.
      const slash = pattern[i + 2] === "/";
      source += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else if (c === "\\" && i + 1 < pattern.length) source += `\\${pattern[++i]}`;
    else source += /[.+^${}()|[\]\\]/.test(c) ? `\\${c}` : c;
  }
  return new RegExp(`^${source}$`);
}

function dockerignore(text: string) {
  const rules = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const negate = line.startsWith("!");
      const pattern = posix.normalize(negate ? line.slice(1).trim() : line).replace(/^\/+|\/+$/g, "");
      return { negate, pattern, regex: globToRegExp(pattern) };
    });
  return {
    rules,
    excluded(path: string): boolean {
      const parts = path.split("/");
      const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
      let excluded = false;
      for (const rule of rules) if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.negate;
      return excluded;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Dockerfile
// ---------------------------------------------------------------------------------------------

type Instruction = { stage: number; keyword: string; args: string };

function dockerfile(text: string): Instruction[] {
  const logical = text.replace(/\\\r?\n/g, " ").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  let stage = -1;
  return logical.map((line) => {
    const [, keyword = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === "FROM") stage++;
    return { stage, keyword: keyword.toUpperCase(), args };
  });
}

const clean = (path: string) => posix.normalize(path).replace(/^\.\/?|\/$/g, "").replace(/^\/app\/?/, "");

/** COPY instructions from the build context: each source and where it lands under WORKDIR /app. */
function copies(instructions: Instruction[]) {
  return instructions
    .filter((i) => i.keyword === "COPY" && !/--from=/.test(i.args))
    .flatMap((i) => {
      const words = i.args.split(/\s+/).filter((word) => !word.startsWith("--"));
      const dest = words.pop()!;
      return words.map((source) => ({
        stage: i.stage,
        source: clean(source),
        target: dest.endsWith("/") || words.length > 1 ? clean(posix.join(dest, posix.basename(source))) : clean(dest),
      }));
    });
}

// ---------------------------------------------------------------------------------------------
// What the processes load at runtime: relative imports (type-only ones are erased), packages,
// and files they read next to themselves (`join(import.meta.dir, "…")`).
// ---------------------------------------------------------------------------------------------

const entryPoints = ["server/main.ts", "worker/main.ts", "scripts/migrate.ts", "scripts/cli.ts"];

function resolveModule(from: string, specifier: string): string {
  const base = posix.join(posix.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (existsSync(join(root, candidate)) && !isDir(candidate)) return candidate;
  }
  throw new Error(`${from}: cannot resolve ${specifier}`);
}

function runtimeGraph() {
  const modules = new Set<string>();
  const packages = new Map<string, string>(); // package → a file importing it
  const readFiles = new Map<string, string>(); // path read at runtime → the file reading it
  const queue = [...entryPoints];
  while (queue.length) {
    const file = queue.shift()!;
    if (modules.has(file)) continue;
    modules.add(file);
    const source = read(file).replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    const specifiers: string[] = [];
    // Static imports and re-exports (not `import type` / `export type`), side-effect imports, dynamic imports.
    for (const m of source.matchAll(/(?:^|[;\n])\s*(?:import|export)\s+(type\s+)?[^;"'`]*?\bfrom\s*["']([^"']+)["']/g)) if (!m[1]) specifiers.push(m[2]!);
    for (const m of source.matchAll(/(?:^|[;\n])\s*import\s*["']([^"']+)["']/g)) specifiers.push(m[1]!);
    for (const m of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specifiers.push(m[1]!);
    for (const specifier of specifiers) {
      if (specifier.startsWith(".")) queue.push(resolveModule(file, specifier));
      else if (!specifier.startsWith("node:") && !specifier.startsWith("bun:") && specifier !== "bun") {
        const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!;
        if (!packages.has(name)) packages.set(name, file);
      }
    }
    for (const m of source.matchAll(/import\.meta\.dir\s*,\s*["']([^"']+)["']/g)) {
      readFiles.set(posix.join(posix.dirname(file), m[1]!), file);
    }
    for (const m of source.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) {
      readFiles.set(posix.join(posix.dirname(file), m[1]!), file);
    }
  }
  return { modules, packages, readFiles };
}

// ---------------------------------------------------------------------------------------------

const ignore = dockerignore(read(".dockerignore"));
const instructions = dockerfile(read("Dockerfile"));
const finalStage = Math.max(...instructions.map((i) => i.stage));
const copied = copies(instructions);
const graph = runtimeGraph();
const compose = Bun.YAML.parse(read("docker-compose.yml")) as {
  services: Record<string, Record<string, unknown> & { environment?: Record<string, string> }>;
};
const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string>; dependencies: Record<string, string>; devDependencies?: Record<string, string> };

/** Where a repository file ends up in the image, or null if the build leaves it out. */
function inImage(path: string): string | null {
  if (ignore.excluded(path)) return null;
  for (const { stage, source, target } of copied) {
    if (stage !== finalStage) continue;
    if (path === source) return target;
    if (path.startsWith(`${source}/`)) return posix.join(target, path.slice(source.length + 1));
  }
  return null;
}

describe(".dockerignore", () => {
  test("keeps the local service data, dependencies, history, tests and benchmarks out of the build context", () => {
    for (const path of [".services/mariadb/data/ibdata1", "node_modules/ioredis/package.json", ".git/HEAD", "tests/setup.ts", "bench/results/latest.json", "sdk/dist/index.js", "sdk/README.md", ".ci/run", "Dockerfile", "README.md"]) {
      expect(ignore.excluded(path), path).toBe(true);
    }
  });

  test("the matcher follows Docker's rules (last match wins, parents count, ** spans directories)", () => {
    const m = dockerignore("*\n!core\n**/*.swp\n!keep/**/x.swp");
    expect(m.excluded("core/config.ts")).toBe(false);
    expect(m.excluded("core/a/b.swp")).toBe(true);
    expect(m.excluded("server/main.ts")).toBe(true);
    expect(m.excluded("keep/x.swp")).toBe(false);
    expect(m.excluded("keep/a/b/x.swp")).toBe(false);
  });
});

describe("Dockerfile", () => {
  test("every path it copies exists and is in the build context", () => {
    expect(copied.length).toBeGreaterThan(0);
    for (const { source } of copied) {
      expect(existsSync(join(root, source)), `${source} exists`).toBe(true);
      expect(ignore.excluded(source), `${source} is excluded by .dockerignore`).toBe(false);
      // A directory is copied without what .dockerignore drops: at least its files must survive.
      expect(filesUnder(source).some((file) => !ignore.excluded(file)), `${source} keeps some files`).toBe(true);
    }
  });

  test("the image keeps the repository's layout (relative imports and import.meta.dir paths rely on it)", () => {
    expect(instructions.filter((i) => i.stage === finalStage && i.keyword === "WORKDIR").map((i) => i.args)).toEqual(["/app"]);
    for (const { source, target } of copied) expect(target, source).toBe(source);
  });

  test("every module the entry points import is in the image", () => {
    expect(graph.modules.size).toBeGreaterThan(entryPoints.length);
    for (const entry of entryPoints) expect(graph.modules.has(entry)).toBe(true);
    const missing = [...graph.modules].filter((module) => inImage(module) !== module);
    expect(missing).toEqual([]);
  });

  test("every file read at runtime is in the image (migrations, Lua scripts)", () => {
    const paths = [...graph.readFiles.keys()];
    expect(paths).toContain("core/db/migrations");
    expect(paths).toContain("core/redis/scripts");
    for (const path of paths) {
      expect(existsSync(join(root, path)), `${path} (read by ${graph.readFiles.get(path)}) exists`).toBe(true);
      const missing = filesUnder(path).filter((file) => inImage(file) !== file);
      expect(missing, `read by ${graph.readFiles.get(path)}`).toEqual([]);
    }
    expect(filesUnder("core/redis/scripts").some((file) => file.endsWith(".lua"))).toBe(true);
  });

  test("the web client's sources are in the image: web/ and the SDK source its page bundles (web/tsconfig.json maps @chat-backend/sdk there)", () => {
    expect(graph.readFiles.has("web/index.html")).toBe(true);
    const tsconfig = read("web/tsconfig.json");
    expect(tsconfig).toContain('"@chat-backend/sdk": ["../sdk/src/index.ts"]');
    const sources = [...filesUnder("web"), ...filesUnder("sdk/src")];
    expect(sources.filter((file) => inImage(file) !== file)).toEqual([]);
  });

  test("every package imported at runtime is a production dependency (the image installs with --production)", () => {
    expect(instructions.some((i) => i.keyword === "RUN" && /bun install\b.*--frozen-lockfile/.test(i.args) && /--production/.test(i.args))).toBe(true);
    for (const [name, file] of graph.packages) expect(pkg.dependencies[name], `${name} (imported by ${file})`).toBeDefined();
    expect(inImage("package.json")).toBe("package.json"); // `bun run <script>` reads it
  });

  test("the default command is `bun run start`", () => {
    const cmd = instructions.filter((i) => i.keyword === "CMD").at(-1)!;
    expect(matchesScript(JSON.parse(cmd.args) as string[], "start")).toBe(true);
  });
});

/** `bun run <script>`, or the command line the script stands for (`bun server/main.ts`). */
function matchesScript(command: unknown, script: string): boolean {
  const words = typeof command === "string" ? command.trim().split(/\s+/) : (command as string[]);
  const target = pkg.scripts[script]!.trim().split(/\s+/);
  return Bun.deepEquals(words, ["bun", "run", script]) || Bun.deepEquals(words, target);
}

const durationMs = (value: unknown) => {
  const text = String(value);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g)];
  expect(parts.map((p) => p[0]).join(""), `duration ${text}`).toBe(text);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 }[unit as "h"], 0);
};

describe("docker-compose.yml", () => {
  const app = ["migrate", "api", "worker"] as const;
  const service = (name: string) => {
    const s = compose.services[name];
    expect(s, name).toBeDefined();
    return s!;
  };

  test("migrate, api and worker run one image, built once", () => {
    const images = new Set(app.map((name) => service(name).image));
    expect(images.size).toBe(1);
    expect([...images][0]).toBeString();
    // Compose builds once per image name: every service that can build must build the same thing.
    const builds = app.map((name) => service(name).build).filter((build) => build !== undefined);
    expect(builds.length).toBeGreaterThan(0);
    for (const build of builds) expect(build).toEqual(builds[0] as object);
    const context = typeof builds[0] === "string" ? builds[0] : (builds[0] as { context?: string }).context ?? ".";
    const file = typeof builds[0] === "string" ? "Dockerfile" : (builds[0] as { dockerfile?: string }).dockerfile ?? "Dockerfile";
    expect(resolve(root, context)).toBe(root);
    expect(file).toBe("Dockerfile");
  });

  test("commands are the package.json scripts", () => {
    expect(matchesScript(service("migrate").command, "migrate")).toBe(true);
    expect(matchesScript(service("api").command, "start")).toBe(true);
    expect(matchesScript(service("worker").command, "worker")).toBe(true);
  });

  test("restart policies: the one-shot migration never, the API and workers unless stopped", () => {
    expect(service("migrate").restart).toBe("no");
    expect(service("api").restart).toBe("unless-stopped");
    expect(service("worker").restart).toBe("unless-stopped");
  });

  test("healthchecks and start-up order", () => {
    for (const name of ["mysql", "redis", "elasticsearch", "api"]) expect((service(name).healthcheck as { test?: unknown })?.test, name).toBeDefined();
    expect(service("migrate").depends_on).toEqual({
      mysql: { condition: "service_healthy" },
      redis: { condition: "service_healthy" },
      elasticsearch: { condition: "service_healthy" },
    });
    for (const name of ["api", "worker"]) expect(service(name).depends_on).toEqual({ migrate: { condition: "service_completed_successfully" } });
  });

  test("a stopping worker gets more time than it takes to exit (WORKER_STOP_TIMEOUT_MS + 1.5 s, worker/main.ts)", () => {
    const worker = service("worker");
    const stopTimeoutMs = loadConfig({ ...worker.environment }).worker.stopTimeoutMs;
    expect(durationMs(worker.stop_grace_period)).toBeGreaterThan(stopTimeoutMs + 1500);
  });

  test("every process gets a valid configuration from its environment", () => {
    for (const name of app) expect(() => loadConfig({ ...service(name).environment, ADMIN_API_KEY: "" }), name).not.toThrow();
  });

  test("Redis runs with an AOF fsynced every second (README, Durability)", () => {
    const command = (service("redis").command as string[]).join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toContain("--appendfsync everysec");
  });
});

