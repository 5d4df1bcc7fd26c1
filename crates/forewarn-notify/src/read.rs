//! Reading back a message as written to the outbox: its readable MIME parts, decoded. For
//! the admin mailbox (`/admin/mail`) and the tests, which take apart what lettre wrote.

/// The readable parts of a MIME message: each `text/plain` and `text/calendar` part,
/// decoded (quoted-printable or base64), labelled with its type. A message that is not
/// MIME gives its body.
pub fn text_parts(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(raw, &mut out, 0);
    out
}

fn collect(entity: &str, out: &mut Vec<(String, String)>, depth: usize) {
    let (head, body) = split_head(entity);
    let content_type = header(head, "content-type").unwrap_or_else(|| "text/plain".to_owned());
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("multipart/") && depth < 8 {
        let Some(boundary) = param(&content_type, "boundary") else { return };
        let delimiter = format!("--{boundary}");
        for part in body.split(delimiter.as_str()).skip(1) {
            if part.starts_with("--") {
                break;
            }
            collect(part.trim_start_matches(['\r', '\n']), out, depth + 1);
        }
        return;
    }
    let kind = lower.split(';').next().unwrap_or("").trim().to_owned();
    if kind != "text/plain" && kind != "text/calendar" {
        return;
    }
    let encoding = header(head, "content-transfer-encoding").unwrap_or_default().to_ascii_lowercase();
    let bytes = match encoding.trim() {
        "quoted-printable" => quoted_printable(body),
        "base64" => base64(body),
        _ => body.as_bytes().to_vec(),
    };
    let label = match param(&content_type, "method") {
        Some(method) => format!("{kind} (method {method})"),
        None => kind,
    };
    out.push((label, String::from_utf8_lossy(&bytes).replace("\r\n", "\n")));
}

/// The header block and the body of an entity.
fn split_head(entity: &str) -> (&str, &str) {
    if let Some(i) = entity.find("\r\n\r\n") {
        (&entity[..i], &entity[i + 4..])
    } else if let Some(i) = entity.find("\n\n") {
        (&entity[..i], &entity[i + 2..])
    } else {
        (entity, "")
    }
}

/// A header's value, unfolded.
fn header(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with([' ', '\t']) {
            if let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if value.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.trim().eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_owned());
        }
    }
    value
}

/// A parameter of a header value: `boundary="x"` (names compared without regard to case).
pub fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().trim_matches('"').to_owned())
    })
}

pub fn quoted_printable(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') => i += 3,
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A base64 body or encoded word decoded (line breaks and other whitespace ignored); text
/// that is not base64 is kept as it is, so that it can still be read.
pub fn base64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    let digits: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(&digits).unwrap_or_else(|_| text.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_found_and_decoded() {
        let raw = "From: a@b.c\r\nContent-Type: multipart/mixed;\r\n boundary=\"outer\"\r\n\r\n--outer\r\n\
                   Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\
                   Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Gr=C3=BC=C3=9Fe, a long=\r\n line\r\n--inner\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--inner--\r\n\
                   --outer\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\
                   Content-Transfer-Encoding: base64\r\n\r\nQkVHSU46VkNBTEVOREFS\r\n--outer--\r\n";
        let parts = text_parts(raw);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[0], ("text/plain".to_owned(), "Grüße, a long line\n".to_owned()));
        assert_eq!(parts[1], ("text/calendar (method REQUEST)".to_owned(), "BEGIN:VCALENDAR".to_owned()));
        assert_eq!(text_parts("Subject: x\n\nplain body"), vec![("text/plain".to_owned(), "plain body".to_owned())]);
    }
}
