/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }],
  },
  globalSetup: "<rootDir>/test/lab/globalSetup.ts",
  globalTeardown: "<rootDir>/test/lab/globalTeardown.ts",
  testTimeout: 120000,
  // The stack imports the package by name; unit tests take it from the sources.
  moduleNameMapper: { "^pulumi-gre$": "<rootDir>/index.ts" },
};
