// One-time codes as an authenticator app makes them, for the two-factor tests.
import { createHmac } from "node:crypto";

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
export function totp(key: string, offset: number): string {
  const step = Math.floor(Date.now() / 1000 / 30) + offset;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(key)).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

/** Waits for a fresh 30-second step when less than 22 s of this one are left, so codes made now keep their step. */
export async function earlyInAStep(): Promise<void> {
  const into = Math.floor(Date.now() / 1000) % 30;
  if (into > 8) await new Promise((resolve) => setTimeout(resolve, (31 - into) * 1000));
}
