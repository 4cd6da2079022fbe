// Passwords: a slow, salted hash per user in the account's own D1 (PBKDF2-SHA256, WebCrypto), checked
// in constant time; repeated failures for an address are slowed, whether or not the address exists.
import * as z from "zod/mini";

/** PBKDF2's iterations: the most the Workers runtime allows. */
export const ITERATIONS = 100_000;
export const ALGORITHM = "pbkdf2-sha256";
/** Failures for an address before sign-ins for it must wait. */
export const FREE_FAILURES = 5;
/** The longest a sign-in ever has to wait after failures. */
export const MAX_WAIT_MS = 15 * 60 * 1000;

export const Password = z.string().check(z.minLength(12, "at least 12 characters"), z.maxLength(256, "at most 256 characters"));

export interface StoredCredential {
  algorithm: string;
  iterations: number;
  salt: string;
  hash: string;
}

const encoder = new TextEncoder();

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256));
}

/** A new credential for `password`: a fresh random salt. */
export async function hashPassword(password: string, iterations = ITERATIONS): Promise<StoredCredential> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { algorithm: ALGORITHM, iterations, salt: toBase64(salt), hash: toBase64(await derive(password, salt, iterations)) };
}

/**
 * Whether `password` matches. Without a credential (no such user, or no password set) a hash is
 * computed all the same, so the answer takes as long either way.
 */
export async function verifyPassword(password: string, stored: StoredCredential | null): Promise<boolean> {
  const credential = stored?.algorithm === ALGORITHM ? stored : null;
  const salt = credential ? fromBase64(credential.salt) : new Uint8Array(16);
  const derived = await derive(password, salt, credential?.iterations ?? ITERATIONS);
  const expected = credential ? fromBase64(credential.hash) : new Uint8Array(derived.length);
  return credential !== null && constantTimeEqual(expected, derived);
}

/** Equal bytes, compared without stopping at the first difference. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/** How long after its last failure the next sign-in for an address must wait: none for the first few, then doubling. */
export function waitAfterFailures(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(1000 * 2 ** (failures - FREE_FAILURES), MAX_WAIT_MS);
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
