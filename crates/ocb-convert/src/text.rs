//! Input bytes to text: UTF-8 with or without BOM, and (for JSON) UTF-16LE/BE with BOM, which
//! is what Windows PowerShell 5.1 writes by default (INTEGRATIONS.md §1.2).

/// Decodes UTF-8 (BOM removed) or BOM-marked UTF-16. `what` names the file in messages.
pub fn decode(bytes: &[u8], what: &str, allow_utf16: bool) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return utf8(rest, what);
    }
    let le = bytes.starts_with(&[0xFF, 0xFE]);
    let be = bytes.starts_with(&[0xFE, 0xFF]);
    if le || be {
        if !allow_utf16 {
            return Err(format!(
                "{what} is UTF-16; save it as UTF-8 (e.g. PowerShell `Out-File -Encoding utf8`)"
            ));
        }
        let body = &bytes[2..];
        if !body.len().is_multiple_of(2) {
            return Err(format!(
                "{what} is UTF-16 with an odd number of bytes (truncated?)"
            ));
        }
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        return String::from_utf16(&units).map_err(|_| format!("{what} is not valid UTF-16"));
    }
    utf8(bytes, what)
}

fn utf8(bytes: &[u8], what: &str) -> Result<String, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "{what} is not valid UTF-8 (byte {}); save it as UTF-8",
            e.valid_up_to() + 1
        )
    })?;
    // ASCII text saved as UTF-16 without a BOM is valid UTF-8 full of NULs.
    if text.contains('\0') {
        return Err(format!(
            "{what} contains NUL bytes: it looks like UTF-16 without a byte-order mark; save it as UTF-8"
        ));
    }
    Ok(text.to_string())
}

/// Parses JSON text with a message that names the file, line and column.
pub fn parse_json(bytes: &[u8], what: &str) -> Result<serde_json::Value, String> {
    let text = decode(bytes, what, true)?;
    serde_json::from_str(&text).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_bom_decodes_both_orders() {
        let s = "{\"a\": 1}";
        let mut le = vec![0xFF, 0xFE];
        let mut be = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            le.extend(u.to_le_bytes());
            be.extend(u.to_be_bytes());
        }
        assert_eq!(decode(&le, "x", true).as_deref(), Ok(s));
        assert_eq!(decode(&be, "x", true).as_deref(), Ok(s));
        assert!(decode(&le, "x", false).is_err());
    }

    #[test]
    fn utf8_bom_is_removed_and_bad_bytes_are_named() {
        assert_eq!(decode(b"\xEF\xBB\xBFabc", "x", false).as_deref(), Ok("abc"));
        assert!(decode(b"ab\xFF", "f.txt", false)
            .unwrap_err()
            .contains("byte 3"));
    }

    #[test]
    fn utf16_without_bom_is_explained() {
        let mut bytes = Vec::new();
        for u in "[1]".encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        assert!(decode(&bytes, "inv.json", true)
            .unwrap_err()
            .contains("UTF-16 without a byte-order mark"));
    }
}
