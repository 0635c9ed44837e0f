//! Revisions: history, an old revision made current again, diffs.

use super::*;

pub async fn revisions(
    state: &AppState,
    actor: &Actor,
    id: i32,
) -> AppResult<Vec<article_revision::Model>> {
    let a = article(state, actor, id).await?;
    Ok(article_revision::Entity::find()
        .filter(article_revision::Column::ArticleId.eq(a.id))
        .order_by_desc(article_revision::Column::Id)
        .all(&state.db)
        .await?)
}

async fn revision_of(
    state: &AppState,
    a: &article::Model,
    rev_id: i32,
) -> AppResult<article_revision::Model> {
    article_revision::Entity::find_by_id(rev_id)
        .one(&state.db)
        .await?
        .filter(|r| r.article_id == a.id)
        .ok_or(AppError::NotFound)
}

pub fn input_of(a: &article::Model, r: &article_revision::Model) -> ArticleInput {
    ArticleInput {
        column_id: a.column_id,
        kind: a.kind.clone(),
        title: r.title.clone(),
        subtitle: r.subtitle.clone(),
        author: r.author.clone(),
        source: r.source.clone(),
        summary: r.summary.clone(),
        body: r.body.clone(),
        link_url: r.link_url.clone(),
        cover: r.cover.clone(),
        publish_time: r.publish_time.map(format_beijing).unwrap_or_default(),
        publish_at: a.publish_at.map(format_beijing).unwrap_or_default(),
        unpublish_at: a.unpublish_at.map(format_beijing).unwrap_or_default(),
        index_no: r.index_no.clone(),
        issuer: r.issuer.clone(),
        doc_no: r.doc_no.clone(),
        written_date: r.written_date.clone(),
        topic: r.topic.clone(),
        note: String::new(),
        attachments: r.attachments.replace('\t', " "),
    }
}

/// Makes an old revision current again, as a new revision (history is never rewritten).
pub async fn restore_revision(
    state: &AppState,
    actor: &Actor,
    id: i32,
    rev_id: i32,
) -> AppResult<()> {
    let a = article(state, actor, id).await?;
    let old = revision_of(state, &a, rev_id).await?;
    let mut input = input_of(&a, &old);
    input.note = format!("恢复自版本 {rev_id}");
    update(state, actor, id, &input).await?;
    state
        .audit(
            &crate::audit::Who::actor(actor),
            crate::audit::Entry::new(crate::audit::Event::ContentRevert, format!("article:{id}"))
                .details(serde_json::json!({ "revision_id": rev_id })),
        )
        .await?;
    Ok(())
}

/// One line of a diff: `' '` same, `'-'` only in the older, `'+'` only in the newer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub tag: char,
    pub text: String,
}

/// The fields of a revision as lines to compare (body split at block boundaries).
fn diff_text(r: &article_revision::Model) -> String {
    let mut out = String::new();
    for (label, value) in [
        ("标题", &r.title),
        ("副标题", &r.subtitle),
        ("作者", &r.author),
        ("来源", &r.source),
        ("摘要", &r.summary),
        ("文号", &r.doc_no),
        ("发文机关", &r.issuer),
        ("索引号", &r.index_no),
        ("成文日期", &r.written_date),
        ("主题分类", &r.topic),
        ("外部链接", &r.link_url),
        ("附件", &r.attachments),
    ] {
        if !value.is_empty() {
            out.push_str(&format!("{label}：{value}\n"));
        }
    }
    out.push_str("正文：\n");
    let body = r
        .body
        .replace("</p>", "</p>\n")
        .replace("<br>", "<br>\n")
        .replace("</li>", "</li>\n")
        .replace("</tr>", "</tr>\n");
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

pub async fn diff(
    state: &AppState,
    actor: &Actor,
    id: i32,
    from: i32,
    to: i32,
) -> AppResult<Vec<DiffLine>> {
    let a = article(state, actor, id).await?;
    let old = diff_text(&revision_of(state, &a, from).await?);
    let new = diff_text(&revision_of(state, &a, to).await?);
    let d = similar::TextDiff::from_lines(&old, &new);
    Ok(d.iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                similar::ChangeTag::Equal => ' ',
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
            },
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect())
}
