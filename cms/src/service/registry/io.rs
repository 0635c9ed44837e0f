//! The registry in and out of spreadsheets: XLSX in the survey form's own layout (one sheet
//! per site) and as a summary table (one row per site); XLSX or CSV in, in the summary table's
//! layout (columns by label or key, in any order). An import is checked whole before anything
//! is written: a file with bad rows changes nothing and every bad row comes back with its
//! reasons — unless the importer asks for the good rows alone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Cursor;

use chrono::{DateTime, Utc};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};
use sea_orm::{EntityTrait, TransactionTrait};

use super::fields::{FIELDS, SECTIONS, Values};
use super::{Save, Source, check, values_of, write};
use crate::db::entities::{organization, site, site_registry};
use crate::error::{AppError, AppResult};
use crate::publish::beijing;
use crate::service::authz::Actor;
use crate::state::AppState;

/// Headings of the summary table before the form's fields.
pub const ID: &str = "登记编号";
pub const ORG: &str = "所属单位";
pub const SITE: &str = "平台网站代码";
pub const COMPLETE: &str = "填报状态";

/// Rows an import may hold.
pub const MAX_ROWS: usize = 5000;

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> AppError {
    AppError::Internal(e.into())
}

/// Names the record's CMS site and unit for the export.
pub struct Names {
    pub orgs: HashMap<i32, String>,
    pub sites: HashMap<i32, String>,
}

impl Names {
    pub async fn load(state: &AppState) -> AppResult<Names> {
        Ok(Names {
            orgs: organization::Entity::find()
                .all(&state.db)
                .await?
                .into_iter()
                .map(|o| (o.id, o.name))
                .collect(),
            sites: site::Entity::find()
                .all(&state.db)
                .await?
                .into_iter()
                .map(|s| (s.id, s.code))
                .collect(),
        })
    }
}

/// The summary table: one row per record, every field.
pub fn summary_xlsx(records: &[site_registry::Model], names: &Names) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    let head = Format::new().set_bold().set_background_color("#DDEBF7");
    let text = Format::new().set_num_format("@");
    let sheet = book.add_worksheet();
    sheet.set_name("网站登记汇总").map_err(xlsx_err)?;
    let headings: Vec<&str> = [ID, ORG, SITE, COMPLETE]
        .into_iter()
        .chain(FIELDS.iter().map(|f| f.label))
        .collect();
    for (c, h) in headings.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &head)
            .map_err(xlsx_err)?;
        sheet
            .set_column_width(c as u16, if c < 4 { 12 } else { 18 })
            .map_err(xlsx_err)?;
    }
    for (i, r) in records.iter().enumerate() {
        let row = 1 + i as u32;
        let values = values_of(r);
        let missing = super::fields::missing(&values);
        let fixed = [
            r.id.to_string(),
            names.orgs.get(&r.org_id).cloned().unwrap_or_default(),
            r.site_id
                .and_then(|s| names.sites.get(&s).cloned())
                .unwrap_or_default(),
            if missing.is_empty() {
                "完整".to_string()
            } else {
                format!("缺 {} 项", missing.len())
            },
        ];
        for (c, v) in fixed.iter().enumerate() {
            sheet
                .write_string_with_format(row, c as u16, v, &text)
                .map_err(xlsx_err)?;
        }
        for (j, f) in FIELDS.iter().enumerate() {
            let v = values.get(f.key).map(String::as_str).unwrap_or("");
            sheet
                .write_string_with_format(row, (4 + j) as u16, v, &text)
                .map_err(xlsx_err)?;
        }
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
    book.save_to_buffer().map_err(xlsx_err)
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(wanted: &str, used: &mut BTreeSet<String>) -> String {
    let clean: String = wanted
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(28)
        .collect();
    let base = if clean.trim().is_empty() {
        "网站".to_string()
    } else {
        clean.trim().to_string()
    };
    let mut name = base.clone();
    let mut n = 2;
    while used.contains(&name) {
        name = format!("{base}({n})");
        n += 1;
    }
    used.insert(name.clone());
    name
}

/// The survey form's own layout: one sheet per site, the fields under their section headings,
/// label and value side by side, ready to print.
pub fn form_xlsx(
    records: &[site_registry::Model],
    names: &Names,
    at: DateTime<Utc>,
) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center);
    let section = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_border(FormatBorder::Thin);
    let label = Format::new()
        .set_border(FormatBorder::Thin)
        .set_background_color("#F2F2F2");
    let value = Format::new()
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_num_format("@");
    let mut used = BTreeSet::new();
    if records.is_empty() {
        book.add_worksheet()
            .set_name("网站登记")
            .map_err(xlsx_err)?;
    }
    for r in records {
        let values = values_of(r);
        let name = sheet_name(
            values.get("site_name").map_or("网站", String::as_str),
            &mut used,
        );
        let sheet = book.add_worksheet();
        sheet.set_name(&name).map_err(xlsx_err)?;
        sheet.set_column_width(0, 22).map_err(xlsx_err)?;
        sheet.set_column_width(1, 60).map_err(xlsx_err)?;
        sheet
            .merge_range(0, 0, 0, 1, "互联网网站及应用情况调查表", &title)
            .map_err(xlsx_err)?;
        sheet
            .write_string(
                1,
                0,
                format!(
                    "登记编号 {}　所属单位 {}　导出于 {}",
                    r.id,
                    names.orgs.get(&r.org_id).cloned().unwrap_or_default(),
                    beijing(at).format("%Y-%m-%d %H:%M")
                ),
            )
            .map_err(xlsx_err)?;
        let mut row = 2;
        for s in SECTIONS {
            sheet
                .merge_range(row, 0, row, 1, s, &section)
                .map_err(xlsx_err)?;
            row += 1;
            for f in FIELDS.iter().filter(|f| f.section == *s) {
                sheet
                    .write_string_with_format(row, 0, f.label, &label)
                    .map_err(xlsx_err)?;
                sheet
                    .write_string_with_format(
                        row,
                        1,
                        values.get(f.key).map(String::as_str).unwrap_or(""),
                        &value,
                    )
                    .map_err(xlsx_err)?;
                row += 1;
            }
        }
        sheet.set_print_fit_to_pages(1, 1);
    }
    book.save_to_buffer().map_err(xlsx_err)
}

