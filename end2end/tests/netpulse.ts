// Starts and stops real netpulse servers for the browser tests.
import { expect, Page, test } from "@playwright/test";
import { ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..");
export const binary = process.env.NETPULSE_BIN ?? path.join(root, "target", "debug", "netpulse");
export const siteRoot = process.env.LEPTOS_SITE_ROOT ?? path.join(root, "target", "site");

/**
 * A fresh directory inside the running test's output folder, which Playwright
 * empties at the start of every run, so test runs leave nothing in /tmp.
 */
export function scratchDir(prefix: string): string {
  let base: string;
  try {
    base = test.info().outputPath();
  } catch {
    base = tmpdir(); // not inside a test
  }
  mkdirSync(base, { recursive: true });
  return mkdtempSync(path.join(base, `${prefix}-`));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerOptions {
  port?: number;
  /** Seconds between speed tests. */
  interval?: number;
  /** Where the sampler points; by default the server's own /speedtest. */
  target?: string;
  /** Top-level TOML keys, placed before any table. */
  rootConfig?: string;
  /** More TOML, appended to the config file; "{port}" becomes the server's port. */
  extraConfig?: string;
  /** The built site to serve (LEPTOS_SITE_ROOT); target/site by default. */
  siteRoot?: string;
  /** History database directory; a fresh temporary one by default. Reuse it to restart with the same history. */
  dataDir?: string;
  /** Whether visitors may read everything (an `[[access]]` rule); true by default. */
  openRead?: boolean;
}

export class Netpulse {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    readonly logs: string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The history database directory this server uses. */
  dataDir = "";

  static async start(options: ServerOptions = {}): Promise<Netpulse> {
    const port = options.port ?? (await freePort());
    const dir = scratchDir("server");
    const config = path.join(dir, "netpulse.toml");
    // Short transfers keep a loopback speed test around a second.
    writeFileSync(
      config,
      [
        `node = "e2e"`,
        `data_dir = ${JSON.stringify(options.dataDir ?? path.join(dir, "data"))}`,
        options.rootConfig ?? "",
        `[speed]`,
        `interval = ${options.interval ?? 3600}`,
        `duration = 0.8`,
        `grace = 0.2`,
        `streams = 2`,
        `pings = 3`,
        `timeout = 2`,
        `[sse]`,
        `retry_ms = 500`,
        (options.extraConfig ?? "").replaceAll("{port}", String(port)),
        options.openRead === false ? "" : `[[access]]\nwho = "anonymous"\nseries = "*"\nallow = "read"`,
      ].join("\n"),
    );
    const target = options.target ?? `http://127.0.0.1:${port}/speedtest`;
    const child = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--config", config, "--target", target], {
      env: { ...process.env, LEPTOS_SITE_ROOT: options.siteRoot ?? siteRoot, RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logs: string[] = [];
    child.stdout?.on("data", (d) => logs.push(String(d)));
    child.stderr?.on("data", (d) => logs.push(String(d)));
    const server = new Netpulse(port, child, logs);
    server.dataDir = options.dataDir ?? path.join(dir, "data");
    await server.waitReady();
    return server;
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`netpulse exited with ${this.child.exitCode}: ${this.logs.join("")}`);
      }
      try {
        const response = await fetch(`${this.url}/api/snapshot`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`netpulse did not start on ${this.url}: ${this.logs.join("")}`);
  }

  /** Waits for at least `count` of this server's finished speed tests (not its agent nodes') and returns them all, oldest first. */
  async speedTests(count = 1): Promise<SpeedSample[]> {
    const own = async () => {
      const snapshot = await this.snapshot();
      return snapshot.speed.filter((sample) => sample.node === snapshot.node);
    };
    await expect.poll(async () => (await own()).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(count);
    return own();
  }

  /** Opens the dashboard in `page` and waits until the hydrated client's stream is live. */
  async open(page: Page): Promise<void> {
    await page.goto(this.url);
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
  }

  async snapshot(): Promise<Snapshot> {
    const response = await fetch(`${this.url}/api/snapshot`);
    return (await response.json()) as Snapshot;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface SpeedSample {
  node: string;
  target: string;
  at: string;
  download_mbps: number | null;
  upload_mbps: number | null;
  latency_ms: number | null;
  jitter_ms: number | null;
  latency_down_ms: number | null;
  latency_up_ms: number | null;
  error: string | null;
}

export interface StoreHealth {
  ok: boolean;
  failed_writes: number;
  last_error: string | null;
}

export interface Snapshot {
  node: string;
  last_event_id: number;
  max_points: number;
  speed: SpeedSample[];
  store: StoreHealth;
}

/** The publish token that `publishing` configures. */
export const PUBLISH_TOKEN = "e2e-token-0123456789";

/** Top-level config (`rootConfig`) that lets the tests publish on `topics`. */
export function publishing(topics: string[]): string {
  return `publish_token = "${PUBLISH_TOKEN}"\ntopics = ${JSON.stringify(topics)}`;
}

/** Publishes `body` on `topic` and expects netpulse to accept it. */
export async function publish(server: Netpulse, topic: string, body: unknown): Promise<void> {
  const response = await fetch(`${server.url}/api/publish/${topic}`, {
    method: "POST",
    headers: { authorization: `Bearer ${PUBLISH_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(202);
}

/**
 * Two monitors: "self", up, checking this server's `selfPath`, and "gone", down,
 * checking `downTarget` (a `url = ...` or `tcp = ...` line). For `extraConfig`.
 */
export function twoMonitors(downTarget: string, interval = 1, selfPath = "/speedtest/empty"): string {
  return [
    `[[monitor]]`,
    `name = "self"`,
    `url = "http://127.0.0.1:{port}${selfPath}"`,
    `interval = ${interval}`,
    `[[monitor]]`,
    `name = "gone"`,
    downTarget,
    `interval = ${interval}`,
  ].join("\n");
}

/** A closed netpulse's setup address, from its log, then the first admin made there through the form; the page ends signed in. */
export async function createFirstAdmin(page: Page, server: Netpulse, name: string, password: string): Promise<void> {
  let setupUrl = "";
  await expect.poll(() => (setupUrl = server.logs.join("").match(/http:\/\/\S+\/setup\?key=\S+/)?.[0] ?? "")).not.toBe("");
  await page.goto(setupUrl);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel(/Password/).fill(password);
  await page.getByRole("button", { name: "Create admin and sign in" }).click();
  await expect(page).toHaveURL(`${server.url}/`);
}

/** The real OpenID provider of `support/oidc_provider.mjs`, on loopback. */
export class OidcProvider {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {}

  static readonly clientSecret = "e2e-oidc-client-secret-0123456789";

  /** Each test person's subject at the provider (see `support/oidc_provider.mjs`). */
  static readonly subjects: Record<string, string> = { ada: "7f3a0c-ada", vic: "c21e9b-vic", eve: "5be017-eve", mallory: "9d44e2-mallory" };

  get issuer(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it for a netpulse that will listen on `netpulsePort`. */
  static async start(netpulsePort: number): Promise<OidcProvider> {
    const port = await freePort();
    const script = path.join(__dirname, "..", "support", "oidc_provider.mjs");
    const child = spawn(process.execPath, [script, String(port), `http://127.0.0.1:${netpulsePort}/login/oidc/callback`], { stdio: ["ignore", "pipe", "pipe"] });
    const logs: string[] = [];
    child.stdout?.on("data", (d) => logs.push(String(d)));
    child.stderr?.on("data", (d) => logs.push(String(d)));
    const provider = new OidcProvider(port, child);
    await expect
      .poll(async () => fetch(`${provider.issuer}/.well-known/openid-configuration`).then((r) => r.status, () => 0), { timeout: 15_000, message: logs.join("") })
      .toBe(200);
    return provider;
  }

  /** The `[auth.oidc]` section that points netpulse here, with the groups mapped to roles. */
  config(netpulsePort: number): string {
    return [
      `[auth.oidc]`,
      `issuer = "${this.issuer}"`,
      `client_id = "netpulse"`,
      `client_secret = "${OidcProvider.clientSecret}"`,
      `redirect_url = "http://127.0.0.1:${netpulsePort}/login/oidc/callback"`,
      `scopes = ["profile", "groups"]`,
      `button = "Sign in with Example SSO"`,
      `[auth.oidc.roles]`,
      `netpulse-admins = "admin"`,
      `staff = "viewer"`,
    ].join("\n");
  }

  /** Changes a person's groups at the provider, as its directory admin would. */
  async setGroups(name: string, groups: string[]): Promise<void> {
    const response = await fetch(`${this.issuer}/test/groups/${OidcProvider.subjects[name]}`, { method: "POST", body: JSON.stringify(groups) });
    expect(response.status).toBe(204);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}

/** Signs in at the provider's development pages as the test person `name` (any password), and consents. */
export async function signInAtProvider(page: Page, name: string): Promise<void> {
  await page.locator('input[name="login"]').fill(OidcProvider.subjects[name]);
  await page.locator('input[name="password"]').fill("any password works here");
  await page.locator('button[type="submit"]').click();
  await page.getByRole("button", { name: "Continue" }).click();
}
