/**
 * Keeping API keys out of every message a provider produces. A key may come back inside a server's error
 * text (OpenAI echoes a masked key on 401; some gateways echo it whole), inside a URL, or inside a
 * connection error's cause, so every error message is passed through `scrubSecrets` before it leaves a
 * provider.
 */

const REDACTED = '[redacted]';

/** Well-known key shapes, redacted even when we do not know the key (e.g. a masked echo "sk-ab***yz"). */
const KEY_PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_\-*.]{6,}/g, // OpenAI style, including masked forms
  /\bBearer\s+[A-Za-z0-9_\-.~+/=*]{6,}/gi, // an Authorization header value
  /\b(api[-_]?key|key|token)=([^&\s"']{6,})/gi, // a key in a query string
  /(?<=\/\/)[^/@\s:]+:[^/@\s]+(?=@)/g, // user:password@ in a URL
];

/**
 * Removes `secrets` (and anything shaped like an API key) from `text`. Secrets shorter than 4 characters
 * are ignored: replacing them would mangle ordinary words without protecting anything.
 */
export function scrubSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    out = out.split(secret).join(REDACTED);
  }
  for (const pattern of KEY_PATTERNS) {
    out = out.replace(pattern, (match, name?: string) =>
      typeof name === 'string' && /=/.test(match) ? `${name}=${REDACTED}` : REDACTED,
    );
  }
  return out;
}

/** The API key a provider should use: an explicit one, else NERD_API_KEY, else OPENAI_API_KEY. */
export function apiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env.NERD_API_KEY ?? env.OPENAI_API_KEY;
  return key && key.trim() !== '' ? key.trim() : undefined;
}
