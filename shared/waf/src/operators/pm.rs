//! `@pm`: case-insensitive match of any of the space-separated phrases (Aho-Corasick).
//! With `capture`, `TX.0` receives the phrase found.
//!
//! `SecRule REQUEST_HEADERS:Accept-Encoding "@pm gzip compress deflate" "id:1,pass"`

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{Captures, Context, Operator};
use crate::transaction::Transaction;

#[derive(Debug)]
pub(crate) struct Pm {
    ac: AhoCorasick,
    phrases: Vec<Vec<u8>>,
}

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(Pm::new(
        arg.split_whitespace().map(str::to_string).collect(),
    )?))
}

impl Pm {
    pub fn new(phrases: Vec<String>) -> Result<Pm, String> {
        if phrases.is_empty() {
            return Err("no phrases given".into());
        }
        let phrases: Vec<Vec<u8>> = phrases.into_iter().map(String::into_bytes).collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(&phrases)
            .map_err(|e| e.to_string())?;
        Ok(Pm { ac, phrases })
    }
}

impl Operator for Pm {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        match self.ac.find(input) {
            Some(m) => {
                if let Some(c) = c {
                    *c = vec![input[m.start()..m.end()].to_vec()];
                }
                true
            }
            None => false,
        }
    }

    fn required_literals(&self) -> Option<Vec<Vec<u8>>> {
        Some(self.phrases.clone())
    }

    fn depends_on(&self) -> Option<Option<&crate::macros::Macro>> {
        Some(None)
    }
}
