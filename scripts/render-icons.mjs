// Renders the PWA icons in public/icons from the SVG sources in scripts/icons,
// with the Chromium the browser tests use. Run: node scripts/render-icons.mjs
import { chromium } from "../end2end/node_modules/@playwright/test/index.mjs";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "..", "public", "icons");
const icons = [
  ["icon.svg", "icon-192.png", 192],
  ["icon.svg", "icon-512.png", 512],
  // Maskable: the mark sits inside the central safe zone, on a full-bleed background.
  ["maskable.svg", "maskable-512.png", 512],
];

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage();
for (const [source, target, size] of icons) {
  const svg = readFileSync(path.join(here, "icons", source), "utf8").replace("<svg ", `<svg width="${size}" height="${size}" `);
  await page.setViewportSize({ width: size, height: size });
  await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
  await page.screenshot({ path: path.join(out, target), omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
  console.log(`${target}: ${size}×${size}`);
}
await browser.close();
