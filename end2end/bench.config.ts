import { defineConfig } from "@playwright/test";

// Benchmarks, not tests: run by bench/*.sh against a server the script starts.
export default defineConfig({
  testDir: "./bench",
  timeout: 300_000,
  workers: 1,
  reporter: [["list"]],
  use: {
    colorScheme: "dark",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
});
