// Builds the console into console/dist: static files with relative URLs, so the same build is served at / (CloudFront)
// and at /console/ (the local stage).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // The chart pages load on first use (their chunk carries recharts, ≈ 400 kB minified); the entry stays below this.
    chunkSizeWarningLimit: 600,
    rolldownOptions: {
      onwarn(warning, warn) {
        // react-router marks its modules "use client" (for server components); a client-only bundle ignores it.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
