import { defineConfig, devices } from "@playwright/test";

// Debian's Chromium; a browser download is neither wanted nor possible here.
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "./tests",
  timeout: 90_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  // Each test starts its own netpulse; two cores do not want more at once.
  workers: 1,
  retries: 0,
  reporter: [["list"], ["html", { open: "never" }]],
  outputDir: "test-results",
  projects: [
    { name: "desktop", use: { ...devices["Desktop Chrome"] } },
    // A phone-sized viewport with touch; Debian's Chromium stands in for a phone's browser.
    { name: "mobile", use: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true } },
  ],
  use: {
    // Headless Chromium reports a light preference; the dark theme is the default look.
    colorScheme: "dark",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
