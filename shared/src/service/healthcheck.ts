/**
 * Container health check: exits 0 when the service's /healthz answers 200, else 1. Runs
 * with node alone (exec-form HEALTHCHECK), so images need no shell or curl.
 *
 * usage: node shared/dist/service/healthcheck.js [URL]   (default http://127.0.0.1:9463/healthz)
 */
const url = process.argv[2] ?? "http://127.0.0.1:9463/healthz";
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  process.exitCode = response.ok ? 0 : 1;
} catch {
  process.exitCode = 1;
}
