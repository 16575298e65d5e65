// The part of workerd's built-in module `cloudflare:workers` that platform/workerd.ts uses.
declare module 'cloudflare:workers' {
  export function waitUntil(promise: Promise<unknown>): void;
}
