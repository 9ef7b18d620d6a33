// A real OpenID provider for the browser tests: the certified npm package
// oidc-provider with its development sign-in pages, where any name signs in.
// Usage: node oidc_provider.mjs PORT REDIRECT_URI
import { createServer } from "node:http";
import Provider from "oidc-provider";

const [port, redirectUri] = process.argv.slice(2);
// Each test person's groups, as a company directory would send them.
const groups = { ada: ["netpulse-admins", "staff"], vic: ["staff"], eve: ["contractors"] };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: "netpulse",
      client_secret: "e2e-oidc-client-secret-0123456789",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  claims: { openid: ["sub"], profile: ["preferred_username", "name"], groups: ["groups"] },
  scopes: ["openid", "profile", "groups"],
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, preferred_username: sub, name: sub, groups: groups[sub] ?? [] }),
  }),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["e2e-oidc-cookie-key-0123456789"] },
});

createServer(provider.callback()).listen(Number(port), "127.0.0.1", () => console.log(`oidc provider on ${port}`));
