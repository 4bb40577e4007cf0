import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// `npm run dev` forwards /graphql, websockets included, to a Worksite server
// on its default port. The proxy keeps the browser's Host header (no
// changeOrigin) because the server refuses websocket handshakes whose Origin
// differs from the host it sees.
const WORKSITE_SERVER = "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/graphql": { target: WORKSITE_SERVER, ws: true },
    },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["src/test/setup.ts"],
  },
});
