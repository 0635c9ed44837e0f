//! Scheduled publication and withdrawal.

use super::*;

/// Publishes scheduled items whose time has come and withdraws published items whose
/// withdrawal time has passed; re-renders each site touched once. Returns the number of items
/// changed. Runs every half minute in the control plane.
pub async fn run_schedules(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let due_publish = article::Entity::find()
        .filter(article::Column::Status.eq("scheduled"))
        .filter(article::Column::DeletedAt.is_null())
        .filter(article::Column::PublishAt.lte(now))
        .all(&state.db)
        .await?;
    let due_unpublish = article::Entity::find()
        .filter(article::Column::Status.eq("published"))
        .filter(article::Column::DeletedAt.is_null())
        .filter(article::Column::UnpublishAt.lte(now))
        .all(&state.db)
        .await?;
    let mut sites = std::collections::BTreeSet::new();
    let txn = state.db.begin().await?;
    for a in &due_publish {
        article::Entity::update_many()
            .col_expr(article::Column::Status, Expr::value("published"))
            .col_expr(
                article::Column::PublishedRevisionId,
                Expr::value(a.current_revision_id),
            )
            .col_expr(
                article::Column::PublishedAt,
                Expr::value(a.published_at.unwrap_or(now)),
            )
            .col_expr(article::Column::UpdatedAt, Expr::value(now))
            .filter(article::Column::Id.eq(a.id))
            .exec(&txn)
            .await?;
        system_record(state, &txn, a, "publish", "定时发布", now).await?;
        sites.insert(a.site_id);
    }
    for a in &due_unpublish {
        article::Entity::update_many()
            .col_expr(article::Column::Status, Expr::value("unpublished"))
            .col_expr(article::Column::UpdatedAt, Expr::value(now))
            .filter(article::Column::Id.eq(a.id))
            .exec(&txn)
            .await?;
        system_record(state, &txn, a, "unpublish", "定时撤稿", now).await?;
        sites.insert(a.site_id);
    }
    txn.commit().await?;
    let changed: Vec<i32> = due_publish
        .iter()
        .chain(&due_unpublish)
        .map(|a| a.id)
        .collect();
    state.search.notify(&changed);
    for site_id in sites {
        crate::publish::publish_site(state, site_id).await?;
    }
    Ok(due_publish.len() + due_unpublish.len())
}

async fn system_record(
    state: &AppState,
    db: &impl ConnectionTrait,
    a: &article::Model,
    action: &str,
    comment: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    state
        .audit_in(
            db,
            &crate::audit::Who::system(),
            crate::audit::Entry::new(super::content_event(action), format!("article:{}", a.id))
                .details(serde_json::json!({ "comment": comment })),
        )
        .await?;
    review_action::ActiveModel {
        article_id: Set(a.id),
        revision_id: Set(a.current_revision_id),
        action: Set(action.into()),
        level: Set(0),
        comment: Set(comment.into()),
        actor_id: Set(None),
        at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
