import { expect, Page, test } from "@playwright/test";
import { freePort, Netpulse, publish, publishing, twoMonitors } from "./netpulse";

/** Counts a canvas's pixels near each of the given colours. */
async function pixelsNear(page: Page, testId: string, colours: number[][]): Promise<number[]> {
  return page.getByTestId(testId).evaluate((element, colours) => {
    const canvas = element as HTMLCanvasElement;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    const counts = colours.map(() => 0);
    for (let i = 0; i < data.length; i += 4) {
      colours.forEach((rgb, k) => {
        if (Math.abs(data[i] - rgb[0]) < 16 && Math.abs(data[i + 1] - rgb[1]) < 16 && Math.abs(data[i + 2] - rgb[2]) < 16) counts[k]++;
      });
    }
    return counts;
  }, colours);
}

test("the latency chart draws idle and loaded latency and says its latest values", async ({ page }) => {
  const server = await Netpulse.start();
  try {
    const latest = (await server.speedTests()).at(-1)!;
    expect(latest.latency_ms).not.toBeNull();
    expect(latest.latency_down_ms).not.toBeNull();
    await server.open(page);
    const chart = page.getByTestId("latency-chart");
    await expect(chart).toHaveAttribute("data-points", "1");
    await expect(chart).toHaveAttribute("aria-label", /^Latency chart of recent tests\. Latest: latency [\d.]+ ms, jitter [\d.]+ ms, under load [\d.]+ ms downloading/);
    await expect(page.getByTestId("latency-chart-status")).toHaveText(await chart.getAttribute("aria-label") ?? "");
    // A lone test is drawn as marks in the line colours. On loopback the four
    // figures are close enough for the marks to cover one another, so count them together.
    const lineColours = [[0xd2, 0xa8, 0xff], [0xf0, 0x88, 0x3e], [0x39, 0xc5, 0xcf], [0xf7, 0x78, 0xba]];
    await expect.poll(async () => (await pixelsNear(page, "latency-chart", lineColours)).reduce((a, b) => a + b)).toBeGreaterThan(20);
    // The legend names each drawn line beside a swatch of the line's colour;
    // latency and jitter share their cards' accent colours.
    const legend = page.getByTestId("latency-chart-legend").locator("li");
    await expect(legend).toHaveText(["Latency", "Jitter", "Loaded ↓", "Loaded ↑"]);
    const swatches = await legend.locator(".legend-swatch").evaluateAll((spans) => spans.map((s) => getComputedStyle(s).backgroundColor));
    expect(swatches).toEqual(["rgb(210, 168, 255)", "rgb(240, 136, 62)", "rgb(57, 197, 207)", "rgb(247, 120, 186)"]);
    const accents = await page.locator(".card-latency, .card-jitter").evaluateAll((cards) => cards.map((c) => getComputedStyle(c).borderLeftColor));
    expect(accents).toEqual(swatches.slice(0, 2));
  } finally {
    await server.stop();
  }
});

test("the theme follows the system, the toggle overrides it, and the choice survives a reload", async ({ browser }) => {
  const server = await Netpulse.start();
  const context = await browser.newContext({ colorScheme: "light" });
  const page = await context.newPage();
  try {
    await server.open(page);
    const toggle = page.getByTestId("theme-toggle");
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    // The system asks for light: light colours, and the canvas drawn on white.
    await expect(toggle).toHaveAttribute("data-theme", "light");
    await expect(toggle).toHaveAccessibleName("Switch to dark theme");
    expect(await background()).toBe("rgb(255, 255, 255)");
    await expect.poll(async () => (await pixelsNear(page, "speed-chart", [[0xff, 0xff, 0xff]]))[0]).toBeGreaterThan(1000);

    await toggle.focus();
    await page.keyboard.press("Enter");
    await expect(toggle).toHaveAttribute("data-theme", "dark");
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    expect(await background()).toBe("rgb(13, 17, 23)");
    await expect.poll(async () => (await pixelsNear(page, "speed-chart", [[0x12, 0x17, 0x21]]))[0]).toBeGreaterThan(1000);
    await page.screenshot({ path: test.info().outputPath("dashboard-dark.png"), fullPage: true });

    // Applied by the head script before the WASM loads, so there is no flash of light.
    await page.reload({ waitUntil: "commit" });
    await page.waitForSelector("body");
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    await expect(page.getByTestId("theme-toggle")).toHaveAttribute("data-theme", "dark");

    await page.getByTestId("theme-toggle").click();
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");
    await page.screenshot({ path: test.info().outputPath("dashboard-light.png"), fullPage: true });
  } finally {
    await context.close();
    await server.stop();
  }
});

