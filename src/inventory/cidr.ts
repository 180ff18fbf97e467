// IPv4 CIDR blocks -> usable host addresses. Pure.

/** Largest block accepted: a /16 is 65,534 hosts; bigger is almost surely a typo. */
export const MIN_PREFIX = 16;

export class CidrError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export function looksLikeCidr(token: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(token);
}

export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const p of parts) {
    // A leading zero is refused, as Python's ipaddress does: the resolver would read it as octal.
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return null;
    value = value * 256 + Number(p);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/**
 * Usable addresses of a block: network and broadcast are left out for prefixes up to /30;
 * a /31 gives both addresses (RFC 3021) and a /32 the one. Host bits set in the address are
 * ignored (10.0.0.5/30 is 10.0.0.4/30), as `ipcalc` does.
 */
export function expandCidr(token: string): string[] {
  const slash = token.indexOf('/');
  const base = parseIpv4(token.slice(0, slash));
  if (base === null) {
    const octal = /(^|\.)0\d/.test(token.slice(0, slash))
      ? ': an octet with a leading zero reads as octal to the resolver'
      : '';
    throw new CidrError(`bad IPv4 address in ${token}${octal}`, 0);
  }
  const prefixText = token.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!Number.isInteger(prefix) || prefix > 32)
    throw new CidrError(`bad prefix /${prefixText}: expected 0-32`, slash + 1);
  if (prefix < MIN_PREFIX)
    throw new CidrError(`/${prefix} is too large a block (at most /${MIN_PREFIX}, 65,534 hosts)`, slash + 1);
  const size = 2 ** (32 - prefix);
  const network = base - (base % size);
  if (prefix >= 31) return Array.from({ length: size }, (_, i) => formatIpv4(network + i));
  return Array.from({ length: size - 2 }, (_, i) => formatIpv4(network + 1 + i));
}
