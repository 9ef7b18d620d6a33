import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { Netpulse, publish, publishing } from "./netpulse";

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
