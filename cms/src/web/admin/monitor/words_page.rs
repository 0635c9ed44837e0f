//! 错敏词 (系统管理员, 安全管理员): the word list by category.

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
