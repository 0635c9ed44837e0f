//! `multipart/form-data`: form fields become `ARGS_POST`, file parts `FILES` (field name →
//! file name) and `FILES_SIZES`; every part's header lines are kept in
//! `MULTIPART_PART_HEADERS` (keyed by field name). Deviations from RFC 7578 that attackers use
//! to confuse parsers are recorded in [`Flags`] (`MULTIPART_STRICT_ERROR` and friends) rather
//! than rejected here, so rules decide what to do about them.

use super::Pairs;

#[derive(Debug, Default, Clone, Copy)]
pub struct Flags {
    pub boundary_quoted: bool,
    pub boundary_whitespace: bool,
    pub data_before: bool,
    pub data_after: bool,
    pub header_folding: bool,
    pub invalid_header_folding: bool,
    pub invalid_part: bool,
    pub invalid_quoting: bool,
    pub lf_line: bool,
    pub crlf_lf_lines: bool,
    pub missing_semicolon: bool,
    pub unmatched_boundary: bool,
    pub error: bool,
}

impl Flags {
    /// `MULTIPART_STRICT_ERROR`.
    pub fn strict_error(&self) -> bool {
        self.error
            || self.boundary_quoted
            || self.boundary_whitespace
            || self.data_before
            || self.data_after
            || self.header_folding
            || self.invalid_header_folding
            || self.invalid_part
            || self.invalid_quoting
            || self.lf_line
            || self.missing_semicolon
    }
}

#[derive(Debug, Default)]
pub struct Multipart {
    pub args: Pairs,
    /// Field name → file name.
    pub files: Pairs,
    /// Field name → size in bytes (decimal).
    pub file_sizes: Pairs,
    /// Field name → file content.
    pub file_contents: Pairs,
    /// Field name → one header line, as received.
    pub part_headers: Pairs,
    pub flags: Flags,
}

/// The boundary from a `Content-Type` header.
fn boundary(content_type: &[u8], flags: &mut Flags) -> Result<Vec<u8>, String> {
    let lower = content_type.to_ascii_lowercase();
    let at = memchr::memmem::find(&lower, b"boundary")
        .ok_or("Multipart: boundary missing in Content-Type")?;
    let mut rest = &content_type[at + b"boundary".len()..];
    if rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
        flags.boundary_whitespace = true;
        rest = rest.trim_ascii_start();
    }
    rest = rest
        .strip_prefix(b"=")
        .ok_or("Multipart: invalid boundary in Content-Type")?;
    if rest.first().is_some_and(|b| b.is_ascii_whitespace()) {
        flags.boundary_whitespace = true;
        rest = rest.trim_ascii_start();
    }
    let value = if let Some(q) = rest.strip_prefix(b"\"") {
        flags.boundary_quoted = true;
        let end = q
            .iter()
            .position(|&b| b == b'"')
            .ok_or("Multipart: invalid boundary quoting")?;
        q[..end].to_vec()
    } else {
        let end = rest
            .iter()
            .position(|&b| b == b';' || b == b',' || b.is_ascii_whitespace())
            .unwrap_or(rest.len());
        rest[..end].to_vec()
    };
    if value.is_empty() || value.len() > 70 {
        return Err("Multipart: invalid boundary in Content-Type".into());
    }
    Ok(value)
}

/// Parses a body. On a fatal error the parts read so far are kept and the error returned with
/// them.
pub fn parse(body: &[u8], content_type: &[u8]) -> (Multipart, Option<String>) {
    parse_with(body, content_type, false)
}

/// Parses the first part of a longer body: the part cut off at the end is kept as far as it
/// goes, and the missing final boundary is no error.
pub fn parse_partial(body: &[u8], content_type: &[u8]) -> (Multipart, Option<String>) {
    parse_with(body, content_type, true)
}

fn parse_with(body: &[u8], content_type: &[u8], partial: bool) -> (Multipart, Option<String>) {
    let mut m = Multipart::default();
    let result = parse_into(body, content_type, &mut m, partial);
    if result.is_err() {
        m.flags.error = true;
    }
    (m, result.err())
}

