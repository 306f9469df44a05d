// Lint config: typescript-eslint's recommended rules, without type information so a lint stays fast on 2 cores.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import architecture, { ERROR_KIND_BY_NAME } from "./eslint.architecture.js";

export default tseslint.config(
  { ignores: ["node_modules/**", "bench/results/**", "**/*.d.ts", "docs/**", "policies/dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-restricted-syntax": ["error", ...ERROR_KIND_BY_NAME],
    },
  },
  ...architecture,
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
