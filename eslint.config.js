// Lint config: typescript-eslint's recommended rules, without type information so a lint stays fast on 2 cores.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import architecture from "./eslint.architecture.js";

export default tseslint.config(
  { ignores: ["node_modules/**", "bench/results/**", "**/*.d.ts", "docs/**", "policies/dist/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      // Error kinds are classes: `err.name === "XError"` breaks silently when a class is renamed or poses as another.
      "no-restricted-syntax": [
        "error",
        {
          selector: "BinaryExpression[operator=/^[!=]==?$/][left.property.name='name'][right.value=/Error$/]",
          message: "check an error's kind with instanceof, not by its name",
        },
        {
          selector: "CallExpression[callee.property.name='includes'][arguments.0.property.name='name'][arguments.0.object.typeAnnotation.typeName.name='Error']",
          message: "check an error's kind with instanceof, not by its name",
        },
      ],
    },
  },
  ...architecture,
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
