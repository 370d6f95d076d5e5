// HTTP calls to the Auralis API, relative to the page (works behind a path-prefix proxy), with the
// key from local storage and OpenAI's error JSON turned into ApiError {status, message, param, code}.

const KEY_STORAGE = "auralis.playground.apiKey";

export class ApiError extends Error {
  constructor(status, message, param = null, code = null) {
    super(message);
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

export function getKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

function url(path) {
  return new URL(path.replace(/^\//, ""), document.baseURI);
}

// fetch() that resolves only for 2xx; anything else throws the server's own error message.
export async function apiFetch(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = getKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(url(path), { ...options, headers });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, `cannot reach the server: ${err.message}`);
  }
  if (response.ok) return response;
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: a proxy's page */ }
  const e = body && body.error;
  if (e && typeof e.message === "string") throw new ApiError(response.status, e.message, e.param ?? null, e.code ?? null);
  throw new ApiError(response.status, `HTTP ${response.status} ${response.statusText}`);
}

export async function getJSON(path) {
  return (await apiFetch(path)).json();
}
