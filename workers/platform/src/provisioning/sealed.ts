/**
 * Secrets stored on account rows are sealed (AES-256-GCM) with CREDENTIALS_KEY, so the shared D1 —
 * its backups, exports and anyone who can read it — never holds them in clear. Format: v1.<iv>.<ciphertext>, base64url.
 */
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64 = (text: string) => Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

function key(base64Key: string) {
  return crypto.subtle.importKey("raw", unb64(base64Key), "AES-GCM", false, ["encrypt", "decrypt"]);
}

export async function seal(base64Key: string, plain: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const cipher = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key(base64Key), new TextEncoder().encode(plain)));
  return `v1.${b64(iv)}.${b64(cipher)}`;
}

export async function unseal(base64Key: string, sealed: string): Promise<string> {
  const [version, iv, cipher] = sealed.split(".");
  if (version !== "v1" || !iv || !cipher) throw new Error("not a sealed secret");
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: unb64(iv) }, await key(base64Key), unb64(cipher));
  return new TextDecoder().decode(plain);
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
