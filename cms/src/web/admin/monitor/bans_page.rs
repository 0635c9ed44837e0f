//! 封禁 (安全管理员): bans in force, manual bans, lifting.

use super::*;

// ---- bans ---------------------------------------------------------------------------------

pub(super) async fn ban_list(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> AppResult<Html<String>> {
    settings_guard(&state, &actor).await?;
    ban_view(&state, &s, notice(&q), None).await
}

async fn ban_view(
    state: &SharedState,
    s: &crate::auth::Session,
    notice: Option<&str>,
    error: Option<String>,
) -> AppResult<Html<String>> {
    let rows: Vec<Value> = bans::active(&state.db, Utc::now())
        .await?
        .into_iter()
        .map(|b| {
            context! {
                id => b.id, address => b.address, reason => b.reason, by => b.created_by,
                created_at => time(b.created_at), expires_at => time(b.expires_at),
            }
        })
        .collect();
    render(
        state,
        "monitor_bans.html",
        context! { user => user_ctx(s), csrf => s.csrf.clone(), notice, error, bans => rows },
    )
}

#[derive(Deserialize)]
pub(super) struct BanForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    reason: String,
}

pub(super) async fn add_ban(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Form(form): Form<BanForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    settings_guard(&state, &actor).await?;
    let address = form.address.trim();
    let hours = form
        .hours
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|h| (1..=720).contains(h));
    let problem = if address.parse::<std::net::IpAddr>().is_err() {
        Some(format!("“{address}”不是有效的 IP 地址。"))
    } else if hours.is_none() {
        Some("封禁时长须为 1 到 720 小时。".to_string())
    } else if form.reason.trim().is_empty() {
        Some("请填写封禁原因。".to_string())
    } else {
        None
    };
    if let Some(p) = problem {
        let page = ban_view(&state, &s, None, Some(p)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let expires = Utc::now() + Duration::hours(hours.unwrap_or(1));
    bans::ban(
        &state,
        address,
        form.reason.trim(),
        expires,
        &Who::actor(&actor),
        &actor.user.username,
    )
    .await
    .map_err(AppError::Internal)?;
    Ok(Redirect::to("/monitor/bans?notice=banned").into_response())
}

pub(super) async fn lift_ban(
    State(state): State<SharedState>,
    Authed(s, actor): Authed,
    Path(id): Path<i32>,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    s.check_csrf(&form.csrf)?;
    settings_guard(&state, &actor).await?;
    bans::lift(&state, id, &Who::actor(&actor))
        .await
        .map_err(AppError::Internal)?;
    Ok(Redirect::to("/monitor/bans?notice=lifted").into_response())
}
