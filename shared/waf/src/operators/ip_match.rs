//! `@ipMatch`: the input is an IPv4 or IPv6 address inside one of the listed addresses or CIDR
//! ranges. `@ipMatchFromFile` (`@ipMatchF`) reads the list from a file.
//!
//! `SecRule REMOTE_ADDR "@ipMatch 127.0.0.1,::1,10.0.0.0/8" "id:1,allow"`

use std::net::IpAddr;

use super::{Captures, Context, Operator, read_list};
use crate::transaction::Transaction;

#[derive(Debug)]
struct IpMatch(Vec<(IpAddr, u8)>);

/// Parses `addr` or `addr/prefix`.
pub fn parse_net(s: &str) -> Result<(IpAddr, u8), String> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("invalid IP address {s:?}"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("invalid prefix length in {s:?}"))?,
        None => max,
    };
    Ok((ip, prefix))
}

/// Whether `ip` lies in `net/prefix`.
pub fn contains(net: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let mask = if prefix == 0 {
                0
            } else {
                u128::MAX << (128 - prefix)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        (IpAddr::V4(_), IpAddr::V6(i)) => i
            .to_ipv4_mapped()
            .is_some_and(|v4| contains(net, prefix, IpAddr::V4(v4))),
        _ => false,
    }
}

fn from_list<'a>(items: impl Iterator<Item = &'a str>) -> Result<Box<dyn Operator>, String> {
    let nets = items
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_net)
        .collect::<Result<Vec<_>, _>>()?;
    if nets.is_empty() {
        return Err("no addresses given".into());
    }
    Ok(Box::new(IpMatch(nets)))
}

pub fn new(arg: &str, _: &Context) -> Result<Box<dyn Operator>, String> {
    from_list(arg.split([',', ' ']))
}

pub fn new_from_file(arg: &str, ctx: &Context) -> Result<Box<dyn Operator>, String> {
    let lines = read_list(arg, ctx)?;
    from_list(lines.iter().map(String::as_str))
}

impl Operator for IpMatch {
    fn evaluate(&self, _: &Transaction, input: &[u8], c: Option<&mut Captures>) -> bool {
        let Some(ip) = std::str::from_utf8(input)
            .ok()
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
        else {
            return false;
        };
        let hit = self.0.iter().any(|(n, p)| contains(*n, *p, ip));
        if hit && let Some(c) = c {
            *c = vec![input.to_vec()];
        }
        hit
    }
}
