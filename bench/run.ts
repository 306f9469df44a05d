// `npm run bench -- <name>`: run bench/<name>.ts (each bench runs its peer side by side and reports).
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts")
  .map((f) => f.slice(0, -3));
const names = process.argv.slice(2);
if (names.length === 0) {
  console.error(`usage: npm run bench -- <name>; available: ${available.join(", ") || "(none yet)"}`);
  process.exit(2);
}
for (const name of names) {
  const file = `${dir}${name}.ts`;
  if (!existsSync(file)) {
    console.error(`no benchmark "${name}"; available: ${available.join(", ")}`);
    process.exit(2);
  }
  await import(pathToFileURL(file).href);
}
