//! 错敏词: the word list by category (系统管理员, 安全管理员), and what the scans of the sites'
//! pages found (each unit its own sites): highlighted, ignored or marked fixed, exported.

use sea_orm::IntoActiveModel;

use super::*;

// ---- words --------------------------------------------------------------------------------

async fn words_guard(state: &SharedState, actor: &Actor) -> AppResult<()> {
    require(
        state,
        actor,
        actor.is_sysadmin() || actor.is_secadmin(),
        "section:words",
    )
    .await
}

async fn word_view(
    state: &SharedState,
    s: &crate::auth::Session,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let settings = monitor::load(&state.db).await?;
    let rows = word_entry::Entity::find()
        .order_by_asc(word_entry::Column::Category)
        .order_by_asc(word_entry::Column::Word)
        .all(&state.db)
        .await?;
    let groups: Vec<Value> = words::CATEGORIES
        .iter()
        .map(|(code, label)| {
            let entries: Vec<Value> = rows
                .iter()
                .filter(|r| r.category == *code)
                .map(|r| context! { id => r.id, word => r.word, suggestion => r.suggestion })
                .collect();
            context! {
                code, label, entries,
                blocked => settings.word_block_categories.iter().any(|c| c == code),
            }
        })
        .collect();
    render(
        state,
        "monitor_words.html",
        context! {
            user => user_ctx(s), csrf => s.csrf.clone(), notice, error, groups,
            categories => words::CATEGORIES.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
        },
    )
}

pub(super) async fn word_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    words_guard(&state, &actor).await?;
    word_view(&state, &s, notice(&q), None).await
}

#[derive(Deserialize)]
pub(super) struct WordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    word: String,
    #[serde(default)]
    suggestion: String,
}

