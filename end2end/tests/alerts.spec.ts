import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { freePort, Netpulse, publish, publishing } from "./netpulse";

const rule = `
[[alert]]
name = "few orders"
series = "topic:sales"
field = "orders"
condition = "< 10"
`;

test("the alerts panel shows a breach live, is server-rendered while it lasts, and clears when it resolves", async ({ page, request }, info) => {
  const server = await Netpulse.start({ rootConfig: publishing(["sales"]), extraConfig: rule });
  try {
    await server.open(page);
    const panel = page.getByTestId("alerts");
    await expect(panel.getByTestId("alerts-summary")).toHaveText("The rule is OK.");

    await publish(server, "sales", { orders: 3 });
    const row = panel.getByTestId("alert-row");
    await expect(row).toHaveAttribute("data-phase", "firing");
    await expect(row).toContainText("few orders");
    await expect(row).toContainText("sales");
    await expect(row).toContainText("orders 3.00 (< 10)");
    await expect(panel.getByTestId("alerts-summary")).toHaveText("1 firing");
    await expect(row.locator("time")).toHaveText(/^since \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    // The event log says it in words, not as the event's JSON.
    await expect(page.getByTestId("event-log").locator('[data-topic="alert"]').first()).toContainText("few orders firing on sales (3.00)");

    // The page a new visitor gets already carries the firing row.
    const html = await (await request.get(server.url)).text();
    expect(html).toContain('data-phase="firing"');

    const results = await new AxeBuilder({ page }).include('[data-testid="alerts"]').withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    await panel.screenshot({ path: info.outputPath(`alerts-${info.project.name}.png`) });
    // On a phone the row wraps inside the viewport instead of overflowing it.
    const box = (await row.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(page.viewportSize()!.width);

    await publish(server, "sales", { orders: 1 });
    await publish(server, "sales", { orders: 40 });
    await expect(row).toHaveCount(0);
    await expect(panel.getByTestId("alerts-summary")).toHaveText("The rule is OK.");
    // The incident, with its worst value, is in the history the API serves.
    const history = await (await request.get(`${server.url}/api/alerts/history`)).json();
    expect(history.incidents.map((i: { state: string; worst: number }) => [i.state, i.worst])).toEqual([["resolved", 1]]);
  } finally {
    await server.stop();
  }
});

test("a dashboard with no rules has no alerts panel", async ({ page }) => {
  const server = await Netpulse.start();
  try {
    await server.open(page);
    await expect(page.getByTestId("alerts")).toHaveCount(0);
  } finally {
    await server.stop();
  }
});

test("the speed chart shades a stretch of failed tests and dashes a rule's threshold", async ({ page }, info) => {
  // Tests fail until a second netpulse starts serving as the target.
  const targetPort = await freePort();
  const server = await Netpulse.start({
    interval: 1,
    target: `http://127.0.0.1:${targetPort}/speedtest`,
    extraConfig: `
[[alert]]
name = "tests failing"
series = "speed"
field = "failed"
condition = ">= 1"

[[alert]]
name = "slow download"
series = "speed"
field = "download_mbps"
condition = "< 0.5"
`,
  });
  let target: Netpulse | undefined;
  try {
    await server.open(page);
    const failing = page.getByTestId("alert-row").filter({ hasText: "tests failing" });
    // The first test runs as the server starts, which a busy machine slows.
    await expect(failing).toHaveAttribute("data-phase", "firing", { timeout: 15_000 });
    target = await Netpulse.start({ port: targetPort });
    await expect(failing).toHaveCount(0, { timeout: 30_000 });
    const chart = page.getByTestId("speed-chart");
    await expect(chart).toHaveAttribute("aria-label", /Alert marks: 1 threshold dashed, 1 incident shaded\.$/);
    // The canvas really shows it: pixels of the shade (the danger colour at 16% over the panel).
    const shaded = await chart.evaluate((canvas: HTMLCanvasElement) => {
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - 56) <= 6 && Math.abs(data[i + 1] - 39) <= 6 && Math.abs(data[i + 2] - 46) <= 6) count++;
      }
      return count / (data.length / 4);
    });
    expect(shaded, "share of the canvas in the incident's shade").toBeGreaterThan(0.01);
    await page.locator("figure.chart").first().screenshot({ path: info.outputPath(`speed-chart-marks-${info.project.name}.png`) });
    // A new visitor's page gets the finished incident from the server's snapshot.
    const snapshot = (await (await fetch(`${server.url}/api/snapshot`)).json()) as { incidents: [string, string, number, number][] };
    expect(snapshot.incidents.map(([series, field]) => `${series}/${field}`)).toEqual(["speed/failed"]);
    await page.reload();
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    await expect(chart).toHaveAttribute("aria-label", /Alert marks: 1 threshold dashed, 1 incident shaded\.$/);
  } finally {
    await target?.stop();
    await server.stop();
  }
});
