import { expect, test } from "@playwright/test";
import { Netpulse, publish, publishing } from "./netpulse";

test.describe("in the viewer's own time zone", () => {
  // India: 5 h 30 min east of UTC, so a UTC time could never pass for local.
  test.use({ timezoneId: "Asia/Kolkata" });

  test("every time on the page is the browser's, and custom events carry the server's clock", async ({ page }) => {
    const server = await Netpulse.start({ rootConfig: publishing(["sales"]) });
    try {
      await publish(server, "sales", { orders: 3 });
      // Before hydration, the server can only say UTC, and says so.
      const html = await (await fetch(server.url)).text();
      expect(html).toContain("Times are UTC");
      await server.open(page);
      await expect(page.locator(".event-note")).toContainText("this device's");
      const before = Date.now();
      await publish(server, "sales", { orders: 4 });
      const line = page.locator('[data-testid="event"][data-topic="sales"]').first();
      await expect(line).toContainText('{"orders":4}');
      const time = line.locator("time");
      const at = Date.parse((await time.getAttribute("datetime"))!);
      // The event's time is the server's, within the publish round trip.
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
      const kolkata = new Date(at + 330 * 60_000).toISOString().slice(11, 19);
      await expect(time).toHaveText(kolkata);
      // The latest speed test's time, server-rendered in UTC, now reads in local time too.
      await server.speedTests(1);
      const tested = page.locator(".test-meta time");
      await expect(tested).not.toContainText("UTC");
    } finally {
      await server.stop();
    }
  });
});

test.describe("after a reset", () => {
  // The stream is held off with page.route, which a service worker would bypass.
  test.use({ serviceWorkers: "block" });

  test("a reset from a server that lost its history loads the new state", async ({ page }) => {
    const first = await Netpulse.start({ rootConfig: publishing(["sales"]) });
    const port = first.port;
    await publish(first, "sales", { orders: 1 });
    await first.open(page);
    const orders = page.getByTestId("topic-sales").getByTestId("card-sales-orders");
    await expect(orders).toHaveAttribute("data-value", "1");
    // The stream is held off while the server is replaced by one with a new database
    // that already has an event this page has never seen.
    await page.route("**/api/events**", (route) => route.abort());
    await first.stop();
    const second = await Netpulse.start({ port, rootConfig: publishing(["sales"]) });
    try {
      await publish(second, "sales", { orders: 7 });
      const reloaded = page.waitForRequest((request) => new URL(request.url()).pathname === "/api/snapshot");
      await page.unroute("**/api/events**");
      // The page resumes with an id the new log never issued: reset, then a fresh snapshot.
      await reloaded;
      await expect(orders).toHaveAttribute("data-value", "7");
      await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    } finally {
      await second.stop();
    }
  });
});
