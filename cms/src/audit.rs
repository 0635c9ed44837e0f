//! The audit trail: append-only, hash-chained, verifiable, archived before it is pruned.
//!
//! Every record carries the hash of the one before it; its own hash is an HMAC (audit MAC key
//! of the keyring, outside the database) over the record's canonical form and that previous
//! hash. Records are numbered without gaps; the single `audit_state` row holds the head (last
//! sequence number and hash) and, after pruning, the anchor (the last archived record). Appending
//! bumps the head first, in the same transaction as the insert, which serializes writers on
//! both databases.
//!
//! [`verify`] walks the whole chain: a changed field breaks that record's MAC, a removed record
//! leaves a gap, a reordered or substituted one breaks the link. What it cannot see is the tail
//! cut off together with a rewritten head; archives and exports (signed) are the outside
//! witnesses for that.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Timelike, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::db::entities::{audit_log, audit_state};
use crate::secrets::Keyring;
use crate::service::authz::Actor;

/// The hash the chain starts from.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Records may not be pruned before they are this old.
pub const MIN_RETENTION_DAYS: i64 = 180;

macro_rules! events {
    ($($variant:ident = $code:literal, $label:literal;)*) => {
        /// Every kind of audited event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Event { $($variant),* }

        impl Event {
            pub const ALL: &'static [Event] = &[$(Event::$variant),*];

            pub fn code(self) -> &'static str {
                match self { $(Event::$variant => $code),* }
            }

            pub fn label(self) -> &'static str {
                match self { $(Event::$variant => $label),* }
            }
        }
    };
}

events! {
    LoginSuccess = "login.success", "登录成功";
    LoginFailure = "login.failure", "登录失败";
    LoginLocked = "login.locked", "登录被锁定";
    SecondFactorFailure = "login.mfa_failure", "二次验证失败";
    Logout = "logout", "退出登录";
    PasswordChange = "password.change", "修改密码";
    PasswordReset = "password.reset", "重置密码";
    MfaEnable = "mfa.enable", "启用双因素认证";
    MfaDisable = "mfa.disable", "停用双因素认证";
    MfaReset = "mfa.reset", "重置双因素认证";
    RecoveryCodes = "mfa.recovery_codes", "重新生成恢复码";
    RecoveryCodeUsed = "mfa.recovery_used", "使用恢复码登录";
    SessionEnd = "session.end", "结束会话";
    UserCreate = "user.create", "创建用户";
    UserUpdate = "user.update", "修改账号状态";
    AdminCreate = "admin.create", "创建平台管理员";
    GrantAdd = "grant.add", "授予权限";
    GrantRevoke = "grant.revoke", "撤销权限";
    ContentCreate = "content.create", "新建内容";
    ContentUpdate = "content.update", "修改内容";
    ContentSubmit = "content.submit", "提交审核";
    ContentApprove = "content.approve", "审核通过";
    ContentReturn = "content.return", "退回";
    ContentWithdraw = "content.withdraw", "撤回";
    ContentPublish = "content.publish", "发布";
    ContentUnpublish = "content.unpublish", "撤稿";
    ContentDelete = "content.delete", "删除内容";
    ContentRestore = "content.restore", "恢复内容";
    ContentPurge = "content.purge", "彻底删除内容";
    ContentRevert = "content.revert", "恢复历史版本";
    SiteCreate = "site.create", "新建站点";
    SiteSettings = "site.settings", "修改站点设置";
    SiteHostnames = "site.hostnames", "修改站点域名";
    SitePublish = "site.publish", "重新发布站点";
    ColumnCreate = "column.create", "新建栏目";
    ColumnUpdate = "column.update", "修改栏目";
    ColumnDelete = "column.delete", "删除栏目";
    OrgCreate = "org.create", "新建单位";
    Mourning = "config.mourning", "设置哀悼模式";
    MediaUpload = "media.upload", "上传文件";
    MediaDelete = "media.delete", "删除文件";
    TokenCreate = "token.create", "创建 API 令牌";
    TokenRevoke = "token.revoke", "撤销 API 令牌";
    SecurityPolicy = "security.policy", "修改安全策略";
    LoginUnlock = "security.unlock", "解除登录锁定";
    AccessDenied = "access.denied", "越权访问被拒绝";
    AuditExport = "audit.export", "导出审计记录";
    AuditArchive = "audit.archive", "归档审计记录";
    AuditVerify = "audit.verify", "校验审计链";
    KeyRotate = "secrets.rotate", "轮换密钥";
    CertificateUpload = "certificate.upload", "上传证书";
    CertificateDelete = "certificate.delete", "删除证书";
    MonitorSettings = "monitor.settings", "修改检测设置";
    AlertClose = "alert.close", "关闭告警";
    IpBan = "ip.ban", "封禁地址";
    IpUnban = "ip.unban", "解除地址封禁";
    WordAdd = "word.add", "添加错敏词";
    WordDelete = "word.delete", "删除错敏词";
    WordFinding = "word.finding", "处理错敏词检查结果";
    BaselineSave = "baseline.save", "设置页面基线";
    BaselineDelete = "baseline.delete", "删除页面基线";
    BaselineRetake = "baseline.retake", "重新采集页面基线";
    RegistryCreate = "registry.create", "登记网站";
    RegistryUpdate = "registry.update", "修改网站登记";
    ConsolidationPlan = "consolidation.plan", "设置网站整合方式";
    ConsolidationClose = "consolidation.close", "关停网站";
    IncidentOpen = "incident.open", "登记安全事件";
    IncidentAction = "incident.action", "应急处置操作";
    IncidentNote = "incident.note", "记录事件处置情况";
    IncidentClose = "incident.close", "安全事件结案";
    DeadlineSave = "deadline.save", "设置报送期限";
    DeadlineDone = "deadline.done", "完成报送";
    DeadlineDelete = "deadline.delete", "删除报送期限";
    PlanSave = "plan.save", "保存应急预案";
    DrillRecord = "drill.record", "记录应急演练";
}

