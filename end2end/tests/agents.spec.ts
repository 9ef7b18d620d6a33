// Agent nodes in a real Chromium: an admin makes a join token on the admin page,
// a real `netpulse agent` joins with the command it shows, and the dashboard's
// node list and node × monitor matrix follow the node live as it is killed
// (offline) and restarted (online), and "Test now" reaches the node.
import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { binary, createFirstAdmin, Netpulse, scratchDir } from "./netpulse";

const PASSWORD = "correct horse battery";

function startAgent(dir: string): ChildProcess {
  return spawn(binary, ["agent", "run", "--data-dir", dir], { env: { ...process.env, RUST_LOG: "warn" }, stdio: "ignore" });
}

async function kill(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null) return;
  const exited = new Promise((resolve) => agent.once("exit", resolve));
  agent.kill("SIGKILL");
  await exited;
}

test("the node list and matrix show an agent go offline when it is killed and come back when it restarts, and Test now reaches it", async ({ page }) => {
  test.setTimeout(150_000);
  // Offline after 20 s of silence (the least allowed); the agent checks this server's own port.
  const server = await Netpulse.start({
    extraConfig: `[agents]\noffline_after = 20\n[[monitor]]\nname = "self"\ntcp = "127.0.0.1:{port}"\ninterval = 2`,
  });
  const agentDir = scratchDir("agent");
  let agent: ChildProcess | undefined;
  try {
    await createFirstAdmin(page, server, "ada", PASSWORD);
    await page.goto(`${server.url}/admin`);
    await page.getByTestId("add-join-token").getByRole("button", { name: "Make join token" }).click();
    const command = (await page.getByTestId("new-join-token").locator("code").textContent()) ?? "";
    const [, token, url] = command.match(/^NETPULSE_JOIN_TOKEN=(npj_\S+) netpulse agent join (\S+) --name NAME$/) ?? [];
    expect(url).toBe(server.url);
    const joined = spawnSync(binary, ["agent", "join", url, "--name", "tokyo", "--data-dir", agentDir], {
      encoding: "utf8",
      env: { ...process.env, NETPULSE_JOIN_TOKEN: token },
    });
    expect(joined.status, joined.stderr).toBe(0);
    agent = startAgent(agentDir);

    // The list appears with the first report (the server tells every 5 s).
    await expect
      .poll(
        async () => {
          await page.goto(server.url);
          return page.getByTestId("node-row").count();
        },
        { timeout: 30_000, intervals: [1_000] },
      )
      .toBe(1);
    const row = page.locator('[data-testid=node-row][data-node="tokyo"]');
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    await expect(row).toHaveAttribute("data-online", "true");
    await expect(row).toContainText("last seen");
    await expect(page.getByTestId("nodes-summary")).toHaveText("The node is online.");
    // The matrix: the monitor from this server and from tokyo, both up.
    const cells = page.getByTestId("node-matrix").locator('tr[data-monitor="self"] td');
    await expect(page.getByTestId("node-matrix").locator("thead th")).toHaveText(["Monitor", "e2e (this server)", "tokyo"]);
    await expect(cells).toHaveCount(2);
    await expect(cells.nth(0)).toHaveAttribute("data-state", "up");
    await expect(cells.nth(1)).toHaveAttribute("data-state", "up");
    expect((await new AxeBuilder({ page }).include("[data-testid=nodes]").analyze()).violations).toEqual([]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow, "nothing wider than the screen").toBeLessThanOrEqual(0);

    // Killed: the page, left open, shows it offline once 20 s pass without a report.
    await kill(agent);
    await expect(row).toHaveAttribute("data-online", "false", { timeout: 40_000 });
    await expect(row.locator(".node-state")).toHaveText("offline");
    await expect(page.getByTestId("nodes-summary")).toHaveText("The node is offline.");
    await expect(page.getByTestId("event-log")).toContainText("tokyo offline");
    await expect(cells.nth(1)).toHaveAttribute("data-state", "offline");
    await expect(cells.nth(0)).toHaveAttribute("data-state", "up");

    // Restarted: online again on the same page, with no reload.
    const restartedAt = (await server.snapshot()).last_event_id;
    agent = startAgent(agentDir);
    await expect(row).toHaveAttribute("data-online", "true", { timeout: 30_000 });
    await expect(page.getByTestId("nodes-summary")).toHaveText("The node is online.");
    await expect(cells.nth(1)).toHaveAttribute("data-state", "up");

    // "Test now" asks this server and the node; the node's test shows in the event log by name.
    // The newest such line's event id (the log is newest first and drops its oldest lines).
    const fromTokyo = async () => {
      const lines = page.getByTestId("event-log").locator("li", { hasText: /tokyo: ↓/ });
      return (await lines.count()) === 0 ? 0 : Number(await lines.first().getAttribute("data-id"));
    };
    // The restarted node's own start-up test comes first, so it cannot pass for the one asked for.
    await expect.poll(fromTokyo, { timeout: 30_000 }).toBeGreaterThan(restartedAt);
    const before = await fromTokyo();
    const ownTests = (await server.speedTests(1)).length;
    await page.getByTestId("test-now").click();
    await expect(page.getByTestId("test-now-said")).toHaveText("Testing now on e2e, tokyo.");
    // A second click while the tests run is refused by the server, which says so.
    await page.getByTestId("test-now").click();
    await expect(page.getByTestId("test-now-said")).toHaveText("Cannot test now: e2e, tokyo asked less than 10 s ago; the test is running");
    await expect.poll(fromTokyo, { timeout: 20_000 }).toBeGreaterThan(before);
    expect((await server.speedTests(ownTests + 1)).length).toBeGreaterThan(ownTests);

    // With a node, the speed section picks whose tests it shows: this server's, tokyo's, or every node's overlaid.
    await page.goto(server.url);
    const picker = page.getByTestId("speed-node");
    await expect(picker.locator("option")).toHaveText(["e2e (this server)", "tokyo", "every node, overlaid"]);
    await expect(picker).toHaveValue("e2e");
    await expect(page.locator(".test-meta code")).not.toContainText("@tokyo");
    const show = page.locator(".node-picker").getByRole("button", { name: "Show" });
    await picker.selectOption("tokyo");
    await expect(page).not.toHaveURL(/node=/);
    await show.click();
    await expect(page).toHaveURL(/\?node=tokyo$/);
    await expect(page.getByTestId("connection")).toHaveAttribute("data-state", "live");
    await expect(picker).toHaveValue("tokyo");
    await expect(page.locator(".test-meta code")).toHaveText(/@tokyo$/);
    // A stored range of the node is its own history, `speed@tokyo`, and the node stays chosen.
    const loaded = page.waitForRequest((request) => request.url().includes("series=speed%40tokyo"));
    await page.locator('[data-range="24h"]').click();
    await loaded;
    await expect(page).toHaveURL(/\?range=24h&node=tokyo$/);
    await expect(page.getByTestId("speed-chart")).toHaveAttribute("aria-label", /Speed chart of the last 24 h, \d+ points?/);
    // Every node: one line each, in both charts; a stored range asks for one node.
    await picker.selectOption("*");
    await show.click();
    await expect(page).toHaveURL(/\?range=24h&node=\*$/);
    await expect(page.getByTestId("speed-chart-status")).toContainText("a stored range shows one node at a time");
    await page.locator('[data-range="live"]').click();
    await expect(page.getByTestId("speed-chart-legend").locator("li")).toHaveText(["e2e", "tokyo"]);
    await expect(page.locator(".speed-section .cards"), "one node's latest figures would stand for all").toBeHidden();
    await expect(page.getByTestId("latency-chart-legend").locator("li")).toHaveText(["e2e", "tokyo"]);
    await expect(page.locator(".speed-section .chart-caption").first()).toHaveText("Download by node, Mbit/s");
    await expect.poll(async () => Number(await page.getByTestId("speed-chart").getAttribute("data-points"))).toBeGreaterThanOrEqual(2);

    // The admin page says the same, with the way to revoke it.
    await page.goto(`${server.url}/admin`);
    await expect(page.getByTestId("agent-nodes").locator('tr[data-node="tokyo"]')).toHaveAttribute("data-state", "online");
    await expect(page.getByRole("button", { name: "Revoke tokyo" })).toBeVisible();
  } finally {
    if (agent) await kill(agent);
    await server.stop();
  }
});
