// Two-factor sign-in in a real Chromium: set up on the account page from its
// key, then asked for after the password, a wrong code refused, at desktop
// and phone sizes, and axe-clean.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { createFirstAdmin, Netpulse } from "./netpulse";
import { earlyInAStep, totp } from "./totp";

const PASSWORD = "correct horse battery";

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
