import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard, built to dist/app and served by `hotpatch server` at / (packages/server/src/plugins/dashboard.ts).
// `npm run dev -w packages/web` proxies the API to a local server on :4242.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist/app', emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  server: { proxy: { '/v1': 'http://127.0.0.1:4242', '/healthz': 'http://127.0.0.1:4242' } },
});
