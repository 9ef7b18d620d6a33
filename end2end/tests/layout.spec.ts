import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { freePort, Netpulse, publish, publishing, twoMonitors } from "./netpulse";

/** A dashboard with every section: speed tests, two monitors (one down, with a long URL) and a custom topic. */
async function fullServer(): Promise<Netpulse> {
  const closed = await freePort();
  const server = await Netpulse.start({
    interval: 5,
    rootConfig: publishing(["sales"]),
    extraConfig:
      twoMonitors(`tcp = "127.0.0.1:${closed}"`, 2, "/speedtest/empty?with=a-rather-long-query-string-that-must-wrap-on-a-phone") +
      `
[[alert]]
name = "few orders"
series = "topic:sales"
field = "orders"
condition = "< 10"
` +
      `[[alert]]
name = "gone is down"
series = "probe:gone"
field = "up"
condition = "< 1"
` +
      // Not firing on loopback: its threshold is dashed on the speed chart.
      `[[alert]]
name = "slow download"
series = "speed"
field = "download_mbps"
condition = "< 500"
`,
  });
  await publish(server, "sales", { orders: 3, revenue: 120.5 });
  await server.speedTests();
  return server;
}

async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
}

test("at 360 and 390 px wide nothing scrolls sideways", async ({ page }) => {
  const server = await fullServer();
  try {
    for (const width of [360, 390]) {
      await page.setViewportSize({ width, height: 844 });
      await server.open(page);
      await expect(page.locator('[data-testid="monitor-row"]')).toHaveCount(2);
      expect(await horizontalOverflow(page), `${width} px`).toBeLessThanOrEqual(0);
      // Every section is there, stacked.
      for (const id of ["alerts", "speed-chart", "latency-chart", "topic-sales", "event-log"]) {
        await expect(page.getByTestId(id)).toBeVisible();
      }
    }
  } finally {
    await server.stop();
  }
});

test("every control is reachable from the keyboard, in order, with a visible focus ring", async ({ page }) => {
  const server = await fullServer();
  try {
    await server.open(page);
    const reached: string[] = [];
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const style = getComputedStyle(el);
        return { id: el.dataset.testid ?? el.dataset.range ?? el.tagName, ring: style.outlineStyle !== "none" && style.outlineWidth !== "0px" };
      });
      expect(focused.ring, `${focused.id} shows where the focus is`).toBe(true);
      reached.push(focused.id);
    }
    expect(reached).toEqual([
      "theme-toggle", "alerts-link", "live", "24h", "7d", "30d", "1y",
      "room-speed", "speed-chart", "latency-chart",
      "room-probe",
      "room-sales", "topic-chart",
      "event-log",
    ]);
    // Enter on a range link navigates like a click.
    await page.locator('[data-range="7d"]').focus();
    await page.keyboard.press("Enter");
    await expect(page).toHaveURL(/\?range=7d$/);
  } finally {
    await server.stop();
  }
});

for (const scheme of ["dark", "light"] as const) {
  test(`axe finds no WCAG 2 AA violations in the ${scheme} theme`, async ({ browser }, info) => {
    const server = await fullServer();
    const context = await browser.newContext({ ...info.project.use, colorScheme: scheme });
    const page = await context.newPage();
    try {
      await server.open(page);
      await expect(page.locator('[data-testid="monitor-row"] .slot')).not.toHaveCount(0);
      // Wait out the cards' pulse, whose ring fades over a second.
      await page.waitForTimeout(1500);
      const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
      const summary = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      expect(summary).toEqual([]);
      await page.screenshot({ path: info.outputPath(`dashboard-${info.project.name}-${scheme}.png`), fullPage: true, scale: "css" });
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
