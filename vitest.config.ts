import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/setup/relaxed-simd.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
