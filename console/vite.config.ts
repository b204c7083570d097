import { defineConfig } from "vite";

// The console is served by the API itself at `<api>/console`: asset paths are relative to that page
// (`console/<file>`), so it works at the root locally and under a stage prefix (`/api/console`) on AWS.
export default defineConfig({
  base: "./",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "../chalicelib/console_assets",
    emptyOutDir: true,
    assetsDir: "console",
    target: "es2022",
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: "console/app-[hash].js",
        chunkFileNames: "console/[name]-[hash].js",
        assetFileNames: "console/[name]-[hash][extname]",
      },
    },
  },
  test: { include: ["src/**/*.test.ts"] },
});