/// The cells of an uploaded table, rows of strings (the first sheet of a workbook).
pub fn read_table(bytes: &[u8], filename: &str) -> Result<Vec<Vec<String>>, String> {
    let lower = filename.to_ascii_lowercase();
    if lower.ends_with(".csv") {
        let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
            .map_err(|_| {
                "CSV 文件须为 UTF-8 编码（可在表格软件中另存为“CSV UTF-8”）。".to_string()
            })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| format!("CSV 第 {} 行无法读取：{e}", i + 1))?;
            rows.push(rec.iter().map(str::to_string).collect());
        }
        return Ok(rows);
    }
    if !(lower.ends_with(".xlsx") || lower.ends_with(".xls")) {
        return Err("只能导入 .xlsx、.xls 或 .csv 文件。".into());
    }
    use calamine::{Data, Reader};
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes.to_vec()))
        .map_err(|e| format!("无法读取表格文件：{e}"))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or("表格文件中没有工作表。")?
        .map_err(|e| format!("无法读取第一个工作表：{e}"))?;
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Empty => String::new(),
                    Data::String(s) => s.clone(),
                    // Numbers typed as numbers: phone numbers, years.
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => if *b { "是" } else { "否" }.to_string(),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map(|t| t.format("%Y-%m-%d").to_string())
                        .unwrap_or_else(|| d.to_string()),
                    Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                    Data::Error(e) => format!("#{e:?}"),
                })
                .collect()
        })
        .collect())
}

/// What an import did, or would have done.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Data rows read (empty rows skipped).
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// `第 N 行：reason；reason` for each bad row, and problems of the file itself.
    pub errors: Vec<String>,
    /// Whether anything was written.
    pub applied: bool,
}

