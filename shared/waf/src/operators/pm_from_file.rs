//! `@pmFromFile` (`@pmf`): `@pm` with the phrases read from files next to the rule file, one
//! per line.
//!
//! `SecRule REQUEST_FILENAME "@pmFromFile restricted-files.data" "id:1,block"`

use super::pm::Pm;
use super::{Context, Operator, read_list};

pub fn new(arg: &str, ctx: &Context) -> Result<Box<dyn Operator>, String> {
    Ok(Box::new(Pm::new(read_list(arg, ctx)?)?))
}
