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
    // Swagger UI (the API page's own chunk, never loaded by the console) is about 1.7 MB before gzip.
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: { console: "index.html", apiDocs: "api-docs.html" },
      output: {
        entryFileNames: "console/[name]-[hash].js",
        chunkFileNames: "console/[name]-[hash].js",
        assetFileNames: "console/[name]-[hash][extname]",
      },
    },
  },
  test: { include: ["src/**/*.test.ts"] },
});
