import { expect, test } from "@playwright/test";
import { Netpulse, publish, publishing } from "./netpulse";

async function perTopic(server: Netpulse): Promise<Record<string, number>> {
  const status = await (await fetch(`${server.url}/api/status`)).json();
  return status.connections.per_topic;
}

test("cards pulse on each new test and show the change; the header shows the last event's age", async ({ page }) => {
  const server = await Netpulse.start({ interval: 3 });
  try {
    await server.speedTests();
    await server.open(page);
    const card = page.getByTestId("card-download");
    // The first arrival after load pulses "a", the next "b", restarting the animation.
    await expect(card).toHaveAttribute("data-pulse", "a", { timeout: 20_000 });
    await expect(page.getByTestId("event-age")).toHaveText(/^last event (just now|\d+ s ago)$/);
    const speed = (await server.snapshot()).speed;
    const [previous, latest] = speed.slice(-2);
    const change = latest.download_mbps! - previous.download_mbps!;
    await expect(card.getByTestId("card-delta")).toHaveText(new RegExp(`^${change > 0 ? "\\+" : change < 0 ? "−" : "±"}[\\d.]+ since the previous$`));
    await expect(card).toHaveAttribute("data-pulse", "b", { timeout: 20_000 });
  } finally {
    await server.stop();
  }
});

test("switching a room off unsubscribes, switching it on resubscribes, and the choice survives a reload", async ({ page }) => {
  const server = await Netpulse.start({ rootConfig: publishing(["sales"]) });
  try {
    await server.open(page);
    await expect.poll(() => perTopic(server)).toMatchObject({ speed: 1, probe: 1, sales: 1 });

    const speedSwitch = page.getByTestId("room-speed");
    await expect(speedSwitch).toHaveAttribute("aria-checked", "true");
    await speedSwitch.click();
    await expect(speedSwitch).toHaveAttribute("aria-checked", "false");
    await expect(page.locator(".speed-section .room-off")).toContainText("Switched off");
    await expect(page.getByTestId("speed-chart")).toHaveCount(0);
    // The server's own accounting: the page's one stream no longer carries speed.
    await expect.poll(() => perTopic(server)).toEqual({ probe: 1, sales: 1 });

    // From the keyboard: Space on the focused switch.
    await page.getByTestId("room-sales").focus();
    await page.keyboard.press("Space");
    await expect(page.getByTestId("room-sales")).toHaveAttribute("aria-checked", "false");
    await expect.poll(() => perTopic(server)).toEqual({ probe: 1 });

    await page.reload();
    await expect(page.getByTestId("room-speed")).toHaveAttribute("aria-checked", "false");
    await expect(page.getByTestId("room-sales")).toHaveAttribute("aria-checked", "false");
    await expect.poll(() => perTopic(server)).toEqual({ probe: 1 });

    await page.getByTestId("room-speed").click();
    await page.getByTestId("room-sales").click();
    await expect.poll(() => perTopic(server)).toMatchObject({ speed: 1, probe: 1, sales: 1 });
    await expect(page.getByTestId("speed-chart")).toBeVisible();
  } finally {
    await server.stop();
  }
});

test("a custom topic gets a card per number, a chart, and lines in the event log", async ({ page }) => {
  const server = await Netpulse.start({ rootConfig: publishing(["sales"]) });
  try {
    await publish(server, "sales", { orders: 3, revenue: 120.5, region: "eu" });
    await server.open(page);
    const section = page.getByTestId("topic-sales");
    // Server-rendered from the snapshot, then live.
    await expect(section.getByTestId("card-sales-orders")).toHaveAttribute("data-value", "3");
    await expect(section.getByTestId("card-sales-revenue")).toHaveAttribute("data-value", "120.5");
    await expect(section.getByTestId("card-sales-region")).toHaveCount(0);
    await publish(server, "sales", { orders: 5, revenue: 99 });
    await expect(section.getByTestId("card-sales-orders")).toHaveAttribute("data-value", "5");
    await expect(section.getByTestId("card-sales-orders").getByTestId("card-delta")).toHaveText("+2.00 since the previous");
    await expect(section.getByTestId("topic-chart")).toHaveAttribute("data-points", "2");
    await expect(section.getByTestId("topic-chart")).toHaveAttribute("aria-label", "Chart of sales, 2 events. Latest: orders 5.00, revenue 99.0.");

    // The start-up speed test may land in the log between these, so look at this topic's lines.
    const log = page.getByTestId("event-log");
    const sales = log.locator('[data-testid="event"][data-topic="sales"]');
    await expect(sales.first()).toContainText('{"orders":5,"revenue":99}');
    await expect(sales.nth(1)).toContainText('{"orders":3,"revenue":120.5,"region":"eu"}');
    // Newest first, and never more than 50.
    for (let n = 0; n < 60; n++) await publish(server, "sales", { orders: 100 + n });
    await expect(log.getByTestId("event").first()).toContainText('{"orders":159}');
    await expect(log.getByTestId("event")).toHaveCount(50);
    const ids = await log.getByTestId("event").evaluateAll((items) => items.map((i) => Number(i.getAttribute("data-id"))));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
  } finally {
    await server.stop();
  }
});
