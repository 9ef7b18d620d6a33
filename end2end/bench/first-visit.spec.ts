import { expect, test } from "@playwright/test";

const url = process.env.NETPULSE_URL ?? "http://127.0.0.1:3000";
const BUDGET = 300 * 1024;

interface Transfer {
  url: string;
  type: string;
  encoding: string;
  bytes: number;
}

/**
 * One first visit in a fresh browser context: every response the page loads
 * until it is hydrated and live, with the bytes that crossed the wire
 * (DevTools' encodedDataLength: headers and body as sent, compressed or not).
 */
async function firstVisit(browser: import("@playwright/test").Browser, acceptEncoding?: string): Promise<Transfer[]> {
  const context = await browser.newContext({ serviceWorkers: "block", extraHTTPHeaders: acceptEncoding ? { "Accept-Encoding": acceptEncoding } : {} });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const seen = new Map<string, Transfer>();
  cdp.on("Network.responseReceived", (event) => {
    seen.set(event.requestId, { url: event.response.url, type: event.type, encoding: event.response.headers["content-encoding"] ?? event.response.headers["Content-Encoding"] ?? "none", bytes: 0 });
  });
  cdp.on("Network.loadingFinished", (event) => {
    const transfer = seen.get(event.requestId);
    if (transfer) transfer.bytes = event.encodedDataLength;
  });
  await page.goto(url);
  await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
  // The stream stays open, so it never finishes loading: it is not part of the page's weight.
  await page.waitForLoadState("networkidle").catch(() => {});
  await context.close();
  return [...seen.values()].filter((t) => !t.url.includes("/api/events"));
}

function report(label: string, transfers: Transfer[]): number {
  const total = transfers.reduce((sum, t) => sum + t.bytes, 0);
  console.log(`\n${label}: ${total} B (${(total / 1024).toFixed(1)} KiB) in ${transfers.length} responses`);
  for (const t of transfers.sort((a, b) => b.bytes - a.bytes)) {
    console.log(`  ${String(t.bytes).padStart(8)} B  ${t.encoding.padEnd(8)} ${t.type.padEnd(10)} ${new URL(t.url).pathname}`);
  }
  return total;
}

test("a first visit transfers at most 300 KiB", async ({ browser }) => {
  const runs: number[] = [];
  for (let run = 0; run < 3; run++) {
    runs.push(report(`first visit ${run + 1}, as Chromium asks (br, gzip)`, await firstVisit(browser)));
  }
  // The peer: the same server, with the browser asking for no compression, as every visit was before 0.2.
  const identity = report("first visit, Accept-Encoding: identity", await firstVisit(browser, "identity"));
  const median = [...runs].sort((a, b) => a - b)[1];
  console.log(`\nmedian ${median} B; identity ${identity} B; ratio ${(median / identity).toFixed(3)}; budget ${BUDGET} B`);
  expect(median).toBeLessThanOrEqual(BUDGET);
});
