// A public status page seen by a visitor of a closed netpulse: server-rendered,
// live through its own small script, and showing only its monitors.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { freePort, Netpulse, twoMonitors } from "./netpulse";

test("a visitor who may see nothing else sees the status page, and it follows live checks", async ({ page }) => {
  const closed = await freePort();
  const server = await Netpulse.start({
    openRead: false,
    extraConfig:
      twoMonitors(`tcp = "127.0.0.1:${closed}"`, 1) +
      `
[[monitor]]
name = "private"
tcp = "127.0.0.1:${closed}"
interval = 1
[[status_page]]
name = "public"
title = "Example services"
monitors = ["self", "gone"]
speed = true
`,
  });
  const blocked: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") blocked.push(message.text());
  });
  try {
    await page.goto(server.url);
    await expect(page).toHaveURL(`${server.url}/login`, { timeout: 5_000 });

    await page.goto(`${server.url}/status`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Example services");
    await expect(page.getByTestId("status-summary")).toHaveText("1 of 2 down");
    const self = page.locator('[data-monitor="self"]');
    await expect(self).toHaveAttribute("data-state", "up");
    await expect(page.locator('[data-monitor="gone"]')).toHaveAttribute("data-state", "down");
    await expect(page.locator("body")).not.toContainText("private");
    // Live: the next check's time replaces the one the server rendered.
    const first = await self.locator("time").getAttribute("datetime");
    await expect.poll(async () => self.locator("time").getAttribute("datetime"), { timeout: 10_000 }).not.toBe(first);
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations).toEqual([]);
    await page.screenshot({ path: test.info().outputPath(`status-page-${test.info().project.name}.png`), fullPage: true });
    expect(blocked, "no script or style is blocked").toEqual([]);
  } finally {
    await server.stop();
  }
});
