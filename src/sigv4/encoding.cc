#include "pamproxy/sigv4/encoding.h"

#include <cstdio>

namespace pamproxy::sigv4 {
namespace {

constexpr char kHexUpper[] = "0123456789ABCDEF";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_escape(std::string& out, unsigned char c) {
  out.push_back('%');
  out.push_back(kHexUpper[c >> 4]);
  out.push_back(kHexUpper[c & 0xf]);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, int64_t& m, int64_t& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp + (mp < 10 ? 3 : -9);
  y += m <= 2;
}

bool digits(std::string_view s, size_t pos, size_t n, int64_t& out) {
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::optional<int64_t> to_epoch(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi,
                                int64_t s) {
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return {};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return {};
  if (h > 23 || mi > 59 || s > 60) return {};  // 60: a leap second as clients may print it
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

}  // namespace

void uri_encode_append(std::string& out, std::string_view in, bool keep_slash) {
  size_t run = 0;  // start of the pending run of bytes kept as they are
  for (size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (is_unreserved(c) || (keep_slash && c == '/')) continue;
    out.append(in.data() + run, i - run);
    append_escape(out, c);
    run = i + 1;
  }
  out.append(in.data() + run, in.size() - run);
}

bool percent_decode_append(std::string& out, std::string_view in) {
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

void wire_path_append(std::string& out, std::string_view path) {
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    bool escape = c <= 0x20 || c >= 0x7f;
    switch (c) {
      case '"':
      case '<':
      case '>':
      case '\\':
      case '^':
      case '`':
      case '{':
      case '|':
      case '}':
      case '#': escape = true; break;
      case '%':
        escape =
            !(i + 2 < path.size() && hex_value(path[i + 1]) >= 0 && hex_value(path[i + 2]) >= 0);
        break;
      default: break;
    }
    if (escape) {
      append_escape(out, c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
}

void s3_path_append(std::string& out, std::string_view path) {
  size_t run = 0;  // start of the pending run of bytes kept as they are
  for (size_t i = 0; i < path.size(); ++i) {
    auto c = static_cast<unsigned char>(path[i]);
    if (is_unreserved(c) || c == '/') continue;
    out.append(path.data() + run, i - run);
    if (c == '%' && i + 2 < path.size() && hex_value(path[i + 1]) >= 0 &&
        hex_value(path[i + 2]) >= 0) {
      c = static_cast<unsigned char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
      i += 2;
      // An encoded '/' stays encoded: it is part of a segment, not a separator.
      if (is_unreserved(c)) {
        out.push_back(static_cast<char>(c));
      } else {
        append_escape(out, c);
      }
    } else {
      append_escape(out, c);
    }
    run = i + 1;
  }
  out.append(path.data() + run, path.size() - run);
}

void normalize_path_append(std::string& out, std::string_view path) {
  if (path.empty()) {
    out.push_back('/');
    return;
  }
  const size_t base = out.size();
  // Segments are appended as "/seg"; ".." pops back to the previous '/' at or after base.
  size_t pos = 0;
  size_t kept = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(pos, end - pos);
    if (seg == "..") {
      if (kept > 0) {
        out.resize(out.rfind('/'));
        --kept;
      }
    } else if (!seg.empty() && seg != ".") {
      out.push_back('/');
      out.append(seg);
      ++kept;
    }
    pos = end + 1;
  }
  // Leading '/': our segments all start with '/'; a relative input loses it (as the reference
  // signers do) only when it did not start with one.
  if (path.front() != '/' && kept > 0) out.erase(base, 1);
  if (kept == 0) {
    // Nothing left ("/..", "." or "./"): the root. A request target is never empty.
    out.resize(base);
    out.push_back('/');
    return;
  }
  if (path.back() == '/') out.push_back('/');
}

std::optional<int64_t> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return {};
  int64_t y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || !digits(s, 4, 2, mo) || !digits(s, 6, 2, d) || !digits(s, 9, 2, h) ||
      !digits(s, 11, 2, mi) || !digits(s, 13, 2, sec)) {
    return {};
  }
  return to_epoch(y, mo, d, h, mi, sec);
}

std::optional<int64_t> parse_iso8601(std::string_view s) {
  if (s.size() == 16) return parse_amz_date(s);
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return {};
  }
  int64_t y, mo, d, h, mi, sec;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, mo) || !digits(s, 8, 2, d) || !digits(s, 11, 2, h) ||
      !digits(s, 14, 2, mi) || !digits(s, 17, 2, sec)) {
    return {};
  }
  return to_epoch(y, mo, d, h, mi, sec);
}

void format_amz_date(int64_t epoch_s, char* out) {
  int64_t days = epoch_s / 86400;
  int64_t rem = epoch_s % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int64_t y, m, d;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", static_cast<int>(y),
                static_cast<int>(m), static_cast<int>(d), static_cast<int>(rem / 3600),
                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  for (int i = 0; i < 16; ++i) out[i] = buf[i];
}

std::string format_iso8601(int64_t epoch_s) {
  char b[16];
  format_amz_date(epoch_s, b);
  std::string s;
  s.append(b, 4).append("-").append(b + 4, 2).append("-").append(b + 6, 2).append("T");
  s.append(b + 9, 2).append(":").append(b + 11, 2).append(":").append(b + 13, 2).append("Z");
  return s;
}

}  // namespace pamproxy::sigv4
