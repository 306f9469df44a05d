// Architecture lint: DESIGN's layers as `no-restricted-imports`. ESLint matches an import specifier as written,
// so each rule is spelled for the depth of the importing file: exactly that many "../" reach the repository root
// (or runtime/ for runtime packages), which makes the rules exact without a resolver.
// Tests and benchmarks may import anything; so may cli/, which only wires (it reaches into runtime packages
// lazily so `meridian --help` stays cheap). runtime/common is a leaf library of small helpers with no index.
import { readdirSync } from "node:fs";

const MAX_DEPTH = 6;

/** Error kinds are classes: `err.name === "XError"` breaks silently when a class is renamed or poses as another. */
export const ERROR_KIND_BY_NAME = [
  {
    selector: "BinaryExpression[operator=/^[!=]==?$/][left.property.name='name'][right.value=/Error$/]",
    message: "check an error's kind with instanceof, not by its name",
  },
  {
    selector: "CallExpression[callee.property.name='includes'][arguments.0.property.name='name'][arguments.0.object.typeAnnotation.typeName.name='Error']",
    message: "check an error's kind with instanceof, not by its name",
  },
];

/** model/ reads no clock: time comes in as an argument (DESIGN: no I/O, no clock reads). */
const MODEL_CLOCK_READS = {
  properties: [
    { object: "Date", property: "now", message: "model/ reads no clock: take the time as an argument" },
    { object: "performance", property: "now", message: "model/ reads no clock: take the time as an argument" },
    { object: "process", property: "hrtime", message: "model/ reads no clock: take the time as an argument" },
    { object: "process", property: "env", message: "model/ reads no environment: take the value as an argument" },
  ],
  syntax: [{ selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: "model/ reads no clock: take the time as an argument" }],
};
const ups = (n) => `^(\\.\\./){${n}}`;
const either = (names) => `(${names.join("|")})`;

/** What each layer may not import: top-level folders of this repository and npm packages. */
const LAYERS = {
  model: {
    why: "model/ is pure: no Pulumi, no I/O, and it imports no other layer (DESIGN: One model, many adapters)",
    dirs: ["components", "runtime", "cli", "stacks", "policies"],
    packages: ["@pulumi/*", "node:*", "!node:crypto", "fs", "fs/*", "net", "http", "https", "http2", "dgram", "child_process", "os", "pg", "ioredis", "nats", "fastify"],
  },
  stacks: {
    why: "stacks/ reads stack files into the model's schema; it imports the model, nothing above it",
    dirs: ["components", "runtime", "cli", "policies"],
    packages: ["@pulumi/*"],
  },
  runtime: {
    why: "runtime/ never imports components/ or policies/ and runs without Pulumi (DESIGN: runtime/)",
    dirs: ["components", "policies", "cli", "stacks"],
    packages: ["@pulumi/*"],
  },
  components: {
    why: "components/ translate the model into resources: no cli/, and runtime/ only through a package's index.ts",
    dirs: ["cli"],
    packages: [],
  },
  policies: {
    why: "policies/ judge resources against the model: no cli/, runtime/ or components/",
    dirs: ["cli", "runtime", "components"],
    packages: [],
  },
};

const RUNTIME_PACKAGES = readdirSync(new URL("./runtime/", import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const SHARED_RUNTIME = ["common"];

/** Files of `layer` exactly `depth` folders below the repository root (depth 1: `model/x.ts`). */
const filesAt = (layer, depth) => [`${layer}/${"*/".repeat(depth - 1)}*.ts`];

function layerPatterns(layer, depth) {
  const { why, dirs, packages } = LAYERS[layer];
  const patterns = [{ regex: `${ups(depth)}${either(dirs)}(/|\\.js$)`, message: why }];
  // program.ts, index.ts: the Pulumi program is the top of the stack (components/preview runs it under mocks).
  if (layer !== "components") patterns.push({ regex: `${ups(depth)}[^./][^/]*\\.js$`, message: `${why}; the root files are the Pulumi program` });
  if (packages.length > 0) patterns.push({ group: packages, message: why });
  if (layer === "components") {
    patterns.push({
      regex: `${ups(depth)}runtime/[^/]+/(?!(index|services)\\.js$)`,
      message: "import a runtime package through its index.ts (its public API) or services.ts (its servers), never its internals",
    });
  }
  return patterns;
}

function runtimePackagePatterns(pkg, depth) {
  const others = RUNTIME_PACKAGES.filter((p) => p !== pkg && !SHARED_RUNTIME.includes(p));
  if (others.length === 0) return [];
  // From runtime/<pkg>/… at `depth`, depth - 1 "../" reach runtime/.
  return [
    {
      regex: `${ups(depth - 1)}${either(others)}/(?!(index|services)\\.js$)`,
      message: `runtime/${pkg} imports another runtime package only through its index.ts or services.ts (DESIGN: the public API other folders import)`,
    },
  ];
}

const blocks = [];
for (const layer of Object.keys(LAYERS)) {
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    if (layer === "runtime" && depth >= 2) continue; // per package below
    const rules = { "no-restricted-imports": ["error", { patterns: layerPatterns(layer, depth) }] };
    if (layer === "model") {
      rules["no-restricted-properties"] = ["error", ...MODEL_CLOCK_READS.properties];
      rules["no-restricted-syntax"] = ["error", ...ERROR_KIND_BY_NAME, ...MODEL_CLOCK_READS.syntax];
    }
    blocks.push({ files: filesAt(layer, depth), rules });
  }
}
for (const pkg of RUNTIME_PACKAGES) {
  for (let depth = 2; depth <= MAX_DEPTH; depth++) {
    blocks.push({
      files: [`runtime/${pkg}/${"*/".repeat(depth - 2)}*.ts`],
      rules: { "no-restricted-imports": ["error", { patterns: [...layerPatterns("runtime", depth), ...runtimePackagePatterns(pkg, depth)] }] },
    });
  }
}

export default blocks;
