import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { createServer, IncomingMessage, Server } from "node:http";
import { Netpulse, publish, publishing, PUBLISH_TOKEN } from "./netpulse";

// The page's times are rewritten into the viewer's zone.
test.use({ timezoneId: "Asia/Tokyo" });

interface Received {
  headers: IncomingMessage["headers"];
  body: { kind?: string };
}

/** A webhook receiver on loopback that records what netpulse sends it. */
async function startReceiver(): Promise<{ server: Server; port: number; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ headers: request.headers, body: JSON.parse(body || "{}") });
      response.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0, received };
}

test("the alerts page lists the incident and its deliveries, silences a rule and tests a channel", async ({ page }, info) => {
  const hook = await startReceiver();
  const server = await Netpulse.start({
    rootConfig: publishing(["sales"]),
    extraConfig: `
[[notify]]
name = "phone"
kind = "webhook"
url = "http://127.0.0.1:${hook.port}/hook"

[[alert]]
name = "few orders"
series = "topic:sales"
field = "orders"
condition = "< 10"
notify = ["phone"]
`,
  });
  try {
    await publish(server, "sales", { orders: 3 });
    await expect.poll(() => hook.received.length).toBe(1);
    await publish(server, "sales", { orders: 40 });
    await expect.poll(() => hook.received.length).toBe(2);

    // From the dashboard's panel to the page.
    await server.open(page);
    await page.getByRole("link", { name: "Incidents, deliveries and silences" }).click();
    await expect(page).toHaveURL(/\/alerts$/);
    await expect(page.getByRole("heading", { name: "Incidents" })).toBeVisible();
    const incident = page.getByTestId("incidents").locator("tbody tr");
    await expect(incident).toHaveCount(1);
    await expect(incident).toContainText("few orders");
    await expect(incident).toContainText("3.00 (threshold 10.0)");
    await expect(incident).toHaveAttribute("data-state", "resolved");
    // In the viewer's zone, not UTC: the script rewrote every time.
    await expect(incident.locator("time")).not.toContainText("UTC");
    await expect(page.getByTestId("deliveries").locator('tbody tr[data-outcome="sent"]')).toHaveCount(2);

    const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, "nothing overflows the viewport").toBeLessThanOrEqual(page.viewportSize()!.width);
    await page.screenshot({ path: info.outputPath(`alerts-page-${info.project.name}.png`), fullPage: true });

    // A wrong token is refused, with the reason, and nothing is set.
    const silence = page.getByTestId("silence-form");
    await silence.getByLabel("Rule").selectOption("few orders");
    await silence.getByLabel("For").selectOption("1h");
    await silence.getByLabel("Reason").fill("router swap");
    await silence.getByLabel("API token").fill("not-the-token");
    await silence.getByRole("button", { name: "Silence" }).click();
    await expect(page.getByTestId("notice")).toHaveText("the bearer token is unknown, revoked or expired");
    await expect(page.getByTestId("silences").locator("li")).toHaveCount(0);

    // The page that answered is a fresh one: the form is filled again.
    await silence.getByLabel("Rule").selectOption("few orders");
    await silence.getByLabel("Reason").fill("router swap");
    await silence.getByLabel("API token").fill(PUBLISH_TOKEN);
    await silence.getByRole("button", { name: "Silence" }).click();
    await expect(page.getByTestId("notice")).toContainText("Silence set.");
    await expect(page.getByTestId("silences").locator("li")).toHaveCount(1);
    await expect(page.getByTestId("silences")).toContainText("few orders, until");
    await expect(page.getByTestId("silences")).toContainText("router swap");

    const tester = page.getByTestId("test-form");
    await tester.getByLabel("Channel").selectOption("phone");
    await tester.getByLabel("API token").fill(PUBLISH_TOKEN);
    await tester.getByRole("button", { name: "Send a test message" }).click();
    await expect(page.getByTestId("notice")).toContainText("Test message delivered on phone");
    await expect.poll(() => hook.received.length).toBe(3);
    expect(hook.received[2].body.kind).toBe("test");

    const ender = page.getByTestId("end-silence-form");
    await ender.getByLabel("API token").fill(PUBLISH_TOKEN);
    await ender.getByRole("button", { name: "End silence" }).click();
    await expect(page.getByTestId("notice")).toHaveText("Silence ended.");
    await expect(page.getByTestId("silences").locator("li")).toHaveCount(0);
  } finally {
    await server.stop();
    hook.server.close();
  }
});