impl Event {
    pub fn parse(code: &str) -> Option<Event> {
        Event::ALL.iter().copied().find(|e| e.code() == code)
    }
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn code(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    pub fn label(code: &str) -> &'static str {
        match code {
            "success" => "成功",
            "failure" => "失败",
            "denied" => "拒绝",
            _ => "",
        }
    }
}

/// Who did it, from where.
#[derive(Debug, Clone, Default)]
pub struct Who {
    pub user_id: Option<i32>,
    pub name: String,
    pub role: String,
    pub addr: String,
}

impl Who {
    pub fn actor(actor: &Actor) -> Who {
        Who {
            user_id: Some(actor.id()),
            name: actor.user.username.clone(),
            role: role_of(&actor.user),
            addr: actor.client_addr.clone(),
        }
    }

    pub fn user(user: &crate::db::entities::app_user::Model, addr: &str) -> Who {
        Who {
            user_id: Some(user.id),
            name: user.username.clone(),
            role: role_of(user),
            addr: addr.to_string(),
        }
    }

    /// Somebody not signed in (a failed sign-in names the account tried in the details).
    pub fn anonymous(addr: &str) -> Who {
        Who {
            user_id: None,
            name: String::new(),
            role: String::new(),
            addr: addr.to_string(),
        }
    }

    /// The command line on the server.
    pub fn console() -> Who {
        Who {
            user_id: None,
            name: "console".into(),
            role: "console".into(),
            addr: "local".into(),
        }
    }

    /// The platform itself (scheduled publication, retention).
    pub fn system() -> Who {
        Who {
            user_id: None,
            name: "system".into(),
            role: "system".into(),
            addr: "local".into(),
        }
    }
}

fn role_of(user: &crate::db::entities::app_user::Model) -> String {
    if user.platform_role.is_empty() {
        "unit".into()
    } else {
        user.platform_role.clone()
    }
}

