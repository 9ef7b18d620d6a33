import { expect, Page, test } from "@playwright/test";
import { freePort, Netpulse, twoMonitors } from "./netpulse";


/** Counts canvas pixels that are not background, and those in the download or upload line's colour. */
async function canvasPixels(page: Page) {
  return page.getByTestId("speed-chart").evaluate((element) => {
    const canvas = element as HTMLCanvasElement;
    const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
    const near = (i: number, rgb: number[]) =>
      Math.abs(data[i] - rgb[0]) < 16 && Math.abs(data[i + 1] - rgb[1]) < 16 && Math.abs(data[i + 2] - rgb[2]) < 16;
    let painted = 0;
    let lines = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (!near(i, [0x12, 0x17, 0x21])) painted++;
      // On loopback the two speeds are often close enough for one line to cover the other.
      if (near(i, [0x3f, 0xb9, 0x50]) || near(i, [0x58, 0xa6, 0xff])) lines++;
    }
    return { painted, lines, total: data.length / 4 };
  });
}

test("the dashboard is server-rendered, hydrates, and shows live speed events in cards and chart", async ({ page, request }) => {
  const server = await Netpulse.start({ interval: 4 });
  try {
    // The sampler's first test runs at start-up, before any page is open.
    const first = (await server.speedTests()).at(-1)!;
    expect(first.error).toBeNull();

    // Server-rendered: the HTML alone carries the latest figures.
    const html = await (await request.get(server.url)).text();
    expect(html).toContain(`data-value="${first.download_mbps}"`);
    expect(html).toContain(`data-value="${first.upload_mbps}"`);

    await page.goto(server.url);
    const connection = page.getByTestId("connection");
    // Only the hydrated client opens the stream, so "live" proves hydration.
    await expect(connection).toHaveAttribute("data-state", "live");
    // A visitor may watch, not start tests.
    await expect(page.getByTestId("test-now")).toHaveCount(0);

    // A new test finishes while the page is open; the page receives it over SSE.
    const idAtLoad = (await server.snapshot()).last_event_id;
    await expect.poll(async () => (await server.snapshot()).last_event_id, { timeout: 30_000 }).toBeGreaterThan(idAtLoad);
    await expect
      .poll(async () => {
        const latest = (await server.snapshot()).speed.at(-1)!;
        const shown = await Promise.all(
          ["download", "upload", "latency", "jitter"].map((key) => page.getByTestId(`card-${key}`).getAttribute("data-value")),
        );
        const expected = [latest.download_mbps, latest.upload_mbps, latest.latency_ms, latest.jitter_ms].map(String);
        return JSON.stringify(shown) === JSON.stringify(expected);
      })
      .toBe(true);
    await expect.poll(() => chartPoints(page)).toBeGreaterThan(1);
    const download = page.getByTestId("card-download").locator(".card-number");
    await expect(download).not.toHaveText("—");

    const pixels = await canvasPixels(page);
    expect(pixels.painted).toBeGreaterThan(pixels.total * 0.01);
    expect(pixels.lines).toBeGreaterThan(30);

    await page.screenshot({ path: test.info().outputPath("dashboard-desktop.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    // Redrawn for the new width, not stretched: the backing store follows the box.
    await expect
      .poll(() => page.getByTestId("speed-chart").evaluate((c: HTMLCanvasElement) => c.width === Math.round(c.clientWidth * devicePixelRatio)))
      .toBe(true);
    await expect.poll(async () => (await canvasPixels(page)).lines).toBeGreaterThan(30);
    await page.screenshot({ path: test.info().outputPath("dashboard-mobile.png"), fullPage: true });
  } finally {
    await server.stop();
  }
});

/** How many points the chart draws. */
async function chartPoints(page: Page): Promise<number> {
  return Number((await page.getByTestId("speed-chart").getAttribute("data-points")) ?? "0");
}

test("after a server restart the indicator recovers and no point is lost or repeated", async ({ page }) => {
  const port = await freePort();
  let server = await Netpulse.start({ port });
  try {
    await expect.poll(async () => (await server.snapshot()).speed.length, { timeout: 30_000 }).toBe(1);
    await page.goto(server.url);
    const connection = page.getByTestId("connection");
    await expect(connection).toHaveAttribute("data-state", "live");
    await expect.poll(() => chartPoints(page)).toBe(1);

    await server.stop();
    await expect(connection).toHaveAttribute("data-state", /reconnecting|offline/);
    await expect(connection).toContainText(/reconnecting|offline/);

    // The new process resumes from the same history database and measures once at
    // start-up; the page resumes its stream, keeps the old point and adds the new one.
    server = await Netpulse.start({ port, dataDir: server.dataDir });
    await expect(connection).toHaveAttribute("data-state", "live", { timeout: 40_000 });
    await expect.poll(async () => (await server.snapshot()).speed.length, { timeout: 30_000 }).toBe(2);
    await expect.poll(() => chartPoints(page)).toBe(2);
    const latest = (await server.snapshot()).speed.at(-1)!;
    await expect(page.getByTestId("card-download")).toHaveAttribute("data-value", String(latest.download_mbps));
    // Still two a moment later: nothing arrives twice.
    await page.waitForTimeout(1500);
    expect(await chartPoints(page)).toBe(2);
  } finally {
    await server.stop();
  }
});

test("a target that refuses connections is shown as a clear error", async ({ page }) => {
  const closed = await freePort();
  const server = await Netpulse.start({ target: `http://127.0.0.1:${closed}/speedtest` });
  try {
    await page.goto(server.url);
    await expect(page.getByTestId("test-error")).toContainText("connection refused");
    await expect(page.getByTestId("card-download").locator(".card-number")).toHaveText("—");
  } finally {
    await server.stop();
  }
});

test("the monitor table shows each endpoint's latest check and follows live results", async ({ page }) => {
  const closed = await freePort();
  const server = await Netpulse.start({ extraConfig: twoMonitors(`url = "http://127.0.0.1:${closed}/health"`) });
  try {
    await server.open(page);
    const up = page.locator('[data-testid="monitor-row"][data-monitor="self"]');
    const down = page.locator('[data-testid="monitor-row"][data-monitor="gone"]');
    await expect(up).toHaveAttribute("data-up", "true");
    await expect(up).toContainText("200");
    await expect(down).toHaveAttribute("data-up", "false");
    await expect(down).toContainText("connection refused");
    // Checks run every second: the row's time moves on without a reload.
    const first = await up.locator("time").getAttribute("datetime");
    await expect.poll(async () => up.locator("time").getAttribute("datetime"), { timeout: 10_000 }).not.toBe(first);
  } finally {
    await server.stop();
  }
});

test("the range picker loads stored history, keeps the range in the URL, and survives a reload", async ({ page }) => {
  const server = await Netpulse.start({ interval: 2 });
  try {
    await server.speedTests(2);
    await page.goto(server.url);
    await expect(page.locator('[data-range="live"]')).toHaveAttribute("aria-current", "page");
    await expect(page.locator('.range-picker [aria-current="page"]')).toHaveCount(1);

    await page.locator('[data-range="24h"]').click();
    await expect(page).toHaveURL(/\?range=24h$/);
    await expect(page.locator('[data-range="24h"]')).toHaveAttribute("aria-current", "page");
    await expect(page.locator('[data-range="live"]')).not.toHaveAttribute("aria-current", "page");
    await expect(page.locator('.range-picker [aria-current="page"]')).toHaveCount(1);
    // The stored tests, then each new one appended live.
    const history = await (await fetch(`${server.url}/api/history?series=speed`)).json();
    expect(history.points.length).toBeGreaterThan(1);
    await expect.poll(() => chartPoints(page)).toBeGreaterThanOrEqual(history.points.length);
    const before = await chartPoints(page);
    await expect.poll(() => chartPoints(page), { timeout: 15_000 }).toBeGreaterThan(before);
    await expect(page.getByTestId("speed-chart")).toHaveAttribute("aria-label", /Speed chart of the last 24 h, \d+ points?/);

    await page.locator('[data-range="1y"]').click();
    await expect(page).toHaveURL(/\?range=1y$/);
    await expect(page.getByTestId("speed-chart")).toHaveAttribute("aria-label", /Speed chart of the last 1 y, \d+ points?/);
    await expect.poll(() => chartPoints(page)).toBeGreaterThan(0);

    // Back and Forward step through the ranges without a reload.
    await page.goBack();
    await expect(page).toHaveURL(/\?range=24h$/);
    await expect(page.locator('[data-range="24h"]')).toHaveAttribute("aria-current", "page");
    await page.goForward();
    await expect(page.locator('[data-range="1y"]')).toHaveAttribute("aria-current", "page");

    // A copied link reproduces the view.
    await page.reload();
    await expect(page.locator('[data-range="1y"]')).toHaveAttribute("aria-current", "page");
    await expect(page.getByTestId("speed-chart")).toHaveAttribute("aria-label", /last 1 y, \d+ points?/);
    expect((await canvasPixels(page)).lines).toBeGreaterThan(0);
  } finally {
    await server.stop();
  }
});