/// Finds `--boundary` at the start of a line, from `from`; returns (line start, after the
/// delimiter, whether the preceding line ended in LF only).
fn find_delimiter(body: &[u8], delim: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    while let Some(off) = memchr::memmem::find(&body[pos..], delim) {
        let at = pos + off;
        if at == 0 || body[at - 1] == b'\n' {
            return Some((at, at + delim.len()));
        }
        pos = at + 1;
    }
    None
}

fn parse_into(
    body: &[u8],
    content_type: &[u8],
    m: &mut Multipart,
    partial: bool,
) -> Result<(), String> {
    let b = boundary(content_type, &mut m.flags)?;
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(&b);
    let (first, mut pos) =
        find_delimiter(body, &delim, 0).ok_or("Multipart: no boundary found in body")?;
    if first > 0 {
        m.flags.data_before = true;
    }
    let mut saw_crlf = false;
    loop {
        // After a delimiter: `--` ends the body; otherwise the line must end.
        if body[pos..].starts_with(b"--") {
            let after = &body[pos + 2..];
            if !after.iter().all(|b| b.is_ascii_whitespace()) {
                m.flags.data_after = true;
            }
            return Ok(());
        }
        // Ignore blanks after the delimiter, then the line end.
        while pos < body.len() && (body[pos] == b' ' || body[pos] == b'\t') {
            pos += 1;
        }
        if body[pos..].starts_with(b"\r\n") {
            pos += 2;
            saw_crlf = true;
        } else if body[pos..].starts_with(b"\n") {
            pos += 1;
            m.flags.lf_line = true;
        } else {
            m.flags.invalid_part = true;
            return Err("Multipart: invalid boundary line".into());
        }
        // Headers.
        let mut headers: Vec<Vec<u8>> = Vec::new();
        loop {
            let Some(end) = memchr::memchr(b'\n', &body[pos..]).map(|e| pos + e) else {
                if partial {
                    return Ok(());
                }
                return Err("Multipart: unexpected end of headers".into());
            };
            let mut line = &body[pos..end];
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
                saw_crlf = true;
            } else {
                m.flags.lf_line = true;
            }
            pos = end + 1;
            if line.is_empty() {
                break;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                m.flags.header_folding = true;
                match headers.last_mut() {
                    Some(last) => {
                        last.push(b' ');
                        last.extend_from_slice(line.trim_ascii_start());
                    }
                    None => {
                        m.flags.invalid_header_folding = true;
                        return Err("Multipart: invalid header folding".into());
                    }
                }
                continue;
            }
            if !line.contains(&b':') {
                m.flags.invalid_part = true;
                return Err("Multipart: invalid part header (colon missing)".into());
            }
            headers.push(line.to_vec());
        }
        // Content up to the next delimiter.
        let Some((next_line, next_pos)) = find_delimiter(body, &delim, pos) else {
            if partial {
                add_part(m, &headers, &body[pos..])?;
                return Ok(());
            }
            m.flags.unmatched_boundary = true;
            return Err("Multipart: final boundary missing".to_string());
        };
        let mut content_end = next_line;
        if content_end > pos && body[content_end - 1] == b'\n' {
            content_end -= 1;
            if content_end > pos && body[content_end - 1] == b'\r' {
                content_end -= 1;
                saw_crlf = true;
            } else {
                m.flags.lf_line = true;
            }
        }
        let content = &body[pos..content_end.max(pos)];
        add_part(m, &headers, content)?;
        pos = next_pos;
        if saw_crlf && m.flags.lf_line {
            m.flags.crlf_lf_lines = true;
        }
    }
}

fn add_part(m: &mut Multipart, headers: &[Vec<u8>], content: &[u8]) -> Result<(), String> {
    let mut name: Option<Vec<u8>> = None;
    let mut filename: Option<Vec<u8>> = None;
    for h in headers {
        let colon = h.iter().position(|&b| b == b':').unwrap_or(h.len());
        let hname = h[..colon].trim_ascii();
        if hname.eq_ignore_ascii_case(b"content-disposition") {
            let value = h.get(colon + 1..).unwrap_or_default().trim_ascii();
            let (n, f) = content_disposition(value, &mut m.flags)?;
            name = n;
            filename = f;
        }
    }
    let Some(name) = name else {
        m.flags.invalid_part = true;
        return Err("Multipart: part without a name".into());
    };
    for h in headers {
        m.part_headers.push((name.clone(), h.clone()));
    }
    match filename {
        Some(f) => {
            m.files.push((name.clone(), f));
            m.file_sizes
                .push((name.clone(), content.len().to_string().into_bytes()));
            m.file_contents.push((name, content.to_vec()));
        }
        None => m.args.push((name, content.to_vec())),
    }
    Ok(())
}

