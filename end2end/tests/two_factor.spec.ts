// Two-factor sign-in in a real Chromium: set up on the account page from its
// key, then asked for after the password, a wrong code refused, at desktop
// and phone sizes, and axe-clean.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { createHmac } from "node:crypto";
import { createFirstAdmin, Netpulse } from "./netpulse";

const PASSWORD = "correct horse battery";

/** RFC 4648 base32, as authenticator apps read keys. */
function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of text.replace(/=+$/, "")) bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The six digits an authenticator app shows `offset` 30-second steps from now (RFC 6238, SHA-1). */
function totp(key: string, offset: number): string {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(key)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

/** Waits for a fresh 30-second step when less than 22 s of this one are left, so codes made now keep their step. */
async function earlyInAStep(): Promise<void> {
  const into = Math.floor(Date.now() / 1000) % 30;
  if (into > 8) await new Promise((resolve) => setTimeout(resolve, (31 - into) * 1000));
}

test("two-factor sign-in is set up from the account page and then asked for after the password", async ({ page }) => {
  const server = await Netpulse.start({ openRead: false });
  try {
    await createFirstAdmin(page, server, "ada", PASSWORD);

    // The footer's name leads to the account page.
    await page.getByRole("link", { name: "ada" }).click();
    await expect(page).toHaveURL(`${server.url}/account`);
    await expect(page.getByTestId("totp-state")).toContainText("Off");
    await page.getByRole("button", { name: "Set up two-factor sign-in" }).click();
    await expect(page.getByRole("img", { name: "QR code of the key" })).toBeVisible();
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations).toEqual([]);
    const key = (await page.getByTestId("totp-secret").textContent()) ?? "";
    expect(key).toMatch(/^[A-Z2-7]{32}$/);

    await earlyInAStep();
    await page.getByRole("textbox", { name: "Code", exact: true }).fill("000000");
    await page.getByRole("button", { name: "Turn on" }).click();
    await expect(page.getByTestId("account-error")).toContainText("wrong, expired or already used one-time code");
    // The same key is shown again for another try.
    const newKey = (await page.getByTestId("totp-secret").textContent()) ?? "";
    expect(newKey).toBe(key);
    const confirmed = totp(newKey, -1);
    await page.getByRole("textbox", { name: "Code", exact: true }).fill(confirmed);
    await page.getByRole("button", { name: "Turn on" }).click();
    await expect(page.getByTestId("account-notice")).toContainText("Two-factor sign-in is on");
    await expect(page.getByTestId("totp-state")).toContainText("On");

    await page.goto(server.url);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(`${server.url}/login`);
    await page.getByLabel("Name").fill("ada");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("code-form")).toBeVisible();
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations).toEqual([]);
    await page.getByRole("textbox", { name: "Code", exact: true }).fill(confirmed);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("auth-error")).toContainText("already used", { timeout: 5_000 });
    await page.getByRole("textbox", { name: "Code", exact: true }).fill(totp(newKey, 0));
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${server.url}/`);
    await expect(page.getByTestId("signed-in")).toHaveText("Signed in as ada (admin)");
  } finally {
    await server.stop();
  }
});
