// The gateway's HTTP API as the pages use it: Prometheus' envelope unwrapped, errors thrown with
// Prometheus' error type and message.

/** An error answer of the API, or a failed request. */
export class ApiError extends Error {
  constructor(type, message, status) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

/**
 * Calls `path` (relative to the page, so the UI works behind a path prefix) and resolves to
 * `{data, warnings, infos}`. With `form`, POSTs it url-encoded.
 */
export async function api(path, { form, params, signal } = {}) {
  const url = new URL(path, document.baseURI);
  for (const [k, v] of Object.entries(params ?? {})) url.searchParams.set(k, v);
  let res;
  try {
    res = await fetch(url, {
      method: form ? "POST" : "GET",
      body: form ? new URLSearchParams(form) : undefined,
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError("network", `request failed: ${err.message}`, 0);
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(
      "http",
      `${res.status} ${res.statusText}: ${text.trim()}`,
      res.status,
    );
  }
  if (body.status !== "success") {
    throw new ApiError(
      body.errorType ?? "unknown",
      body.error ?? text,
      res.status,
    );
  }
  return {
    data: body.data,
    warnings: body.warnings ?? [],
    infos: body.infos ?? [],
  };
}