/// A part's field name and file name.
type Names = (Option<Vec<u8>>, Option<Vec<u8>>);

/// `form-data; name="a"; filename="b.txt"` → (name, filename).
fn content_disposition(v: &[u8], flags: &mut Flags) -> Result<Names, String> {
    let lower = v.to_ascii_lowercase();
    let rest = lower
        .strip_prefix(b"form-data")
        .map(|_| &v[b"form-data".len()..])
        .ok_or("Multipart: Content-Disposition is not form-data")?;
    let mut name = None;
    let mut filename = None;
    let mut i = 0;
    let r = rest;
    while i < r.len() {
        while i < r.len() && r[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= r.len() {
            break;
        }
        if r[i] != b';' {
            flags.missing_semicolon = true;
        } else {
            i += 1;
        }
        while i < r.len() && r[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while i < r.len() && r[i] != b'=' && r[i] != b';' {
            i += 1;
        }
        let key = r[start..i].trim_ascii().to_ascii_lowercase();
        if i >= r.len() || r[i] != b'=' {
            if !key.is_empty() {
                flags.invalid_part = true;
            }
            continue;
        }
        i += 1;
        while i < r.len() && r[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = Vec::new();
        if i < r.len() && r[i] == b'"' {
            i += 1;
            let mut closed = false;
            while i < r.len() {
                if r[i] == b'\\' && i + 1 < r.len() && (r[i + 1] == b'"' || r[i + 1] == b'\\') {
                    value.push(r[i + 1]);
                    i += 2;
                    continue;
                }
                if r[i] == b'"' {
                    closed = true;
                    i += 1;
                    break;
                }
                value.push(r[i]);
                i += 1;
            }
            if !closed {
                flags.invalid_quoting = true;
            }
        } else {
            if i < r.len() && r[i] == b'\'' {
                flags.invalid_quoting = true;
            }
            while i < r.len() && r[i] != b';' && !r[i].is_ascii_whitespace() {
                value.push(r[i]);
                i += 1;
            }
        }
        match key.as_slice() {
            b"name" => name = Some(value),
            b"filename" | b"filename*" => filename = Some(value),
            _ => {}
        }
    }
    Ok((name, filename))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &[u8] = b"multipart/form-data; boundary=XyZ";

    #[test]
    fn fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"x.php\"\r\nContent-Type: text/plain\r\n\r\n<?php\r\n--XyZ--\r\n";
        let (m, err) = parse(body, CT);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(m.args, vec![(b"a".to_vec(), b"1".to_vec())]);
        assert_eq!(m.files, vec![(b"f".to_vec(), b"x.php".to_vec())]);
        assert_eq!(m.file_sizes[0].1, b"5");
        assert_eq!(m.part_headers.len(), 3);
        assert!(!m.flags.strict_error());
    }

    #[test]
    fn evasions_are_flagged() {
        let body = b"junk\r\n--XyZ\nContent-Disposition: form-data; name=a\n\n1\n--XyZ--\r\nmore";
        let (m, err) = parse(body, CT);
        assert!(err.is_none());
        assert!(m.flags.data_before && m.flags.data_after && m.flags.lf_line);
        assert!(m.flags.strict_error());
        let (_, err) = parse(
            b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1",
            CT,
        );
        assert!(err.is_some());
        let (_, err) = parse(b"whatever", b"multipart/form-data");
        assert!(err.is_some());
        let (m, _) = parse(b"--XyZ--", b"multipart/form-data; boundary=\"XyZ\"");
        assert!(m.flags.boundary_quoted);
    }
}
