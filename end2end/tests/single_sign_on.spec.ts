// Single sign-on in a real Chromium against a real OpenID provider (the npm
// package oidc-provider, started by the test): the provider's groups become
// roles and follow changes there, someone in no mapped group is refused, an
// account belongs to the provider's person and not to the name they send, and
// nothing works before the first admin exists. At desktop and phone sizes.
import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { createFirstAdmin, freePort, Netpulse, OidcProvider, signInAtProvider } from "./netpulse";
import { earlyInAStep, totp } from "./totp";

const ROOT_PASSWORD = "correct horse battery";

/** Signs in through the sign-in page's button as `name` at the provider, in a browser with no cookies. */
async function singleSignOn(page: Page, server: Netpulse, name: string): Promise<void> {
  await page.context().clearCookies();
  await page.goto(`${server.url}/login`);
  await page.getByRole("link", { name: "Sign in with Example SSO" }).click();
  await signInAtProvider(page, name);
}

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

    await createFirstAdmin(page, server, "root", ROOT_PASSWORD);
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
    const adaRow = page.locator('tr[data-user="ada"]');
    await expect(adaRow).toContainText("(single sign-on)");
    await expect(adaRow).toContainText("admin (from the provider)");
    const cookies = await page.context().cookies(server.url);
    expect(cookies.find((c) => c.name === "netpulse_session")?.httpOnly).toBe(true);
    const callbackCookies = await page.context().cookies(`${server.url}/login/oidc/callback`);
    expect(callbackCookies.find((c) => c.name === "netpulse_oidc"), "the sign-in's binding cookie is cleared").toBeUndefined();

    // Her account has no password: a password sign-in is refused like an unknown name, and none can be set.
    const login = (name: string, password: string) =>
      fetch(`${server.url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, password }) });
    expect((await login("ada", "")).status).toBe(401);
    const rootCookie = ((await login("root", ROOT_PASSWORD)).headers.get("set-cookie") ?? "").split(";")[0];
    const setPassword = await fetch(`${server.url}/api/users/ada`, {
      method: "PATCH",
      headers: { "content-type": "application/json", cookie: rootCookie },
      body: JSON.stringify({ password: "a password for ada" }),
    });
    expect(setPassword.status).toBe(400);
    expect((await setPassword.json()).error).toContain("signs in with single sign-on");

    // Mallory sends Ada's name from another subject: refused, Ada's account untouched.
    await singleSignOn(page, server, "mallory");
    await expect(page.getByTestId("auth-error")).toContainText('the name "ada" belongs to another account here');

    // Vic is only in staff: a viewer on the dashboard. Moved into netpulse-admins at the provider, an admin at the next sign-in.
    await singleSignOn(page, server, "vic");
    await expect(page).toHaveURL(`${server.url}/`);
    await expect(page.getByTestId("signed-in")).toContainText("vic (viewer)");
    expect((await page.request.get(`${server.url}/admin`)).status()).toBe(403);
    await provider.setGroups("vic", ["netpulse-admins"]);
    await singleSignOn(page, server, "vic");
    await expect(page.getByTestId("signed-in")).toContainText("vic (admin)");

    // Eve's groups map to nothing: refused, with the reason, and no account made.
    await singleSignOn(page, server, "eve");
    await expect(page.getByTestId("auth-error")).toContainText("in no group that netpulse gives a role to");
    await expect(page.getByTestId("auth-error")).toContainText("contractors");
    expect(page.url()).toContain("/login/oidc/callback");
    const users = await (await fetch(`${server.url}/api/users`, { headers: { cookie: rootCookie } })).json();
    expect(users.map((u: { name: string }) => u.name).sort()).toEqual(["ada", "root", "vic"]);

    // Cancelling at the provider: its reason is shown, for the sign-in this browser started.
    await page.context().clearCookies();
    await page.goto(`${server.url}/login`);
    await page.getByRole("link", { name: "Sign in with Example SSO" }).click();
    const binding = (await page.context().cookies(`${server.url}/login/oidc/callback`)).find((c) => c.name === "netpulse_oidc");
    expect(binding, "the cookie binding the sign-in to this browser").toMatchObject({ httpOnly: true, sameSite: "Lax", path: "/login/oidc" });
    await page.getByRole("link", { name: "[ Cancel ]" }).click();
    await expect(page.getByTestId("auth-error")).toContainText("the sign-in provider refused: access_denied: End-User aborted interaction");

    // A callback this browser did not start is refused.
    await page.goto(`${server.url}/login/oidc/callback?code=stolen&state=forged`);
    await expect(page.getByTestId("auth-error")).toContainText("expired or was started in another browser");
  } finally {
    await server.stop();
    await provider.stop();
  }
});

test("an account with two-factor sign-in here is asked for its code after the provider", async ({ page }) => {
  const port = await freePort();
  const provider = await OidcProvider.start(port);
  const server = await Netpulse.start({ port, openRead: false, extraConfig: provider.config(port) });
  try {
    await createFirstAdmin(page, server, "root", ROOT_PASSWORD);
    await singleSignOn(page, server, "vic");
    await expect(page.getByTestId("signed-in")).toContainText("vic (viewer)");

    await page.goto(`${server.url}/account`);
    await page.getByRole("button", { name: "Set up two-factor sign-in" }).click();
    const key = (await page.getByTestId("totp-secret").textContent()) ?? "";
    await earlyInAStep();
    await page.getByRole("textbox", { name: "Code", exact: true }).fill(totp(key, -1));
    await page.getByRole("button", { name: "Turn on" }).click();
    await expect(page.getByTestId("account-notice")).toContainText("Two-factor sign-in is on");

    await singleSignOn(page, server, "vic");
    await expect(page.getByTestId("code-form")).toBeVisible();
    expect((await page.context().cookies(server.url)).find((c) => c.name === "netpulse_session"), "no session before the code").toBeUndefined();
    await page.getByRole("textbox", { name: "Code", exact: true }).fill(totp(key, 0));
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${server.url}/`);
    await expect(page.getByTestId("signed-in")).toContainText("vic (viewer)");
  } finally {
    await server.stop();
    await provider.stop();
  }
});