/// One record to append.
#[derive(Debug, Clone)]
pub struct Entry {
    pub event: Event,
    pub object: String,
    pub outcome: Outcome,
    pub details: serde_json::Value,
}

impl Entry {
    pub fn new(event: Event, object: impl Into<String>) -> Entry {
        Entry {
            event,
            object: object.into(),
            outcome: Outcome::Success,
            details: serde_json::Value::Null,
        }
    }

    pub fn outcome(mut self, outcome: Outcome) -> Entry {
        self.outcome = outcome;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Entry {
        self.details = details;
        self
    }
}

/// The canonical timestamp form (microseconds, what both databases keep).
fn canonical_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The bytes a record's MAC covers.
fn canonical(r: &audit_log::Model) -> Vec<u8> {
    serde_json::to_vec(&(
        r.seq,
        canonical_time(r.at),
        r.actor_id,
        &r.actor_name,
        &r.actor_role,
        &r.client_addr,
        &r.event,
        &r.object,
        &r.result,
        &r.details,
        r.key_id,
        &r.prev_hash,
    ))
    .unwrap_or_default()
}

fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    now.with_nanosecond(now.nanosecond() / 1000 * 1000)
        .unwrap_or(now)
}

/// Appends a record inside the caller's transaction (so the change and its record commit
/// together).
pub async fn append_in(
    txn: &impl ConnectionTrait,
    keyring: &Keyring,
    who: &Who,
    entry: Entry,
) -> Result<i64, DbErr> {
    // Bumping the head first takes the row (PostgreSQL) or the write lock (SQLite): appends are
    // serialized.
    audit_state::Entity::update_many()
        .col_expr(
            audit_state::Column::LastSeq,
            Expr::col(audit_state::Column::LastSeq).add(1),
        )
        .filter(audit_state::Column::Id.eq(1))
        .exec(txn)
        .await?;
    let head = audit_state::Entity::find_by_id(1)
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::Custom("audit_state row is missing".into()))?;
    let details = match entry.details {
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    };
    let mut record = audit_log::Model {
        seq: head.last_seq,
        at: now_micros(),
        actor_id: who.user_id,
        actor_name: cut(&who.name, 100),
        actor_role: who.role.clone(),
        client_addr: cut(&who.addr, 100),
        event: entry.event.code().into(),
        object: cut(&entry.object, 500),
        result: entry.outcome.code().into(),
        details: cut(&details, 4000),
        key_id: keyring.current_id(),
        prev_hash: head.last_hash.clone(),
        hash: String::new(),
    };
    record.hash = keyring
        .audit_mac(record.key_id, &canonical(&record))
        .ok_or_else(|| DbErr::Custom("current key missing from keyring".into()))?;
    let seq = record.seq;
    let hash = record.hash.clone();
    audit_log::ActiveModel::from(record).insert(txn).await?;
    audit_state::Entity::update_many()
        .col_expr(audit_state::Column::LastHash, Expr::value(hash))
        .filter(audit_state::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(seq)
}

/// Appends a record in its own transaction.
pub async fn append(
    db: &DatabaseConnection,
    keyring: &Keyring,
    who: &Who,
    entry: Entry,
) -> Result<i64, DbErr> {
    let txn = db.begin().await?;
    let seq = append_in(&txn, keyring, who, entry).await?;
    txn.commit().await?;
    Ok(seq)
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

// ---- verification ------------------------------------------------------------------------

/// What [`verify`] found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub checked: u64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// "record N is missing" or "records N–M are missing".
fn missing(from: i64, to: i64) -> String {
    if from == to {
        format!("record {from} is missing")
    } else {
        format!("records {from}–{to} are missing")
    }
}

/// Checks a run of records against each other and their MACs, starting from the sequence
/// number and previous hash it expects. Used on the database and on archives.
struct Walker<'a> {
    keyring: &'a Keyring,
    next_seq: i64,
    prev_hash: String,
    report: Report,
}

