// Single sign-on in a real Chromium against a real OpenID provider (the npm
// package oidc-provider, started by the test): the provider's groups become
// roles, someone in no mapped group is refused, and nothing works before the
// first admin exists. At desktop and phone sizes.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { createFirstAdmin, freePort, Netpulse, OidcProvider, signInAtProvider } from "./netpulse";

test("single sign-on maps the provider's groups to roles and refuses anyone unmapped", async ({ page }) => {
  const port = await freePort();
  const provider = await OidcProvider.start(port);
  const server = await Netpulse.start({ port, openRead: false, extraConfig: provider.config(port) });
  try {
    // Before the first admin exists, single sign-on makes no account.
    await page.goto(`${server.url}/login`);
    await expect(page.getByTestId("awaiting-setup")).toBeVisible();
    await page.goto(`${server.url}/login/oidc`);
    await signInAtProvider(page, "ada");
    await expect(page.getByTestId("auth-error")).toContainText("netpulse has no admin yet");
    await page.context().clearCookies();

    await createFirstAdmin(page, server, "root", "correct horse battery");
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.context().clearCookies();

    // Ada is in netpulse-admins: an admin, sent back to the page she asked for.
    await page.goto(`${server.url}/admin`);
    await expect(page).toHaveURL(/\/login\?next=/);
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations).toEqual([]);
    await page.getByRole("link", { name: "Sign in with Example SSO" }).click();
    await expect(page).toHaveURL(new RegExp(`^${provider.issuer}/`));
    await signInAtProvider(page, "ada");
    await expect(page).toHaveURL(`${server.url}/admin`);
    await expect(page.locator('tr[data-user="ada"]')).toContainText("(single sign-on)");
    await expect(page.locator('tr[data-user="ada"] select')).toHaveValue("admin");
    const cookies = await page.context().cookies(server.url);
    expect(cookies.find((c) => c.name === "netpulse_session")?.httpOnly).toBe(true);
    expect(cookies.find((c) => c.name === "netpulse_oidc"), "the sign-in's binding cookie is cleared").toBeUndefined();
    await page.context().clearCookies();

    // Vic is only in staff: a viewer on the dashboard.
    await page.goto(`${server.url}/login`);
    await page.getByRole("link", { name: "Sign in with Example SSO" }).click();
    await signInAtProvider(page, "vic");
    await expect(page).toHaveURL(`${server.url}/`);
    await expect(page.getByTestId("signed-in")).toContainText("vic (viewer)");
    expect((await page.request.get(`${server.url}/admin`)).status()).toBe(403);
    await page.context().clearCookies();

    // Eve's groups map to nothing: refused, with the reason, and no account made.
    await page.goto(`${server.url}/login`);
    await page.getByRole("link", { name: "Sign in with Example SSO" }).click();
    await signInAtProvider(page, "eve");
    await expect(page.getByTestId("auth-error")).toContainText("in no group that netpulse gives a role to");
    await expect(page.getByTestId("auth-error")).toContainText("contractors");
    expect(page.url()).toContain("/login/oidc/callback");

    // A callback this browser did not start is refused.
    await page.goto(`${server.url}/login/oidc/callback?code=stolen&state=forged`);
    await expect(page.getByTestId("auth-error")).toContainText("expired or was started in another browser");
  } finally {
    await server.stop();
    await provider.stop();
  }
});
