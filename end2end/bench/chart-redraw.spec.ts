import { expect, Page, test } from "@playwright/test";

const url = process.env.NETPULSE_URL ?? "http://127.0.0.1:3000";
const ROUNDS = 40;

function summary(samples: number[]): { median: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], p95: sorted[Math.ceil(sorted.length * 0.95) - 1] };
}

/** netpulse's own redraws: each resize redraws the chart, which stamps its main-thread cost on the canvas. */
async function netpulseRedraws(page: Page): Promise<number[]> {
  const chart = page.getByTestId("speed-chart");
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh stamp each round proves the chart redrew for this resize.
    await chart.evaluate((c) => c.removeAttribute("data-draw-ms"));
    await page.setViewportSize({ width: round % 2 ? 1100 : 1000, height: 900 });
    await expect(chart).toHaveAttribute("data-draw-ms", /\d/);
    times.push(Number(await chart.getAttribute("data-draw-ms")));
  }
  return times;
}

/** The floor: the same 7,200 points, undecimated, stroked with bare lineTo calls on a canvas of the same size. */
async function bareCanvas(page: Page): Promise<number[]> {
  return page.evaluate(async (rounds) => {
    const shown = document.querySelector<HTMLCanvasElement>('[data-testid="speed-chart"]')!;
    const snapshot = await (await fetch("/api/snapshot")).json();
    const lines = ["download_mbps", "upload_mbps"].map((field) =>
      snapshot.speed.map((s: Record<string, number | string>) => [Date.parse(s.at as string), s[field] as number]),
    );
    const canvas = document.createElement("canvas");
    canvas.width = shown.width;
    canvas.height = shown.height;
    document.body.append(canvas);
    const ctx = canvas.getContext("2d")!;
    const t0 = lines[0][0][0];
    const t1 = lines[0][lines[0].length - 1][0];
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const start = performance.now();
      ctx.fillStyle = "#121721";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      for (const [k, line] of lines.entries()) {
        ctx.strokeStyle = k === 0 ? "#3fb950" : "#58a6ff";
        ctx.lineWidth = 2;
        ctx.beginPath();
        for (const [i, [t, v]] of line.entries()) {
          const x = ((t - t0) / (t1 - t0)) * canvas.width;
          const y = canvas.height - (v / 700) * canvas.height;
          if (i === 0) ctx.moveTo(x, y);
          else ctx.lineTo(x, y);
        }
        ctx.stroke();
      }
      // Like netpulse's figure, the main thread's cost: Chromium rasterises at paint time.
      times.push(performance.now() - start);
    }
    canvas.remove();
    return times;
  }, ROUNDS);
}

for (const scale of [1, 2]) {
  test(`redraw of 2 × 3,600 points at ${scale}x pixel density`, async ({ browser }) => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: scale });
    const page = await context.newPage();
    await page.goto(url);
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    await expect(page.getByTestId("speed-chart")).toHaveAttribute("data-points", "3600");
    const ours = summary(await netpulseRedraws(page));
    const floor = summary(await bareCanvas(page));
    const canvas = await page.getByTestId("speed-chart").evaluate((c: HTMLCanvasElement) => `${c.width}×${c.height}`);
    console.log(
      `| ${scale}x | ${canvas} | ${ours.median.toFixed(2)} | ${ours.p95.toFixed(2)} | ${floor.median.toFixed(2)} | ${floor.p95.toFixed(2)} | ${(ours.median / floor.median).toFixed(2)} |`,
    );
    await context.close();
  });
}
