// A real OpenID provider for the browser tests: the certified npm package
// oidc-provider with its development sign-in pages, where any password works.
// Usage: node oidc_provider.mjs PORT REDIRECT_URI
// POST /test/groups/SUBJECT with a JSON array changes that person's groups, as
// a directory admin would.
import { createServer } from "node:http";
import Provider from "oidc-provider";

const [port, redirectUri] = process.argv.slice(2);
// Each test person by their opaque subject, as real providers issue them (the
// development sign-in page takes the subject as the login), with the name they
// send and their groups. Mallory sends Ada's name to try to take her account.
const people = {
  "7f3a0c-ada": { username: "ada", groups: ["netpulse-admins", "staff"] },
  "c21e9b-vic": { username: "vic", groups: ["staff"] },
  "5be017-eve": { username: "eve", groups: ["contractors"] },
  "9d44e2-mallory": { username: "ada", groups: ["staff"] },
};

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
  findAccount: async (_ctx, sub) => {
    const person = people[sub];
    if (!person) return undefined;
    return { accountId: sub, claims: async () => ({ sub, preferred_username: person.username, name: person.username, groups: person.groups }) };
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["e2e-oidc-cookie-key-0123456789"] },
});

const callback = provider.callback();
createServer((req, res) => {
  const changed = req.method === "POST" && req.url?.match(/^\/test\/groups\/([\w-]+)$/);
  if (!changed) return callback(req, res);
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    people[changed[1]].groups = JSON.parse(body);
    res.writeHead(204).end();
  });
}).listen(Number(port), "127.0.0.1", () => console.log(`oidc provider on ${port}`));