impl Walker<'_> {
    fn step(&mut self, r: &audit_log::Model) {
        if self.report.checked == 0 {
            self.report.first_seq = r.seq;
        }
        self.report.checked += 1;
        self.report.last_seq = r.seq;
        let contiguous = r.seq == self.next_seq;
        if r.seq > self.next_seq {
            self.report.problems.push(missing(self.next_seq, r.seq - 1));
        } else if r.seq < self.next_seq {
            self.report
                .problems
                .push(format!("record {} is out of order", r.seq));
        }
        match self.keyring.audit_mac(r.key_id, &canonical(r)) {
            None => self.report.problems.push(format!(
                "record {}: key {} is not in the keyring",
                r.seq, r.key_id
            )),
            Some(mac) if !crate::auth::constant_time_eq(mac.as_bytes(), r.hash.as_bytes()) => {
                self.report.problems.push(format!(
                    "record {} was altered (its hash does not match)",
                    r.seq
                ));
            }
            Some(_) => {}
        }
        if contiguous && r.prev_hash != self.prev_hash {
            self.report.problems.push(format!(
                "record {} does not follow record {} (chain broken)",
                r.seq,
                r.seq - 1
            ));
        }
        self.next_seq = r.seq + 1;
        self.prev_hash = r.hash.clone();
    }
}

/// Walks the whole chain in the database.
pub async fn verify(db: &DatabaseConnection, keyring: &Keyring) -> Result<Report, DbErr> {
    let head = audit_state::Entity::find_by_id(1)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::Custom("audit_state row is missing".into()))?;
    let mut w = Walker {
        keyring,
        next_seq: head.anchor_seq + 1,
        prev_hash: head.anchor_hash.clone(),
        report: Report::default(),
    };
    for_each(db, &Filter::default(), |r| w.step(r)).await?;
    let mut report = w.report;
    if report.checked == 0 {
        report.first_seq = head.anchor_seq + 1;
    }
    let end = if report.checked == 0 {
        head.anchor_seq
    } else {
        report.last_seq
    };
    if end < head.last_seq {
        report.problems.push(format!(
            "{} (the head says {})",
            missing(end + 1, head.last_seq),
            head.last_seq
        ));
    } else if end > head.last_seq {
        report.problems.push(format!(
            "records after {} were added outside the platform",
            head.last_seq
        ));
    } else if w.prev_hash != head.last_hash {
        report
            .problems
            .push("the head of the chain does not match the last record".into());
    }
    Ok(report)
}

// ---- queries for the auditor -------------------------------------------------------------

/// Filters of the auditor's search.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub event: Option<String>,
    pub outcome: Option<String>,
    /// Substring of the object, details or client address.
    pub text: Option<String>,
}

fn filtered(f: &Filter) -> sea_orm::Select<audit_log::Entity> {
    let mut q = audit_log::Entity::find();
    if let Some(from) = f.from {
        q = q.filter(audit_log::Column::At.gte(from));
    }
    if let Some(until) = f.until {
        q = q.filter(audit_log::Column::At.lt(until));
    }
    if let Some(a) = f.actor.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::ActorName.eq(a));
    }
    if let Some(e) = f.event.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::Event.eq(e));
    }
    if let Some(o) = f.outcome.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(audit_log::Column::Result.eq(o));
    }
    if let Some(t) = f.text.as_deref().filter(|s| !s.is_empty()) {
        let cond = sea_orm::Condition::any()
            .add(audit_log::Column::Object.contains(t))
            .add(audit_log::Column::Details.contains(t))
            .add(audit_log::Column::ClientAddr.contains(t));
        q = q.filter(cond);
    }
    q
}

