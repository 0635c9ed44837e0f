//! The survey form's fields (互联网网站及应用情况调查表, as the 2016 rectification notice asks every
//! unit to fill in for each site it runs), with what each accepts. One table drives the form,
//! its validation, the completeness status, the change history and both XLSX layouts.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// What a field accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Several lines.
    LongText,
    /// A landline (`010-12345678`, extension allowed) or a mobile number.
    Phone,
    /// A mobile number (`13912345678`).
    Mobile,
    /// One or more domain names.
    Domains,
    /// One or more IPv4/IPv6 addresses.
    Ips,
    /// `YYYY-MM-DD`.
    Date,
    Choice(&'static [&'static str]),
    /// 是 or 否.
    YesNo,
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub section: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub const UNIT_TYPES: &[&str] = &["行政机关", "事业单位", "企业", "其他"];
pub const BUSINESS_TYPES: &[&str] = &["公众服务", "内部办公", "生产作业", "管理控制", "其他"];
pub const AUDIENCES: &[&str] = &["单位内部人员", "社会公众人员", "两者均包括", "其他"];
pub const GRADES: &[&str] = &["未定级", "一级", "二级", "三级", "四级"];

const fn f(key: &'static str, label: &'static str, section: &'static str, kind: Kind) -> Field {
    Field {
        key,
        label,
        section,
        kind,
        required: true,
    }
}

const UNIT: &str = "一、单位基本情况";
const LEADER: &str = "二、网站责任领导";
const MANAGER: &str = "三、网站主管部门";
const OPERATOR: &str = "四、网站运维部门";
const SITE: &str = "五、网站基本情况";
const SECURITY: &str = "六、备案与安全";
const FILLER: &str = "七、填表信息";

pub const SECTIONS: &[&str] = &[UNIT, LEADER, MANAGER, OPERATOR, SITE, SECURITY, FILLER];

pub const FIELDS: &[Field] = &[
    f("unit_name", "单位名称", UNIT, Kind::Text),
    f("unit_address", "单位地址", UNIT, Kind::Text),
    f("unit_type", "单位类型", UNIT, Kind::Choice(UNIT_TYPES)),
    f("leader_name", "责任领导姓名", LEADER, Kind::Text),
    f("leader_title", "责任领导职务", LEADER, Kind::Text),
    f("leader_phone", "责任领导联系电话", LEADER, Kind::Phone),
    f("manager_name", "主管部门名称", MANAGER, Kind::Text),
    f("manager_head", "主管部门负责人", MANAGER, Kind::Text),
    f(
        "manager_head_title",
        "主管部门负责人职务",
        MANAGER,
        Kind::Text,
    ),
    f(
        "manager_office_phone",
        "主管部门办公电话",
        MANAGER,
        Kind::Phone,
    ),
    f(
        "manager_mobile",
        "主管部门负责人手机",
        MANAGER,
        Kind::Mobile,
    ),
    f("operator_name", "运维部门名称", OPERATOR, Kind::Text),
    f("operator_head", "运维部门负责人", OPERATOR, Kind::Text),
    f(
        "operator_head_title",
        "运维部门负责人职务",
        OPERATOR,
        Kind::Text,
    ),
    f(
        "operator_office_phone",
        "运维部门办公电话",
        OPERATOR,
        Kind::Phone,
    ),
    f(
        "operator_mobile",
        "运维部门负责人手机",
        OPERATOR,
        Kind::Mobile,
    ),
    f("site_name", "网站名称", SITE, Kind::Text),
    f("domains", "网站域名", SITE, Kind::Domains),
    f("ips", "IP地址", SITE, Kind::Ips),
    f("launch_date", "开通日期", SITE, Kind::Date),
    f(
        "business_type",
        "业务类型",
        SITE,
        Kind::Choice(BUSINESS_TYPES),
    ),
    f("audience", "服务对象", SITE, Kind::Choice(AUDIENCES)),
    f("purpose", "主要用途", SITE, Kind::LongText),
    f("icp_filed", "是否ICP备案", SECURITY, Kind::YesNo),
    Field {
        required: false,
        ..f("icp_number", "ICP备案号", SECURITY, Kind::Text)
    },
    f(
        "dengbao_grade",
        "等级保护定级",
        SECURITY,
        Kind::Choice(GRADES),
    ),
    f("kaiban_audit", "开办审核", SECURITY, Kind::YesNo),
    f("qualification_review", "资格复核", SECURITY, Kind::YesNo),
    f("unified_mark", "统一标识", SECURITY, Kind::YesNo),
    // Compliance records kept with the form (not part of it, so not needed for completeness).
    Field {
        required: false,
        ..f("dengbao_filing", "等保备案证明编号", SECURITY, Kind::Text)
    },
    Field {
        required: false,
        ..f("dengbao_assessed", "最近等级测评日期", SECURITY, Kind::Date)
    },
    Field {
        required: false,
        ..f("dengbao_next", "下次等级测评日期", SECURITY, Kind::Date)
    },
    Field {
        required: false,
        ..f("psb_number", "公安机关备案号", SECURITY, Kind::Text)
    },
    f("filled_by", "填表人", FILLER, Kind::Text),
    f("filler_phone", "填表人联系电话", FILLER, Kind::Phone),
    f("filled_date", "填表日期", FILLER, Kind::Date),
];