/// Checks every row of a table, then writes them all in one transaction — or nothing, when
/// any row is bad and `only_good` is not asked for.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    table: Vec<Vec<String>>,
    only_good: bool,
) -> AppResult<ImportReport> {
    let mut report = ImportReport::default();
    let mut rows = table.into_iter();
    let Some(head) = rows.next() else {
        report.errors.push("文件是空的。".into());
        return Ok(report);
    };
    // Columns: the fixed ones and the fields, by label or key.
    enum Col {
        Id,
        Org,
        Site,
        Ignore,
        Field(&'static str),
    }
    let mut cols = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, h) in head.iter().enumerate() {
        let h = h.trim();
        let col = match h {
            ID => Col::Id,
            ORG => Col::Org,
            SITE => Col::Site,
            COMPLETE | "" => Col::Ignore,
            _ => match super::fields::by_heading(h) {
                Some(f) => Col::Field(f.key),
                None => {
                    report
                        .errors
                        .push(format!("第 1 行第 {} 列：未知的列“{h}”", i + 1));
                    Col::Ignore
                }
            },
        };
        if !h.is_empty() && !matches!(col, Col::Ignore) && !seen.insert(h.to_string()) {
            report
                .errors
                .push(format!("第 1 行：列“{h}”出现了不止一次"));
        }
        cols.push(col);
    }
    if !report.errors.is_empty() {
        return Ok(report);
    }
    let orgs: HashMap<String, i32> = organization::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|o| (o.name, o.id))
        .collect();
    let sites: HashMap<String, site::Model> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.code.clone(), s))
        .collect();
    let editable = super::editable_orgs(state, actor).await?;
    let only_org = editable
        .as_ref()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.iter().next().copied());
    let existing: HashMap<i32, site_registry::Model> = site_registry::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut good: Vec<(Save, Values)> = Vec::new();
    let mut ids = BTreeSet::new();
    for (n, cells) in rows.enumerate() {
        let line = n + 2;
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        report.rows += 1;
        if report.rows > MAX_ROWS {
            report
                .errors
                .push(format!("文件超过 {MAX_ROWS} 行，请分批导入。"));
            return Ok(report);
        }
        let mut problems = Vec::new();
        let mut id = None;
        let mut org = None;
        let mut site_id = None;
        let mut given = Values::new();
        for (i, col) in cols.iter().enumerate() {
            let v = cells.get(i).map(|c| c.trim()).unwrap_or("");
            match col {
                Col::Id if !v.is_empty() => match v.parse::<i32>() {
                    Ok(i) if existing.contains_key(&i) => id = Some(i),
                    _ => problems.push(format!("登记编号“{v}”不存在（新登记请留空）")),
                },
                Col::Org if !v.is_empty() => match orgs.get(v) {
                    Some(o) => org = Some(*o),
                    None => problems.push(format!("所属单位“{v}”不存在")),
                },
                Col::Site if !v.is_empty() => match sites.get(v) {
                    Some(s) => site_id = Some(s.id),
                    None => problems.push(format!("平台网站代码“{v}”不存在")),
                },
                Col::Field(k) => {
                    given.insert((*k).to_string(), v.to_string());
                }
                _ => {}
            }
        }
        if let Some(i) = id
            && !ids.insert(i)
        {
            problems.push(format!("登记编号 {i} 在文件中出现了不止一次"));
        }
        // An existing record keeps what the file has no column for.
        let mut values = id
            .and_then(|i| existing.get(&i))
            .map(values_of)
            .unwrap_or_default();
        for (k, v) in given {
            values.insert(k, v);
        }
        values.retain(|_, v| !v.trim().is_empty());
        let org_id = org
            .or_else(|| id.and_then(|i| existing.get(&i)).map(|r| r.org_id))
            .or(only_org);
        let Some(org_id) = org_id else {
            if problems.is_empty() {
                problems.push("请填写所属单位".into());
            }
            report
                .errors
                .push(format!("第 {line} 行：{}", problems.join("；")));
            continue;
        };
        let save = Save {
            id,
            org_id,
            site_id: site_id.or_else(|| id.and_then(|i| existing.get(&i)).and_then(|r| r.site_id)),
            values,
        };
        match check(state, actor, &save).await {
            Ok(Ok(v)) if problems.is_empty() => good.push((save, v)),
            Ok(Ok(_)) => {}
            Ok(Err(mut p)) => problems.append(&mut p),
            Err(AppError::Forbidden) => problems.push("无权登记或修改该单位的网站".into()),
            Err(e) => return Err(e),
        }
        if !problems.is_empty() {
            report
                .errors
                .push(format!("第 {line} 行：{}", problems.join("；")));
        }
    }
    if report.rows == 0 {
        report.errors.push("文件中没有数据行。".into());
        return Ok(report);
    }
    if !report.errors.is_empty() && !only_good {
        return Ok(report);
    }
    let txn = state.db.begin().await?;
    for (save, values) in &good {
        let (_, changed) = write(state, &txn, actor, save, values.clone(), Source::Import).await?;
        match (save.id, changed) {
            (None, _) => report.created += 1,
            (Some(_), true) => report.updated += 1,
            (Some(_), false) => report.unchanged += 1,
        }
    }
    txn.commit().await?;
    report.applied = true;
    Ok(report)
}

/// Labels by key, for the history.
pub fn labels() -> BTreeMap<&'static str, &'static str> {
    let mut m: BTreeMap<&'static str, &'static str> =
        FIELDS.iter().map(|f| (f.key, f.label)).collect();
    m.insert("org_id", ORG);
    m.insert("site_id", "平台网站");
    m.insert("decision", "整合方式");
    m.insert("progress", "整合进度");
    m.insert("plan_note", "整合说明");
    m.insert("due_date", "完成期限");
    m
}
