// @ts-check
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", ".lab/", "coverage/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Serialized provider code must not reach for module-level mutable state; `no-var` and
      // `prefer-const` keep captured bindings obvious.
      "no-var": "error",
      "prefer-const": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "@typescript-eslint/no-require-imports": "off",
    },
  },
);