pub fn field(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.key == key)
}

/// The field with this key or label (imports accept either as a column heading).
pub fn by_heading(h: &str) -> Option<&'static Field> {
    let h = h.trim();
    FIELDS.iter().find(|f| f.key == h || f.label == h)
}

/// Values by key; only the form's fields.
pub type Values = BTreeMap<String, String>;

fn is_mobile(s: &str) -> bool {
    let d: String = s.chars().filter(|c| *c != '-' && *c != ' ').collect();
    let d = d.strip_prefix("+86").unwrap_or(&d);
    d.len() == 11
        && d.starts_with('1')
        && d.chars().all(|c| c.is_ascii_digit())
        && matches!(d.as_bytes()[1], b'3'..=b'9')
}

fn is_landline(s: &str) -> bool {
    // 010-12345678, (0571)87654321, 0571-8765432-123, 400-123-4567, 12345
    let mut t = s.replace(['(', ')', '（', '）', ' '], "-");
    while t.contains("--") {
        t = t.replace("--", "-");
    }
    let t = t.trim_matches('-');
    let parts: Vec<&str> = t.split('-').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return false;
    }
    match parts.as_slice() {
        // 12345, 12315 service numbers
        [n] if n.len() == 5 => true,
        [n] => n.starts_with('0') && (10..=12).contains(&n.len()),
        [a, n] if *a == "400" || *a == "800" => n.len() == 7,
        [a, n] => a.starts_with('0') && (3..=4).contains(&a.len()) && (7..=8).contains(&n.len()),
        [a, n, ext] if *a == "400" || *a == "800" => n.len() == 3 && ext.len() == 4,
        [a, n, ext] => {
            a.starts_with('0')
                && (3..=4).contains(&a.len())
                && (7..=8).contains(&n.len())
                && (1..=6).contains(&ext.len())
        }
        _ => false,
    }
}

fn is_domain(d: &str) -> bool {
    let d = d.trim_end_matches('.');
    let labels: Vec<&str> = d.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| {
            tld.chars().all(|c| c.is_ascii_alphabetic()) || tld.starts_with("xn--")
        })
}

fn list(v: &str) -> Vec<&str> {
    v.split(|c: char| {
        c == ',' || c == '，' || c == '、' || c == ';' || c == '；' || c.is_whitespace()
    })
    .filter(|s| !s.is_empty())
    .collect()
}

/// `2026-11-26`, `2026/11/26`, `2026.11.26`, `2026年11月26日` → `2026-11-26`.
pub fn parse_date(v: &str) -> Option<String> {
    let t = v
        .trim()
        .replace(['年', '月', '/', '.'], "-")
        .replace('日', "");
    let d = chrono::NaiveDate::parse_from_str(t.trim_end_matches('-'), "%Y-%m-%d").ok()?;
    Some(d.format("%Y-%m-%d").to_string())
}

/// Checks and normalises one value; empty stays empty (completeness is judged apart).
pub fn check(field: &Field, raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let bad = |why: &str| Err(format!("{}“{v}”{why}", field.label));
    if v.chars().count() > 2000 {
        return Err(format!("{}过长（最多 2000 字）", field.label));
    }
    match field.kind {
        Kind::Text => {
            if v.contains(['\n', '\r']) {
                return bad("不能换行");
            }
            if v.chars().count() > 200 {
                return Err(format!("{}过长（最多 200 字）", field.label));
            }
            Ok(v.to_string())
        }
        Kind::LongText => Ok(v.replace("\r\n", "\n")),
        Kind::Phone => {
            if is_mobile(v) || is_landline(v) {
                Ok(v.to_string())
            } else {
                bad("不是有效的电话号码（如 010-12345678 或 13912345678）")
            }
        }
        Kind::Mobile => {
            if is_mobile(v) {
                Ok(v.to_string())
            } else {
                bad("不是有效的手机号码（11 位，以 1 开头）")
            }
        }
        Kind::Domains => {
            let items = list(v);
            let lower: Vec<String> = items.iter().map(|d| d.to_ascii_lowercase()).collect();
            match lower.iter().find(|d| !is_domain(d)) {
                Some(d) => Err(format!("{}中的“{d}”不是有效的域名", field.label)),
                None => Ok(lower.join("\n")),
            }
        }
        Kind::Ips => {
            let mut out = Vec::new();
            for item in list(v) {
                match item.parse::<IpAddr>() {
                    Ok(ip) => out.push(ip.to_string()),
                    Err(_) => {
                        return Err(format!("{}中的“{item}”不是有效的 IP 地址", field.label));
                    }
                }
            }
            Ok(out.join("\n"))
        }
        Kind::Date => match parse_date(v) {
            Some(d) => Ok(d),
            None => bad("不是有效的日期（如 2026-11-26）"),
        },
        Kind::Choice(options) => {
            if options.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(format!(
                    "{}须为以下之一：{}（填写的是“{v}”）",
                    field.label,
                    options.join("、")
                ))
            }
        }
        Kind::YesNo => match v.to_ascii_lowercase().as_str() {
            "是" | "有" | "yes" | "y" | "1" | "true" => Ok("是".into()),
            "否" | "无" | "no" | "n" | "0" | "false" => Ok("否".into()),
            _ => bad("须为“是”或“否”"),
        },
    }
}