test("each monitor shows its uptime strip and response sparkline for the chosen range", async ({ page }) => {
  const closed = await freePort();
  const server = await Netpulse.start({ extraConfig: twoMonitors(`tcp = "127.0.0.1:${closed}"`) });
  try {
    await server.open(page);
    const up = page.locator('[data-testid="monitor-row"][data-monitor="self"]');
    const down = page.locator('[data-testid="monitor-row"][data-monitor="gone"]');
    await expect(page.locator(".monitor-table thead")).toContainText("Uptime, 24 h");
    await expect(up.getByTestId("uptime")).toHaveText("100%");
    await expect(down.getByTestId("uptime")).toHaveText("0.00%");
    // 24 h in half hours, the newest cell holding this minute's checks.
    await expect(up.locator(".slot")).toHaveCount(48);
    await expect(up.locator(".slot").last()).toHaveClass(/slot-up/);
    await expect(down.locator(".slot").last()).toHaveClass(/slot-down/);
    await expect(up.getByTestId("uptime-strip")).toHaveAttribute("aria-label", /^Uptime 100%; 0 of 1 periods had failed checks$/);
    await expect(up.locator(".slot").last()).toHaveAttribute("title", /: \d+ up of \d+ checks, [\d.]+ ms mean$/);
    // The sparkline needs two buckets; within one it has a single point.
    await expect.poll(async () => (await up.locator("polyline").getAttribute("points")) ?? "").toMatch(/^[\d.]+,[\d.]+/);

    // A week: the strip reloads in 3-hour cells from /api/history.
    await page.locator('[data-range="7d"]').click();
    await expect(page.locator(".monitor-table thead")).toContainText("Uptime, 7 d");
    await expect(up.locator(".slot")).toHaveCount(56);
    await expect(up.getByTestId("uptime")).toHaveText("100%");
    await expect(down.getByTestId("uptime")).toHaveText("0.00%");
  } finally {
    await server.stop();
  }
});

test("a store that cannot write shows a banner while live figures keep coming", async ({ page }) => {
  const server = await Netpulse.start({ rootConfig: publishing(["bulk"]), extraConfig: `[history]\nmax_size_mb = 1` });
  try {
    await server.open(page);
    await expect(page.getByTestId("store-banner")).toHaveCount(0);
    const filler = "x".repeat(60 * 1024);
    for (let n = 0; n < 40; n++) await publish(server, "bulk", { n, filler });
    const store = (await server.snapshot()).store;
    expect(store.ok).toBe(false);
    // The page polls the server's status, so the banner comes without a reload.
    const banner = page.getByTestId("store-banner");
    await expect(banner).toContainText("History is not being saved", { timeout: 30_000 });
    await expect(banner).toHaveAttribute("role", "alert");
    await expect(banner).toContainText("full");
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    // Server-rendered too: a fresh load shows it at once.
    const html = await (await fetch(server.url)).text();
    expect(html).toContain("History is not being saved");
  } finally {
    await server.stop();
  }
});

/** The dashboard's number format: about three significant digits. */
function metric(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

test("the arrow keys walk a chart's tests and show each one's values", async ({ page }) => {
  const server = await Netpulse.start({ interval: 2 });
  try {
    await server.speedTests(2);
    await server.open(page);
    const speed = (await server.snapshot()).speed;
    const [older, newer] = [speed[0], speed[1]];
    const chart = page.getByTestId("speed-chart");
    await expect.poll(async () => Number(await chart.getAttribute("data-points"))).toBeGreaterThanOrEqual(2);
    const tooltip = page.getByTestId("speed-chart-tooltip");
    await chart.focus();
    await page.keyboard.press("Home");
    await expect(tooltip).toContainText(`Download: ${metric(older.download_mbps!)} Mbit/s`);
    const firstTime = await tooltip.locator("time").textContent();
    await page.keyboard.press("ArrowRight");
    await expect(tooltip).toContainText(`Download: ${metric(newer.download_mbps!)} Mbit/s`);
    await expect(tooltip.locator("time")).not.toHaveText(firstTime!);
    await page.keyboard.press("ArrowLeft");
    await expect(tooltip.locator("time")).toHaveText(firstTime!);
    await page.keyboard.press("Escape");
    await expect(tooltip).toHaveCount(0);
    await page.keyboard.press("End");
    await expect(tooltip).toBeVisible();
    await page.keyboard.press("Tab");
    await expect(tooltip).toHaveCount(0);
  } finally {
    await server.stop();
  }
});

test("pointing at a chart shows the values at that time", async ({ page }, info) => {
  const server = await Netpulse.start();
  try {
    const latest = (await server.speedTests()).at(-1)!;
    await server.open(page);
    const chart = page.getByTestId("speed-chart");
    const box = (await chart.boundingBox())!;
    // A lone test sits in the middle of the plot, between the 68-pixel axis and the 28-pixel right margin.
    const position = { x: (68 + box.width - 28) / 2, y: box.height / 2 };
    if (info.project.use.hasTouch) await chart.tap({ position });
    else await chart.hover({ position });
    const tooltip = page.getByTestId("speed-chart-tooltip");
    await expect(tooltip).toContainText(`Download: ${metric(latest.download_mbps!)} Mbit/s`);
    await expect(tooltip).toContainText(`Upload: ${metric(latest.upload_mbps!)} Mbit/s`);
    await expect(tooltip.locator("time")).toHaveText(/^\d\d:\d\d:\d\d$/);
    if (!info.project.use.hasTouch) {
      await page.mouse.move(0, 0);
      await expect(tooltip).toHaveCount(0);
    }
  } finally {
    await server.stop();
  }
});
