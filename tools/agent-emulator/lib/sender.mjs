/**
 * Bulk writes into Elasticsearch: every item's status is read; 429 and 5xx items, and whole
 * requests that fail or time out, are retried with back-off for up to `retryForMs` (an
 * Elasticsearch restart loses nothing); other rejections are counted and logged (they can
 * never succeed).
 */
export class BulkSender {
  constructor(log) {
    this.log = log;
    this.sent = 0;
    this.rejected = 0;
    this.lastError = "";
  }

  async send(settings, items) {
    let pending = items;
    const deadline = Date.now() + settings.retryForMs;
    for (
      let attempt = 0;
      pending.length > 0 && (attempt === 0 || Date.now() < deadline);
      attempt++
    ) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * 2 ** attempt)));
      const body = `${pending.map((it) => `${JSON.stringify({ index: { _index: it.index, _id: it.id } })}\n${JSON.stringify(it.doc)}`).join("\n")}\n`;
      const headers = { "content-type": "application/x-ndjson" };
      if (settings.password) {
        headers.authorization = `Basic ${Buffer.from(`${settings.username ?? "elastic"}:${settings.password}`).toString("base64")}`;
      }
      let answer;
      try {
        const response = await fetch(`${settings.elasticUrl}/_bulk`, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(30_000),
        });
        if (response.status === 429 || response.status >= 500) {
          this.lastError = `bulk request answered HTTP ${response.status}`;
          continue;
        }
        if (!response.ok) {
          this.lastError = `bulk request answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
          this.rejected += pending.length;
          this.log(this.lastError);
          return;
        }
        answer = await response.json();
      } catch (error) {
        this.lastError = `bulk request failed: ${error.cause?.code ?? error.message}`;
        continue;
      }
      const retry = [];
      answer.items.forEach((item, n) => {
        const result = item.index;
        if (result.status < 300) this.sent++;
        else if (result.status === 429 || result.status >= 500) retry.push(pending[n]);
        else {
          this.rejected++;
          this.lastError = `document ${result._id} rejected: ${result.error?.type}: ${result.error?.reason}`;
          this.log(this.lastError);
        }
      });
      pending = retry;
    }
    if (pending.length > 0) {
      this.rejected += pending.length;
      this.log(`gave up on ${pending.length} documents: ${this.lastError}`);
    }
  }
}