pub(super) async fn add_word(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<WordForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    words_guard(&state, &actor).await?;
    let word = form.word.trim();
    let problem = if !words::CATEGORIES.iter().any(|(c, _)| *c == form.category) {
        Some("请选择类别。".to_string())
    } else if word.is_empty() || word.chars().count() > 100 {
        Some("词语须为 1 到 100 个字符。".to_string())
    } else if words::WordList::new(vec![(
        form.category.clone(),
        word.to_string(),
        String::new(),
    )])
    .find(word)
    .is_empty()
    {
        Some("该词语只含空白或分隔符号，无法匹配。".to_string())
    } else if word_entry::Entity::find()
        .filter(word_entry::Column::Word.eq(word))
        .one(&state.db)
        .await?
        .is_some()
    {
        Some(format!("“{word}”已在词库中。"))
    } else {
        None
    };
    if let Some(p) = problem {
        let page = word_view(&state, &s, None, Some(p)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let txn = state.db.begin().await?;
    word_entry::ActiveModel {
        category: Set(form.category.clone()),
        word: Set(word.to_string()),
        suggestion: Set(form.suggestion.trim().to_string()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    state
        .audit_in(&txn, &Who::actor(&actor), Entry::new(Event::WordAdd, format!("word:{word}")).details(serde_json::json!({ "category": form.category, "suggestion": form.suggestion.trim() })))
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/monitor/words?notice=word").into_response())
}

pub(super) async fn delete_word(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    words_guard(&state, &actor).await?;
    let row = word_entry::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let txn = state.db.begin().await?;
    word_entry::Entity::delete_by_id(id).exec(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::WordDelete, format!("word:{}", row.word)),
        )
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/monitor/words?notice=word").into_response())
}

pub(super) async fn add_starter(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    words_guard(&state, &actor).await?;
    let txn = state.db.begin().await?;
    let n = words::add_starter(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::WordAdd, "word:starter-list")
                .details(serde_json::json!({ "added": n })),
        )
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/monitor/words?notice=starter").into_response())
}

// ---- findings on the sites' pages -----------------------------------------------------------

pub(super) const FINDING_STATUSES: &[(&str, &str)] = &[
    ("open", "待处理"),
    ("ignored", "已忽略"),
    ("fixed", "已修正"),
];

/// The findings of the sites this actor sees, filtered: (site name, finding).
async fn visible_findings(
    state: &SharedState,
    actor: &Actor,
    q: &HashMap<String, String>,
) -> AppResult<Vec<(String, word_finding::Model)>> {
    let scope = scope(actor);
    require(
        state,
        actor,
        scope.as_ref().is_none_or(|s| !s.is_empty()),
        "section:word-findings",
    )
    .await?;
    let names: HashMap<i32, String> = site::Entity::find()
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut find = word_finding::Entity::find()
        .order_by_asc(word_finding::Column::SiteId)
        .order_by_asc(word_finding::Column::Page)
        .order_by_asc(word_finding::Column::Id);
    let status = q.get("status").map_or("open", String::as_str);
    if status != "all" {
        find = find.filter(word_finding::Column::Status.eq(status));
    }
    if let Some(id) = q.get("site").and_then(|v| v.parse::<i32>().ok()) {
        find = find.filter(word_finding::Column::SiteId.eq(id));
    }
    if let Some(c) = q.get("category").filter(|c| !c.is_empty()) {
        find = find.filter(word_finding::Column::Category.eq(c.as_str()));
    }
    Ok(find
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|f| scope.as_ref().is_none_or(|ids| ids.contains(&f.site_id)))
        .map(|f| (names.get(&f.site_id).cloned().unwrap_or_default(), f))
        .collect())
}

/// The context with the word highlighted (escaped, then marked).
fn highlighted(context: &str) -> String {
    let escaped = minijinja::HtmlEscape(context).to_string();
    escaped
        .replace(words::MARK_START, "<mark>")
        .replace(words::MARK_END, "</mark>")
}

/// The page address with a text fragment: the browser scrolls to the word and highlights it.
fn in_place(page: &str, context: &str) -> String {
    let found = context
        .split(words::MARK_START)
        .nth(1)
        .and_then(|r| r.split(words::MARK_END).next())
        .unwrap_or("");
    let mut enc = String::new();
    for b in found.bytes() {
        if b.is_ascii_alphanumeric() {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{page}#:~:text={enc}")
}

pub(super) async fn finding_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    let rows: Vec<Value> = visible_findings(&state, &actor, &q)
        .await?
        .into_iter()
        .map(|(site, f)| {
            context! {
                id => f.id, site, page => f.page.clone(), word => f.word,
                category => words::category_label(&f.category),
                serious => monitor::health::SERIOUS_WORDS.contains(&f.category.as_str()),
                suggestion => f.suggestion,
                context => Value::from_safe_string(highlighted(&f.context)),
                view => in_place(&f.page, &f.context),
                status => f.status.clone(),
                status_label => FINDING_STATUSES.iter().find(|(c, _)| *c == f.status).map_or("", |(_, l)| *l),
                handled => (!f.handled_by.is_empty()).then(|| format!("{} {}", f.handled_by, f.handled_at.map(time).unwrap_or_default())),
                first_seen => time(f.first_seen_at), last_seen => time(f.last_seen_at),
            }
        })
        .collect();
    let scope = scope(&actor);
    let sites: Vec<Value> = site::Entity::find()
        .order_by_asc(site::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .filter(|s| scope.as_ref().is_none_or(|ids| ids.contains(&s.id)))
        .map(|s| context! { id => s.id, name => s.name })
        .collect();
    let query: String = ["status", "site", "category"]
        .iter()
        .filter_map(|k| q.get(*k).map(|v| format!("{k}={}", urlencoding(v))))
        .collect::<Vec<_>>()
        .join("&");
    render(
        &state,
        "monitor_word_findings.html",
        context! {
            user => user_ctx(&s), csrf => s.csrf.clone(), notice => notice(&q), findings => rows,
            sites, statuses => FINDING_STATUSES.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
            categories => words::CATEGORIES.iter().map(|(c, l)| context! { code => c, label => l }).collect::<Vec<_>>(),
            status => q.get("status").cloned().unwrap_or_else(|| "open".into()),
            site => q.get("site").cloned().unwrap_or_default(),
            category => q.get("category").cloned().unwrap_or_default(),
            query,
        },
    )
}

fn urlencoding(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The filtered findings as CSV (UTF-8 with BOM).
pub(super) async fn finding_csv(
    State(state): State<SharedState>,
    Authed(_, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let mut out = String::from(
        "\u{feff}网站,页面,词语,类别,建议改为,上下文,状态,处理人,首次发现,最近发现\r\n",
    );
    for (site, f) in visible_findings(&state, &actor, &q).await? {
        let context = f
            .context
            .replace(words::MARK_START, "【")
            .replace(words::MARK_END, "】");
        let fields = [
            site,
            f.page,
            f.word,
            words::category_label(&f.category).to_string(),
            f.suggestion,
            context,
            FINDING_STATUSES
                .iter()
                .find(|(c, _)| *c == f.status)
                .map_or(f.status.clone(), |(_, l)| (*l).to_string()),
            f.handled_by,
            time(f.first_seen_at),
            time(f.last_seen_at),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"word-findings.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// Ignore a finding (it stays ignored on later scans), mark it fixed (it opens again when a
/// scan finds it again), or open it again.
pub(super) async fn handle_finding(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path((id, action)): Path<(i32, String)>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    let row = word_finding::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let scope = scope(&actor);
    require(
        &state,
        &actor,
        scope.as_ref().is_none_or(|ids| ids.contains(&row.site_id)),
        &format!("word-finding:{id}"),
    )
    .await?;
    let status = match action.as_str() {
        "ignore" => "ignored",
        "fixed" => "fixed",
        "reopen" => "open",
        _ => return Err(AppError::NotFound),
    };
    let object = format!("word-finding:{id}");
    let details = serde_json::json!({
        "site_id": row.site_id, "page": row.page, "word": row.word, "from": row.status, "to": status,
    });
    let txn = state.db.begin().await?;
    let mut a = row.into_active_model();
    a.status = Set(status.to_string());
    a.handled_by = Set(if status == "open" {
        String::new()
    } else {
        actor.user.username.clone()
    });
    a.handled_at = Set((status != "open").then(Utc::now));
    a.update(&txn).await?;
    state
        .audit_in(
            &txn,
            &Who::actor(&actor),
            Entry::new(Event::WordFinding, object).details(details),
        )
        .await?;
    txn.commit().await?;
    Ok(Redirect::to("/monitor/word-findings?notice=finding").into_response())
}
