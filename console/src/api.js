// Calls to the admin REST API with the console's session cookie (sent by the browser, never
// read by script). A call that changes something carries the session's CSRF token, held in
// memory only: a reload asks GET /api/v1/console/session for it again.

let csrfToken = '';

export function setCsrfToken(token) {
  csrfToken = token || '';
}

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }
}

// Returns the parsed JSON answer (or the text for non-JSON answers); throws ApiError.
export async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-Pamproxy-CSRF'] = csrfToken;
  let response;
  try {
    response = await fetch('/api/v1/' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'Network', 'the appliance did not answer: ' + e.message);
  }
  const type = response.headers.get('Content-Type') || '';
  const data = type.startsWith('application/json') ? await response.json() : await response.text();
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || 'Error',
      error.message || `the appliance answered ${response.status}`, error.field);
  }
  return data;
}
