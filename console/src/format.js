// Numbers, times and resources as the appliance writes them in its text reports (`pamctl
// sessions show`), so the console and pamctl read the same.

// 512 B, 1.5 KiB, 16.0 MiB: one decimal from KiB up.
export function bytesText(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = n / 1024;
  let unit = 0;
  while (v >= 1024 && unit + 1 < units.length) { v /= 1024; ++unit; }
  return `${v.toFixed(1)} ${units[unit]}`;
}

// An S3 ARN as the AWS CLI writes it (arn:aws:s3:::billing/a.csv -> s3://billing/a.csv); any
// other ARN as it is.
export function resourceText(arn) {
  const m = /^arn:[^:]+:s3:::(.+)$/.exec(arn);
  return m ? 's3://' + m[1] : arn;
}

// "2026-12-07T14:05:09.123456Z" -> "14:05:09" (UTC, as the text report shows it).
export function timeOfDay(rfc3339) {
  return (rfc3339 || '').slice(11, 19);
}

// A datetime-local input's value (the browser's local time) as RFC 3339 UTC.
export function fromLocalInput(value) {
  return new Date(value).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