/// Checks every value: the normalised values, or every problem. Keys that are not fields
/// are problems too.
pub fn validate(input: &Values) -> Result<Values, Vec<String>> {
    let mut out = Values::new();
    let mut problems = Vec::new();
    for (k, v) in input {
        let Some(field) = field(k) else {
            problems.push(format!("未知字段“{k}”"));
            continue;
        };
        match check(field, v) {
            Ok(v) if v.is_empty() => {}
            Ok(v) => {
                out.insert(k.clone(), v);
            }
            Err(e) => problems.push(e),
        }
    }
    if out.get("icp_filed").map(String::as_str) == Some("否") && out.contains_key("icp_number") {
        problems.push("未做 ICP 备案时不应填写 ICP 备案号".into());
    }
    if let (Some(last), Some(next)) = (out.get("dengbao_assessed"), out.get("dengbao_next"))
        && last >= next
    {
        problems.push(format!(
            "下次等级测评日期（{next}）应晚于最近测评日期（{last}）"
        ));
    }
    if let (Some(launch), Some(filled)) = (out.get("launch_date"), out.get("filled_date"))
        && launch > filled
    {
        problems.push(format!("开通日期（{launch}）晚于填表日期（{filled}）"));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The labels of the fields a complete form still lacks.
pub fn missing(values: &Values) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = FIELDS
        .iter()
        .filter(|f| f.required && values.get(f.key).is_none_or(|v| v.is_empty()))
        .map(|f| f.label)
        .collect();
    if values.get("icp_filed").map(String::as_str) == Some("是")
        && values.get("icp_number").is_none_or(|v| v.is_empty())
    {
        out.push("ICP备案号");
    }
    out
}

/// What changed from `old` to `new`: key → (old, new).
pub fn diff(old: &Values, new: &Values) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for f in FIELDS {
        let a = old.get(f.key).cloned().unwrap_or_default();
        let b = new.get(f.key).cloned().unwrap_or_default();
        if a != b {
            out.insert(f.key.to_string(), (a, b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_and_normalised() {
        let phone = field("leader_phone").unwrap();
        for ok in [
            "010-12345678",
            "(0571)87654321",
            "0571-8765432-123",
            "13912345678",
            "12345",
            "400-123-4567",
        ] {
            assert!(check(phone, ok).is_ok(), "{ok}");
        }
        for bad in ["12", "abc", "010-123", "1391234567", "23912345678"] {
            assert!(check(phone, bad).is_err(), "{bad}");
        }
        let mobile = field("manager_mobile").unwrap();
        assert!(check(mobile, "010-12345678").is_err());
        assert_eq!(
            check(
                field("domains").unwrap(),
                "WWW.Demo.gov.cn, edu.demo.gov.cn"
            )
            .unwrap(),
            "www.demo.gov.cn\nedu.demo.gov.cn"
        );
        assert!(
            check(field("domains").unwrap(), "www.demo.gov.cn bad_domain")
                .unwrap_err()
                .contains("bad_domain")
        );
        assert_eq!(
            check(field("ips").unwrap(), "10.0.0.1；2001:db8::0:1").unwrap(),
            "10.0.0.1\n2001:db8::1"
        );
        assert!(check(field("ips").unwrap(), "10.0.0.256").is_err());
        assert_eq!(
            check(field("launch_date").unwrap(), "2015年3月1日").unwrap(),
            "2015-03-01"
        );
        assert!(check(field("launch_date").unwrap(), "2015-02-30").is_err());
        assert_eq!(check(field("icp_filed").unwrap(), "Y").unwrap(), "是");
        let e = check(field("unit_type").unwrap(), "政府").unwrap_err();
        assert!(e.contains("行政机关、事业单位、企业、其他"), "{e}");
    }

    #[test]
    fn cross_field_rules_and_completeness() {
        let mut v = Values::new();
        v.insert("icp_filed".into(), "否".into());
        v.insert("icp_number".into(), "京ICP备12345678号".into());
        v.insert("launch_date".into(), "2027-01-01".into());
        v.insert("filled_date".into(), "2026-11-26".into());
        let p = validate(&v).unwrap_err();
        assert_eq!(p.len(), 2, "{p:?}");
        v.insert("icp_filed".into(), "是".into());
        v.remove("icp_number");
        v.insert("launch_date".into(), "2015-01-01".into());
        let ok = validate(&v).unwrap();
        let m = missing(&ok);
        assert!(m.contains(&"ICP备案号") && m.contains(&"单位名称"), "{m:?}");
        assert!(!m.contains(&"开通日期"));
        let required = FIELDS.iter().filter(|f| f.required).count();
        assert_eq!(m.len(), required - 3 + 1);
    }
}
