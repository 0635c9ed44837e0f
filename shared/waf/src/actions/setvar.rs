//! `setvar`: writes transaction variables: `setvar:tx.score=+5`, `setvar:'tx.%{rule.id}=%{MATCHED_VAR}'`,
//! `setvar:!tx.flag`. Collections other than `TX` (`IP`, `GLOBAL`, …) live for one transaction.

use crate::macros::Macro;

#[derive(Debug, Clone)]
pub enum SetVarOp {
    Set(Macro),
    Add(Macro),
    Sub(Macro),
    Delete,
}

#[derive(Debug, Clone)]
pub struct SetVar {
    /// Lowercased collection name (`tx`, `ip`, …).
    pub collection: String,
    pub key: Macro,
    pub op: SetVarOp,
}

impl SetVar {
    pub fn parse(text: &str) -> Result<SetVar, String> {
        let text = text.trim();
        let (delete, text) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (target, value) = match text.split_once('=') {
            Some((t, v)) => (t, Some(v)),
            None => (text, None),
        };
        let (collection, key) = target
            .split_once('.')
            .ok_or_else(|| format!("setvar {text:?}: expected collection.name"))?;
        let collection = collection.trim().to_ascii_lowercase();
        if !matches!(
            collection.as_str(),
            "tx" | "ip" | "global" | "session" | "user" | "resource"
        ) {
            return Err(format!("setvar: unknown collection {collection:?}"));
        }
        if key.is_empty() {
            return Err(format!("setvar {text:?}: empty variable name"));
        }
        let op = if delete {
            SetVarOp::Delete
        } else {
            match value {
                None => SetVarOp::Set(Macro::parse("1")?),
                Some(v) => {
                    if let Some(n) = v.strip_prefix('+') {
                        SetVarOp::Add(Macro::parse(n)?)
                    } else if let Some(n) = v.strip_prefix('-') {
                        SetVarOp::Sub(Macro::parse(n)?)
                    } else {
                        SetVarOp::Set(Macro::parse(v)?)
                    }
                }
            }
        };
        Ok(SetVar {
            collection,
            key: Macro::parse(&key.to_ascii_lowercase())?,
            op,
        })
    }
}
