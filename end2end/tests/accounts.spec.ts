// Setup mode, signing in and out, a stream whose session ends, the page's
// Content-Security-Policy, and a cross-site form refused, in a real Chromium.
import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { createServer, Server } from "node:http";
import { freePort, Netpulse } from "./netpulse";

const PASSWORD = "correct horse battery";

/** A closed netpulse (no access rules) and the setup address it logged. */
async function freshServer(): Promise<{ server: Netpulse; setupUrl: string }> {
  const server = await Netpulse.start({ openRead: false });
  let setupUrl = "";
  await expect.poll(() => {
    const match = server.logs.join("").match(/http:\/\/\S+\/setup\?key=\S+/);
    setupUrl = match ? match[0] : "";
    return setupUrl;
  }).not.toBe("");
  return { server, setupUrl };
}

/** Records every Content-Security-Policy violation the page reports. */
function violations(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) seen.push(message.text());
  });
  return seen;
}

async function signIn(page: Page, server: Netpulse, name: string): Promise<void> {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(`${server.url}/`);
}

test("setup mode: the dashboard sends a visitor to sign-in, and only the logged address creates the first admin", async ({ page }) => {
  const { server, setupUrl } = await freshServer();
  const blocked = violations(page);
  try {
    await page.goto(server.url);
    await expect(page).toHaveURL(`${server.url}/login`);
    await expect(page.getByTestId("awaiting-setup")).toContainText("one-time setup address");
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations).toEqual([]);

    await page.goto(`${server.url}/setup?key=not-the-key`);
    await page.getByLabel("Name").fill("ada");
    await page.getByLabel(/Password/).fill(PASSWORD);
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
    await expect(page.getByTestId("auth-error")).toContainText("the setup key is wrong");

    await page.goto(setupUrl);
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations).toEqual([]);
    await page.getByLabel("Name").fill("ada");
    await page.getByLabel(/Password/).fill(PASSWORD);
    await page.getByRole("button", { name: "Create admin and sign in" }).click();
    await expect(page).toHaveURL(`${server.url}/`);
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    await expect(page.getByTestId("signed-in")).toHaveText("Signed in as ada (admin)");

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(`${server.url}/login`);
    await page.goto(server.url);
    await expect(page).toHaveURL(`${server.url}/login`, { timeout: 5_000 });
    expect(blocked, "the policy blocks nothing netpulse itself loads").toEqual([]);
  } finally {
    await server.stop();
  }
});

/** Creates the first admin through the API and returns its cookie. */
async function adminCookie(server: Netpulse, setupUrl: string): Promise<string> {
  const key = new URL(setupUrl).searchParams.get("key");
  const response = await fetch(`${server.url}/api/auth/setup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ key, name: "ada", password: PASSWORD }),
  });
  expect(response.status).toBe(204);
  return (response.headers.get("set-cookie") ?? "").split(";")[0];
}

test("a viewer's stream says signed out, with a way back, once an admin changes the account", async ({ page }) => {
  const { server, setupUrl } = await freshServer();
  try {
    const admin = await adminCookie(server, setupUrl);
    const made = await fetch(`${server.url}/api/users`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: admin },
      body: JSON.stringify({ name: "vera", role: "viewer", password: PASSWORD }),
    });
    expect(made.status).toBe(201);
    await signIn(page, server, "vera");
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    await expect(page.getByTestId("sign-in-again")).toBeHidden();

    const changed = await fetch(`${server.url}/api/users/vera`, {
      method: "PATCH",
      headers: { "content-type": "application/json", cookie: admin },
      body: JSON.stringify({ role: "viewer" }),
    });
    expect(changed.status).toBe(204);
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "signed out", { timeout: 10_000 });
    await expect(page.getByTestId("sign-in-again")).toBeVisible();
    await page.getByTestId("sign-in-again").click();
    await expect(page).toHaveURL(`${server.url}/login`);
  } finally {
    await server.stop();
  }
});

test("a form on another origin cannot sign the user out or act for them", async ({ page }) => {
  const { server, setupUrl } = await freshServer();
  const port = await freePort();
  // Another port on the same host: same site, other origin, and the browser still sends the cookie.
  const evil: Server = createServer((_, response) => {
    response.setHeader("content-type", "text/html");
    response.end(
      `<!doctype html><title>other</title><form id="f" method="post" action="${server.url}/logout"></form><script>document.getElementById("f").submit()</script>`,
    );
  });
  await new Promise<void>((resolve) => evil.listen(port, "127.0.0.1", resolve));
  try {
    await adminCookie(server, setupUrl);
    await signIn(page, server, "ada");
    await page.goto(`http://127.0.0.1:${port}/`);
    await expect(page.locator("body")).toContainText("cross-site request refused");
    await page.goto(server.url);
    await expect(page.getByTestId("signed-in")).toHaveText("Signed in as ada (admin)");
  } finally {
    evil.close();
    await server.stop();
  }
});
