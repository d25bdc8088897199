/**
 * Where a webhook may be sent (SPEC §5.7): http(s) URLs of at most 2,048 characters whose host
 * resolves only to public addresses — not loopback, private, link-local, shared (CGNAT), multicast,
 * reserved or cloud metadata addresses — unless WEBHOOK_ALLOW_PRIVATE_URLS is set. Checked after
 * DNS resolution when an endpoint is created and again before every delivery attempt.
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";

export const WEBHOOK_URL_MAX = 2048;

export class UnsafeUrlError extends Error {
  override name = "UnsafeUrlError";
}

/** The URL parsed, or an UnsafeUrlError saying what is wrong with its form. */
export function parseWebhookUrl(raw: string): URL {
  if (raw.length > WEBHOOK_URL_MAX) throw new UnsafeUrlError(`url must be at most ${WEBHOOK_URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeUrlError("url is not a valid absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UnsafeUrlError("url must use http or https");
  if (!url.hostname) throw new UnsafeUrlError("url has no host");
  if (url.username || url.password) throw new UnsafeUrlError("url must not carry credentials");
  return url;
}

const v4 = (ip: string) => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
const v4Blocks: [string, number][] = [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // shared address space (CGNAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata (169.254.169.254)
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.0.2.0", 24], // documentation
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["198.51.100.0", 24], // documentation
  ["203.0.113.0", 24], // documentation
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
];

function blockedV4(ip: string): boolean {
  const n = v4(ip);
  return v4Blocks.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(v4(base) / 2 ** (32 - bits)));
}

/** The 8 groups of an IPv6 address as numbers (with an embedded IPv4 tail converted). */
function v6Groups(ip: string): number[] {
  let text = ip.toLowerCase().replace(/%.*$/, "");
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const n = v4(tail[1]!);
    text = text.slice(0, -tail[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
  const a = head ? head.split(":") : [];
  const b = rest !== undefined && rest !== "" ? rest.split(":") : [];
  const fill = rest === undefined ? [] : Array(8 - a.length - b.length).fill("0");
  return [...a, ...fill, ...b].map((g) => parseInt(g, 16));
}

function blockedV6(ip: string): boolean {
  const g = v6Groups(ip);
  if (g.length !== 8 || g.some((x) => !Number.isFinite(x))) return true;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(7) && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible addresses: judge the IPv4 address.
  if (zeroUpTo(5) && (g[5] === 0xffff || g[5] === 0)) return blockedV4(`${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`);
  if (g[0] === 0x64 && g[1] === 0xff9b) return blockedV4(`${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`); // NAT64
  if ((g[0]! & 0xfe00) === 0xfc00) return true; // unique local (fc00::/7), incl. fd00:ec2::254 (AWS metadata)
  if ((g[0]! & 0xffc0) === 0xfe80) return true; // link-local
  if ((g[0]! & 0xff00) === 0xff00) return true; // multicast
  if (g[0] === 0x2001 && g[1] === 0x0db8) return true; // documentation
  return false;
}

/** True for an address a webhook must not reach (pure; unit-tested). */
export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return blockedV4(ip);
  if (family === 6) return blockedV6(ip);
  return true;
}

/**
 * Resolves the URL's host and refuses it when any address it resolves to is blocked (an attacker's
 * DNS could answer with a public and a private address). Unresolvable hosts are refused too.
 */
export async function assertPublicUrl(url: URL, allowPrivate: boolean, resolve = lookup): Promise<void> {
  if (allowPrivate) return;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const addresses = isIP(host) ? [host] : await resolve(host, { all: true, verbatim: true }).then(
    (list) => list.map((a) => a.address),
    () => {
      throw new UnsafeUrlError(`the url's host ${JSON.stringify(host)} does not resolve`);
    },
  );
  if (!addresses.length) throw new UnsafeUrlError(`the url's host ${JSON.stringify(host)} does not resolve`);
  const blocked = addresses.find(isBlockedAddress);
  if (blocked !== undefined) throw new UnsafeUrlError(`the url's host resolves to ${blocked}, a loopback, private, link-local or reserved address`);
}
