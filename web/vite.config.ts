import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The console is served by `sextant serve` at `/` (static files from web/dist, unknown paths
// fall back to index.html), so assets use the absolute base `/` and routing is client-side.
// `npm run dev` proxies the API to a server on 127.0.0.1:8106 (override with SEXTANT_URL).
// (Typed here so that the build needs no @types/node.)
declare const process: { env: Record<string, string | undefined> };
const target = process.env.SEXTANT_URL || 'http://127.0.0.1:8106';

export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/api': { target, changeOrigin: false },
      '/healthz': { target },
    },
  },
  build: {
    outDir: 'dist',
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      // Libraries change less often than the app: separate files cache better.
      output: {
        manualChunks(id: string) {
          if (/node_modules\/(echarts|zrender)\//.test(id)) return 'echarts';
          if (/node_modules\/(react|react-dom|react-router|scheduler|cookie|set-cookie-parser)\//.test(id)) return 'react';
          return undefined;
        },
      },
    },
  },
});
