// The admin page in a real Chromium, at desktop and phone sizes: users,
// tokens and access rules managed through its forms, a token shown once,
// nothing wider than the screen, and axe-clean.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { createFirstAdmin, Netpulse } from "./netpulse";

const PASSWORD = "correct horse battery";

test("an admin adds a user, makes and revokes a token, and opens and closes the dashboard to visitors from the admin page", async ({ page }) => {
  const server = await Netpulse.start({ openRead: false });
  try {
    await createFirstAdmin(page, server, "ada", PASSWORD);

    await page.getByRole("link", { name: "Admin" }).click();
    await expect(page).toHaveURL(`${server.url}/admin`);
    await expect(page.getByTestId("users").locator("tr[data-user=ada]")).toBeVisible();

    const addUser = page.getByTestId("add-user");
    await addUser.getByLabel("Name").fill("vera");
    await addUser.getByLabel(/Password/).fill(PASSWORD);
    await addUser.getByLabel("Role").selectOption("viewer");
    await addUser.getByRole("button", { name: "Add user" }).click();
    await expect(page.getByTestId("notice")).toHaveText("User added.");
    await expect(page.getByTestId("users").locator("tr[data-user=vera]")).toBeVisible();

    const addToken = page.getByTestId("add-token");
    await addToken.getByLabel("Name").fill("grafana");
    await addToken.getByLabel(/Scopes/).fill("read:*");
    await addToken.getByRole("button", { name: "Make token" }).click();
    const token = (await page.getByTestId("new-token").locator("code").textContent()) ?? "";
    expect(token).toMatch(/^np_/);
    const me = await fetch(`${server.url}/api/auth/session`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me.json()).caller).toBe("token:grafana");

    // A rule opens the dashboard to visitors at once.
    const visitorHome = async () => (await fetch(`${server.url}/`, { redirect: "manual" })).status;
    expect(await visitorHome()).toBe(303);
    const addRule = page.getByTestId("add-rule");
    await addRule.getByLabel(/^Who/).fill("anonymous");
    await addRule.getByLabel(/^Series/).fill("speed");
    await addRule.getByLabel("Allows").selectOption("read");
    await addRule.getByRole("button", { name: "Add rule" }).click();
    await expect(page.getByTestId("notice")).toContainText("Rule added");
    await expect(page.getByTestId("rules").locator('tr[data-rule="anonymous read speed"]')).toBeVisible();
    expect(await visitorHome()).toBe(200);

    // Axe, and nothing wider than the screen, with every table filled.
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations).toEqual([]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, "the page fits the screen").toBeLessThanOrEqual(0);

    await page.getByRole("button", { name: "Revoke grafana" }).click();
    await expect(page.getByTestId("notice")).toContainText("Token revoked");
    await expect(page.getByText(token)).toHaveCount(0);
    const after = await fetch(`${server.url}/api/auth/session`, { headers: { authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    await expect(page.getByTestId("audit")).toContainText("token-revoked");

    await page.getByRole("button", { name: "Remove rule anonymous read speed" }).click();
    await expect(page.getByTestId("notice")).toContainText("Rule removed");
    expect(await visitorHome()).toBe(303);
    await expect(page.getByTestId("audit")).toContainText("rule-removed");
  } finally {
    await server.stop();
  }
});
