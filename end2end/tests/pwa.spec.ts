import { chromium, expect, Page, test } from "@playwright/test";
import { appendFileSync, cpSync } from "node:fs";
import path from "node:path";
import { freePort, Netpulse, scratchDir, siteRoot } from "./netpulse";

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Buffer): [number, number] {
  expect(bytes.subarray(1, 4).toString()).toBe("PNG");
  return [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
}

async function activeWorker(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => (await navigator.serviceWorker.ready).active?.state);
}

async function cacheNames(page: Page): Promise<string[]> {
  return page.evaluate(() => caches.keys());
}

test("the manifest and its icons make the page installable", async () => {
  const server = await Netpulse.start();
  // A persistent profile: Chromium never offers to install from an incognito-like context.
  const profile = scratchDir("profile");
  const context = await chromium.launchPersistentContext(profile, { ...test.info().project.use.launchOptions, colorScheme: "dark" });
  const page = await context.newPage();
  try {
    const response = await fetch(`${server.url}/manifest.webmanifest`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/manifest+json");
    const manifest = await response.json();
    expect(manifest).toMatchObject({ name: "netpulse", start_url: "/", display: "standalone" });
    const purposes: Record<string, string> = {};
    for (const icon of manifest.icons) {
      const image = await fetch(`${server.url}${icon.src}`);
      expect(image.headers.get("content-type")).toBe("image/png");
      const [w, h] = pngSize(Buffer.from(await image.arrayBuffer()));
      expect(`${w}x${h}`).toBe(icon.sizes);
      purposes[`${icon.sizes} ${icon.purpose}`] = icon.src;
    }
    expect(Object.keys(purposes).sort()).toEqual(["192x192 any", "512x512 any", "512x512 maskable"]);

    await server.open(page);
    await expect.poll(() => activeWorker(page)).toBe("activated");
    // Chromium's own verdict, over the DevTools protocol.
    const cdp = await page.context().newCDPSession(page);
    const { installabilityErrors } = await cdp.send("Page.getInstallabilityErrors");
    expect(installabilityErrors).toEqual([]);
    const { errors } = await cdp.send("Page.getAppManifest");
    expect(errors).toEqual([]);
  } finally {
    await context.close();
    await server.stop();
  }
});

test("offline, the page opens from the cache with the last values and a clear banner", async ({ page, context }) => {
  const server = await Netpulse.start();
  try {
    const latest = (await server.speedTests()).at(-1)!;
    await server.open(page);
    await expect.poll(() => activeWorker(page)).toBe("activated");
    // Controlled by the worker from the next load on; that load also refreshes the cached page.
    await page.reload();
    await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
    const shell = (await cacheNames(page)).find((name) => name.startsWith("netpulse-shell-"));
    expect(shell).toBeTruthy();
    await expect(page.getByTestId("offline-banner")).toHaveCount(0);

    await context.setOffline(true);
    await expect(page.getByTestId("offline-banner")).toBeVisible();
    await page.reload();
    await expect(page.getByTestId("card-download")).toHaveAttribute("data-value", String(latest.download_mbps));
    await expect(page.getByTestId("offline-banner")).toContainText("Offline.");
    await expect(page.getByTestId("offline-banner")).toContainText("last values");
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "offline");
    await page.screenshot({ path: test.info().outputPath("dashboard-offline.png"), fullPage: true });

    await context.setOffline(false);
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live", { timeout: 40_000 });
    await expect(page.getByTestId("offline-banner")).toHaveCount(0);
  } finally {
    await context.setOffline(false);
    await server.stop();
  }
});

test("a new build replaces the cached shell of the old one", async ({ page }) => {
  // A copy of the built site, so this test can change it like a new release would.
  const site = scratchDir("site");
  cpSync(siteRoot, site, { recursive: true });
  const port = await freePort();
  let server = await Netpulse.start({ port, siteRoot: site });
  try {
    await page.goto(server.url);
    await expect.poll(() => activeWorker(page)).toBe("activated");
    const before = (await cacheNames(page)).filter((name) => name.startsWith("netpulse-shell-"));
    expect(before).toHaveLength(1);

    await server.stop();
    appendFileSync(path.join(site, "pkg", "netpulse.css"), "\n/* next release */\n");
    server = await Netpulse.start({ port, siteRoot: site });
    const worker = await (await fetch(`${server.url}/sw.js`)).text();
    const version = /const VERSION = "([^"]+)"/.exec(worker)![1];
    expect(before[0]).not.toBe(`netpulse-shell-${version}`);

    await page.reload();
    await expect.poll(() => cacheNames(page), { timeout: 20_000 }).toEqual(expect.arrayContaining([`netpulse-shell-${version}`]));
    await expect.poll(async () => (await cacheNames(page)).filter((name) => name.startsWith("netpulse-shell-"))).toEqual([`netpulse-shell-${version}`]);
    // The new release's bundle lives under its own hash, so no old copy can answer for it.
    const hash = version.split("-").pop()!;
    const css = await page.evaluate(async (url) => (await (await caches.match(url))!.text()).includes("next release"), `/pkg/${hash}/netpulse.css`);
    expect(css).toBe(true);
  } finally {
    await server.stop();
  }
});

test("switching ranges thirty times leaves Cache Storage bounded", async ({ page }) => {
  const server = await Netpulse.start();
  try {
    await page.goto(server.url);
    await expect.poll(() => activeWorker(page)).toBe("activated");
    // The worker controls the page only after a reload.
    await page.reload();
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
    const ranges = ["24h", "7d", "30d", "1y", "live"];
    for (let n = 0; n < 30; n++) {
      const range = page.locator(`[data-range="${ranges[n % ranges.length]}"]`);
      await range.click();
      // Each view asks for history; before 0.2 every ask was a new URL, with the browser's from/to times.
      await expect(range).toHaveAttribute("aria-current", "page");
    }
    await expect.poll(() => page.evaluate(async () => {
      const cache = await caches.open((await caches.keys()).find((name) => name.startsWith("netpulse-history-"))!);
      return (await cache.keys()).length;
    })).toBeGreaterThan(0);
    const entries = await page.evaluate(async () => {
      let total = 0;
      for (const name of await caches.keys()) total += (await (await caches.open(name)).keys()).length;
      return total;
    });
    const shell = await page.evaluate(async () => (await (await caches.open((await caches.keys()).find((name) => name.startsWith("netpulse-shell-"))!)).keys()).length);
    // The shell, at most 8 history answers, the snapshot and status, and one page per range.
    expect(entries).toBeLessThanOrEqual(shell + 8 + 2 + ranges.length);
  } finally {
    await server.stop();
  }
});
