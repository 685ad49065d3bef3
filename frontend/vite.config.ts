/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Django serves the build from frontend/dist under STATIC_URL "/static/" (whitenoise), and the
// SPA view reads .vite/manifest.json to find the entry. Workers and wasm codecs are emitted as
// hashed files in assets/ and fetched from /static/assets/ on the same origin.
const django = process.env.RADLOOP_DEV_BACKEND ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/static/",
  plugins: [react()],
  worker: { format: "es" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    manifest: true,
    target: "es2022",
    chunkSizeWarningLimit: 6000,
  },
  optimizeDeps: {
    // The loader's decode worker and codecs must not be pre-bundled (viewer.md §2); the dev
    // server still needs the CommonJS/emscripten codecs converted (viewer.md pitfall 2).
    exclude: ["@cornerstonejs/dicom-image-loader"],
    include: [
      "dicom-parser",
      "@cornerstonejs/codec-charls/decodewasmjs",
      "@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs",
      "@cornerstonejs/codec-openjpeg/decodewasmjs",
      "@cornerstonejs/codec-openjph/wasmjs",
      "@cornerstonejs/codec-libjxl/decodewasmjs",
      "pako",
      "comlink",
    ],
  },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": django,
      "/dicomweb": django,
      "/wado": django,
      "/accounts": django,
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
