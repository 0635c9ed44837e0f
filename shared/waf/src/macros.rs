//! Macro expansion: `%{tx.anomaly_score}`, `%{MATCHED_VAR}`, `%{REQUEST_HEADERS.host}`,
//! `%{rule.id}` inside action and operator arguments. Parsed once, when the rule is compiled.

use std::borrow::Cow;

use crate::transaction::Transaction;
use crate::variables::{Each, Selector, Target, Variable, collect};

#[derive(Debug, Clone)]
enum Part {
    Lit(Vec<u8>),
    Var(Target),
}

/// A string with `%{…}` references.
#[derive(Debug, Clone)]
pub struct Macro {
    parts: Vec<Part>,
}

impl Macro {
    /// Parses `text`. A `%{…}` that names no known variable stays literal text, as in
    /// ModSecurity.
    pub fn parse(text: &str) -> Result<Macro, String> {
        let mut parts = Vec::new();
        let mut lit = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("%{") {
            let Some(len) = rest[start + 2..].find('}') else {
                break;
            };
            let inner = &rest[start + 2..start + 2 + len];
            lit.extend_from_slice(&rest.as_bytes()[..start]);
            match parse_reference(inner) {
                Some(target) => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Var(target));
                }
                None => lit.extend_from_slice(&rest.as_bytes()[start..start + 3 + len]),
            }
            rest = &rest[start + 3 + len..];
        }
        lit.extend_from_slice(rest.as_bytes());
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Macro { parts })
    }

    /// The text, when it has no references.
    pub fn literal(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [] => Some(b""),
            [Part::Lit(l)] => Some(l),
            _ => None,
        }
    }

    /// The variables the macro names, in order.
    pub fn references(&self) -> impl Iterator<Item = &Target> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(t) => Some(t),
            Part::Lit(_) => None,
        })
    }

    /// The literal text before the first reference (all of it when there is none).
    pub fn literal_prefix(&self) -> &[u8] {
        match self.parts.first() {
            Some(Part::Lit(l)) => l,
            _ => b"",
        }
    }

    pub fn expand<'t>(&'t self, tx: &'t Transaction) -> Cow<'t, [u8]> {
        if let Some(l) = self.literal() {
            return Cow::Borrowed(l);
        }
        // One reference (`%{tx.inbound_anomaly_score_threshold}`): its value as it is stored,
        // without a copy.
        if let [Part::Var(t)] = self.parts.as_slice() {
            if let Some(value) = tx_setting(tx, t) {
                return Cow::Borrowed(value);
            }
            let mut first: Option<Cow<'t, [u8]>> = None;
            collect(
                tx,
                t,
                &|_, _| false,
                &mut Each(|v: crate::variables::Value<'t>| {
                    if first.is_none() {
                        first = Some(v.value);
                    }
                }),
            );
            return first.unwrap_or(Cow::Borrowed(b""));
        }
        let mut out = Vec::new();
        self.expand_into(tx, &mut out);
        Cow::Owned(out)
    }

    /// Appends the expansion to `out` (a buffer the caller reuses).
    pub fn expand_into(&self, tx: &Transaction, out: &mut Vec<u8>) {
        for part in &self.parts {
            match part {
                Part::Lit(l) => out.extend_from_slice(l),
                Part::Var(t) => {
                    if let Some(value) = tx_setting(tx, t) {
                        out.extend_from_slice(value);
                        continue;
                    }
                    // The first value only.
                    let mut first = true;
                    collect(
                        tx,
                        t,
                        &|_, _| false,
                        &mut Each(|v: crate::variables::Value| {
                            if first {
                                out.extend_from_slice(&v.value);
                                first = false;
                            }
                        }),
                    );
                }
            }
        }
    }

    pub fn expand_string(&self, tx: &Transaction) -> String {
        String::from_utf8_lossy(&self.expand(tx)).into_owned()
    }
}

/// A `tx.name` reference (the commonest kind: CRS's settings and scores) read straight from
/// the collection: its value, empty when unset. `None` for other references.
fn tx_setting<'t>(tx: &'t Transaction, t: &Target) -> Option<&'t [u8]> {
    match (&t.variable, &t.selector) {
        (Variable::Tx, Selector::Key(k)) if !t.count => {
            let key = std::str::from_utf8(k).ok()?;
            Some(tx.tx_value(key).unwrap_or_default())
        }
        _ => None,
    }
}

/// `tx.score`, `MATCHED_VAR`, `request_headers.host`, `rule.id`.
fn parse_reference(inner: &str) -> Option<Target> {
    let (name, key) = match inner.split_once('.') {
        Some((n, k)) => (n, Some(k)),
        None => (inner, None),
    };
    let variable = Variable::by_name(name.trim())?;
    let selector = match key {
        Some(k) if variable.is_collection() => {
            Selector::Key(k.trim().as_bytes().to_ascii_lowercase())
        }
        Some(_) => return None,
        None => Selector::All,
    };
    Some(Target {
        variable,
        selector,
        count: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_references() {
        let m = Macro::parse("a %{tx.x} b %{nope} c %{MATCHED_VAR}").unwrap();
        assert!(m.literal().is_none());
        assert_eq!(m.parts.len(), 4);
        assert_eq!(
            Macro::parse("plain").unwrap().literal(),
            Some(&b"plain"[..])
        );
        assert_eq!(
            Macro::parse("%{unterminated").unwrap().literal(),
            Some(&b"%{unterminated"[..])
        );
    }

    #[test]
    fn tx_references_read_the_collection() {
        let engine = crate::Engine::from_text("SecRuleEngine On", "t.conf").unwrap();
        let mut tx = engine.transaction();
        tx.set_tx_var("Limit", b"10");
        let m = Macro::parse("max %{tx.limit}, %{TX.missing}!").unwrap();
        assert_eq!(m.expand(&tx).as_ref(), b"max 10, !");
        assert_eq!(
            Macro::parse("%{tx.LIMIT}").unwrap().expand(&tx).as_ref(),
            b"10"
        );
        assert_eq!(
            Macro::parse("%{tx.gone}").unwrap().expand(&tx).as_ref(),
            b""
        );
    }
}
