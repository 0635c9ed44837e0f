//! XML bodies: what `XML:/*` (the text of the whole document) and `XML://@*` (every attribute
//! value) read. External entities are never resolved: quick-xml does not fetch anything, so an
//! XXE payload is only ever text to inspect.

use quick_xml::Reader;
use quick_xml::events::Event;

#[derive(Debug, Default, Clone)]
pub struct XmlDoc {
    /// The string value of the root element: all text nodes, concatenated.
    pub text: Vec<u8>,
    /// Every attribute value, in document order.
    pub attributes: Vec<Vec<u8>>,
}

pub fn parse(input: &[u8]) -> Result<XmlDoc, String> {
    let mut reader = Reader::from_reader(input);
    let mut doc = XmlDoc::default();
    let mut depth: usize = 0;
    let mut seen_root = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if depth == 0 && seen_root {
                    return Err("XML parsing error: more than one root element".into());
                }
                seen_root = true;
                depth += 1;
                attrs(&e, &mut doc)?;
            }
            Ok(Event::Empty(e)) => {
                seen_root = true;
                attrs(&e, &mut doc)?;
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Text(t)) => {
                if depth > 0 {
                    let raw = t.into_inner();
                    doc.text.extend_from_slice(&unescape(&raw));
                }
            }
            Ok(Event::CData(t)) => doc.text.extend_from_slice(&t.into_inner()),
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("XML parsing error: {e}")),
        }
    }
    if !seen_root {
        return Err("XML parsing error: no root element".into());
    }
    if depth != 0 {
        return Err("XML parsing error: unclosed element".into());
    }
    Ok(doc)
}

fn attrs(e: &quick_xml::events::BytesStart, doc: &mut XmlDoc) -> Result<(), String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("XML parsing error: {e}"))?;
        doc.attributes.push(unescape(&a.value));
    }
    Ok(())
}

/// Decodes the predefined entities and character references; others stay as written.
fn unescape(raw: &[u8]) -> Vec<u8> {
    crate::transformations::lookup("htmlEntityDecode")
        .and_then(|f| f(raw))
        .unwrap_or_else(|| raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes() {
        let d =
            parse(br#"<?xml version="1.0"?><a x="1&amp;2"><b>hi</b> <c y='z'/>there</a>"#).unwrap();
        assert_eq!(d.text, b"hi there");
        assert_eq!(d.attributes, vec![b"1&2".to_vec(), b"z".to_vec()]);
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"not xml").is_err());
    }
}