/// One page of records, newest first, and the total count.
pub async fn search(
    db: &DatabaseConnection,
    f: &Filter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<audit_log::Model>, u64), DbErr> {
    let q = filtered(f).order_by_desc(audit_log::Column::Seq);
    let total = q.clone().count(db).await?;
    let rows = q
        .offset(page.saturating_sub(1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// Every record the filter matches, oldest first, in pages (exports).
pub async fn for_each(
    db: &DatabaseConnection,
    f: &Filter,
    mut each: impl FnMut(&audit_log::Model),
) -> Result<u64, DbErr> {
    let mut after = i64::MIN;
    let mut n = 0;
    loop {
        let page = filtered(f)
            .filter(audit_log::Column::Seq.gt(after))
            .order_by_asc(audit_log::Column::Seq)
            .limit(1000)
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            each(r);
            n += 1;
        }
    }
    Ok(n)
}

// ---- signed JSON lines (exports and archives) ----------------------------------------------

/// A record as a JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Line {
    pub seq: i64,
    pub at: String,
    pub actor_id: Option<i32>,
    pub actor: String,
    pub role: String,
    pub client_addr: String,
    pub event: String,
    pub object: String,
    pub result: String,
    pub details: String,
    pub key_id: i32,
    pub prev_hash: String,
    pub hash: String,
}

impl From<&audit_log::Model> for Line {
    fn from(r: &audit_log::Model) -> Line {
        Line {
            seq: r.seq,
            at: canonical_time(r.at),
            actor_id: r.actor_id,
            actor: r.actor_name.clone(),
            role: r.actor_role.clone(),
            client_addr: r.client_addr.clone(),
            event: r.event.clone(),
            object: r.object.clone(),
            result: r.result.clone(),
            details: r.details.clone(),
            key_id: r.key_id,
            prev_hash: r.prev_hash.clone(),
            hash: r.hash.clone(),
        }
    }
}

impl Line {
    fn to_model(&self) -> Option<audit_log::Model> {
        Some(audit_log::Model {
            seq: self.seq,
            at: DateTime::parse_from_rfc3339(&self.at)
                .ok()?
                .with_timezone(&Utc),
            actor_id: self.actor_id,
            actor_name: self.actor.clone(),
            actor_role: self.role.clone(),
            client_addr: self.client_addr.clone(),
            event: self.event.clone(),
            object: self.object.clone(),
            result: self.result.clone(),
            details: self.details.clone(),
            key_id: self.key_id,
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Signature {
    signature: String,
    key_id: i32,
    public_key: String,
    records: u64,
}

/// JSON lines of `records`, then a last line with an Ed25519 signature over every byte before
/// it.
pub fn signed_jsonl(keyring: &Keyring, lines: &[Line]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(serde_json::to_string(l).unwrap_or_default().as_bytes());
        out.push(b'\n');
    }
    let (key_id, public_key, signature) = keyring.sign(&out);
    let sig = Signature {
        signature,
        key_id,
        public_key,
        records: lines.len() as u64,
    };
    out.extend_from_slice(serde_json::to_string(&sig).unwrap_or_default().as_bytes());
    out.push(b'\n');
    out
}

/// Checks a signed JSON lines file: the signature (with the public key of the keyring's key,
/// never the one written in the file), every record's MAC and the links between them.
pub fn verify_signed(keyring: &Keyring, bytes: &[u8]) -> Result<Report, String> {
    let body_end = bytes[..bytes.len().saturating_sub(1)]
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let (body, last) = bytes.split_at(body_end);
    let sig: Signature = serde_json::from_slice(last.trim_ascii())
        .map_err(|_| "the last line is not a signature".to_string())?;
    let public_key = keyring.public_key(sig.key_id).ok_or_else(|| {
        format!(
            "signed with key {}, which is not in the keyring",
            sig.key_id
        )
    })?;
    if !crate::secrets::verify_signature(&public_key, body, &sig.signature) {
        return Err("the signature does not match the contents".into());
    }
    let mut w: Option<Walker> = None;
    let mut n = 0;
    for (i, text) in body.split(|&b| b == b'\n').enumerate() {
        if text.is_empty() {
            continue;
        }
        let line: Line = serde_json::from_slice(text)
            .map_err(|e| format!("line {}: not a record: {e}", i + 1))?;
        let model = line
            .to_model()
            .ok_or_else(|| format!("line {}: bad timestamp", i + 1))?;
        let walker = w.get_or_insert_with(|| Walker {
            keyring,
            next_seq: model.seq,
            prev_hash: model.prev_hash.clone(),
            report: Report::default(),
        });
        walker.step(&model);
        n += 1;
    }
    if n != sig.records {
        return Err(format!(
            "the signature covers {} records, the file has {n}",
            sig.records
        ));
    }
    Ok(w.map(|w| w.report).unwrap_or_default())
}

// ---- archive and prune ---------------------------------------------------------------------

/// Archives every record older than `older_than_days` (at least [`MIN_RETENTION_DAYS`]) into a
/// signed JSON lines file in `dir`, then removes them from the database and moves the anchor.
/// Refuses when the chain does not verify. Returns the file written, if anything was old enough.
pub async fn archive(
    db: &DatabaseConnection,
    keyring: &Keyring,
    who: &Who,
    older_than_days: i64,
    dir: &Path,
) -> anyhow::Result<Option<(PathBuf, u64)>> {
    anyhow::ensure!(
        older_than_days >= MIN_RETENTION_DAYS,
        "audit records are kept at least {MIN_RETENTION_DAYS} days"
    );
    archive_before(
        db,
        keyring,
        who,
        Utc::now() - Duration::days(older_than_days),
        dir,
    )
    .await
}

/// [`archive`] with any cutoff: for tests, which cannot wait 180 days. Nothing in the web or
/// the command line reaches it without the minimum retention.
#[doc(hidden)]
pub async fn archive_before(
    db: &DatabaseConnection,
    keyring: &Keyring,
    who: &Who,
    cutoff: DateTime<Utc>,
    dir: &Path,
) -> anyhow::Result<Option<(PathBuf, u64)>> {
    let report = verify(db, keyring).await?;
    anyhow::ensure!(
        report.ok(),
        "the audit chain does not verify; nothing archived: {}",
        report.problems.join("; ")
    );
    // The prefix of the chain older than the cutoff.
    let mut lines = Vec::new();
    let f = Filter {
        until: Some(cutoff),
        ..Filter::default()
    };
    let mut expected: Option<i64> = None;
    for_each(db, &f, |r| {
        if expected.is_none_or(|e| e == r.seq) {
            lines.push(Line::from(r));
            expected = Some(r.seq + 1);
        }
    })
    .await?;
    let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
        return Ok(None);
    };
    let (from, to) = (first.seq, last.seq);
    let last_hash = last.hash.clone();
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(
        "audit-{from:010}-{to:010}-{}.jsonl",
        Utc::now().format("%Y%m%dT%H%M%SZ")
    ));
    let bytes = signed_jsonl(keyring, &lines);
    write_atomically(&path, &bytes)?;

    let txn = db.begin().await?;
    txn.execute_unprepared("INSERT INTO audit_prune_permit (id) VALUES (1)")
        .await?;
    audit_log::Entity::delete_many()
        .filter(audit_log::Column::Seq.lte(to))
        .exec(&txn)
        .await?;
    txn.execute_unprepared("DELETE FROM audit_prune_permit")
        .await?;
    audit_state::Entity::update_many()
        .col_expr(audit_state::Column::AnchorSeq, Expr::value(to))
        .col_expr(audit_state::Column::AnchorHash, Expr::value(last_hash))
        .filter(audit_state::Column::Id.eq(1))
        .exec(&txn)
        .await?;
    append_in(
        &txn,
        keyring,
        who,
        Entry::new(Event::AuditArchive, path.display().to_string()).details(serde_json::json!({
            "from_seq": from, "to_seq": to, "records": lines.len(),
            "cutoff": cutoff.to_rfc3339(),
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(Some((path, lines.len() as u64)))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("jsonl.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(tmp, path)
}
