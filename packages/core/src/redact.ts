/**
 * Text with every occurrence of each secret replaced by `[redacted]`. Empty secrets are
 * skipped. Used on any text that may quote what tokenfetch sent: an upstream's error body,
 * a store's error message, a CLI line.
 */
export function scrubSecrets(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret !== '') out = out.split(secret).join('[redacted]');
  }
  return out;
}
