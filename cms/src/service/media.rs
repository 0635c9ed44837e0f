//! The media library of a site: images and documents editors upload and link from articles.
//!
//! An upload is accepted only when its extension is on the allowlist **and** its bytes are of
//! that type (magic numbers; the name alone proves nothing), within the type's size limit.
//! Scripts and executables (`.php`, `.jsp`, `.html`, `.svg`, `.exe`, …) are never accepted, and
//! images carrying script markers are refused. Accepted files go to the content-addressed store
//! under a name the platform chooses (`/media/2026/11/<hash>.<ext>`), never the uploader's, and
//! are served by the gateway like every published file: hash-checked against the manifest.
//! Images get a thumbnail.

use std::io::Cursor;

use chrono::{Datelike, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use super::authz::Actor;
use crate::db::entities::{article_revision, media};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Images larger than this are refused.
pub const MAX_IMAGE: usize = 10 << 20;
/// Documents larger than this are refused.
pub const MAX_DOCUMENT: usize = 50 << 20;
/// Width of thumbnails.
const THUMB_WIDTH: u32 = 320;

/// A file type the library accepts: extensions, content type, whether it is an image, and
/// how its bytes start.
#[derive(Debug)]
struct Kind {
    exts: &'static [&'static str],
    content_type: &'static str,
    image: bool,
    sniff: fn(&[u8]) -> bool,
}

fn starts(b: &[u8], magic: &[u8]) -> bool {
    b.starts_with(magic)
}

const OLE: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Office Open XML and OFD are zip containers with a known first entry.
fn ooxml(b: &[u8]) -> bool {
    starts(b, b"PK\x03\x04")
        && b.windows(19)
            .take(4096)
            .any(|w| w == b"[Content_Types].xml")
}

fn ofd(b: &[u8]) -> bool {
    starts(b, b"PK\x03\x04") && b.windows(7).take(4096).any(|w| w == b"OFD.xml")
}

const KINDS: &[Kind] = &[
    Kind {
        exts: &["jpg", "jpeg"],
        content_type: "image/jpeg",
        image: true,
        sniff: |b| starts(b, &[0xFF, 0xD8, 0xFF]),
    },
    Kind {
        exts: &["png"],
        content_type: "image/png",
        image: true,
        sniff: |b| starts(b, b"\x89PNG\r\n\x1a\n"),
    },
    Kind {
        exts: &["gif"],
        content_type: "image/gif",
        image: true,
        sniff: |b| starts(b, b"GIF87a") || starts(b, b"GIF89a"),
    },
    Kind {
        exts: &["webp"],
        content_type: "image/webp",
        image: true,
        sniff: |b| starts(b, b"RIFF") && b.get(8..12) == Some(b"WEBP"),
    },
    Kind {
        exts: &["pdf"],
        content_type: "application/pdf",
        image: false,
        sniff: |b| starts(b, b"%PDF-"),
    },
    Kind {
        exts: &["doc"],
        content_type: "application/msword",
        image: false,
        sniff: |b| starts(b, OLE),
    },
    Kind {
        exts: &["xls"],
        content_type: "application/vnd.ms-excel",
        image: false,
        sniff: |b| starts(b, OLE),
    },
    Kind {
        exts: &["ppt"],
        content_type: "application/vnd.ms-powerpoint",
        image: false,
        sniff: |b| starts(b, OLE),
    },
    Kind {
        exts: &["wps", "et", "dps"],
        content_type: "application/octet-stream",
        image: false,
        sniff: |b| starts(b, OLE) || ooxml(b),
    },
    Kind {
        exts: &["docx"],
        content_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        image: false,
        sniff: ooxml,
    },
    Kind {
        exts: &["xlsx"],
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        image: false,
        sniff: ooxml,
    },
    Kind {
        exts: &["pptx"],
        content_type: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        image: false,
        sniff: ooxml,
    },
    Kind {
        exts: &["ofd"],
        content_type: "application/ofd",
        image: false,
        sniff: ofd,
    },
];

/// The accepted extensions, for the upload form.
pub fn accepted_extensions() -> Vec<&'static str> {
    KINDS.iter().flat_map(|k| k.exts.iter().copied()).collect()
}

/// Checks an upload; returns its kind and normalised extension, or why it is refused.
fn check(name: &str, bytes: &[u8]) -> Result<(&'static Kind, String), String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let Some((_, ext)) = base.rsplit_once('.') else {
        return Err(format!("“{base}”没有扩展名。"));
    };
    let ext = ext.to_ascii_lowercase();
    let Some(kind) = KINDS.iter().find(|k| k.exts.contains(&ext.as_str())) else {
        return Err(format!(
            "不接受 .{ext} 文件；可上传：{}。",
            accepted_extensions().join("、")
        ));
    };
    if bytes.is_empty() {
        return Err(format!("“{base}”是空文件。"));
    }
    let limit = if kind.image { MAX_IMAGE } else { MAX_DOCUMENT };
    if bytes.len() > limit {
        return Err(format!("“{base}”超过 {} MB 的上限。", limit >> 20));
    }
    if !(kind.sniff)(bytes) {
        return Err(format!(
            "“{base}”的内容与扩展名 .{ext} 不符（文件内容检查未通过）。"
        ));
    }
    if kind.image {
        let lower: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
        let marker = [&b"<?php"[..], b"<script", b"<%@", b"<?="]
            .iter()
            .any(|m| lower.windows(m.len()).any(|w| w == *m));
        if marker {
            return Err(format!("“{base}”含有脚本代码，已拒绝。"));
        }
    }
    Ok((kind, ext))
}

/// Cleans an uploaded name for display (no path, no control characters, at most 100 chars).
fn display_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    base.chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>()
        .trim()
        .to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct Uploaded {
    pub id: i32,
    pub path: String,
    pub thumb_path: Option<String>,
    pub name: String,
}

/// Stores an upload in the site's library and publishes it. Nothing is written when it is
/// refused.
pub async fn upload(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
    name: &str,
    bytes: Vec<u8>,
) -> AppResult<Uploaded> {
    let (uploaded, new) = add(state, actor, site_id, name, bytes).await?;
    if new {
        // Published at once, so that an article using it can be previewed and published.
        crate::publish::publish_site(state, site_id).await?;
    }
    Ok(uploaded)
}

/// Stores several uploads, each on its own (a refused file is reported with its reason and
/// the others are kept), then publishes the site once.
pub async fn upload_all(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
    files: Vec<(String, Vec<u8>)>,
) -> AppResult<Vec<Result<Uploaded, String>>> {
    let mut results = Vec::new();
    let mut any_new = false;
    for (name, bytes) in files {
        match add(state, actor, site_id, &name, bytes).await {
            Ok((u, new)) => {
                any_new |= new;
                results.push(Ok(u));
            }
            Err(AppError::Invalid(msg)) => results.push(Err(msg)),
            Err(e) => return Err(e),
        }
    }
    if any_new {
        crate::publish::publish_site(state, site_id).await?;
    }
    Ok(results)
}

/// Checks and stores one upload; returns it and whether it is new to the library.
async fn add(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
    name: &str,
    bytes: Vec<u8>,
) -> AppResult<(Uploaded, bool)> {
    let site = super::content::site(state, actor, site_id).await?;
    let columns = super::content::columns(&state.db, site.id).await?;
    if !columns.iter().any(|c| actor.can_edit(site.id, c.id)) {
        return Err(AppError::Forbidden);
    }
    let (kind, ext) = check(name, &bytes).map_err(AppError::Invalid)?;
    let image = kind.image;
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    // Decoding, thumbnailing and hashing are CPU work: off the async threads.
    let store = state.store.clone();
    let (hash, dims, thumb) = tokio::task::spawn_blocking(move || {
        let mut dims = None;
        let mut thumb = None;
        if image {
            let img = image::load_from_memory(&bytes).map_err(|e| format!("图片无法解码：{e}"))?;
            dims = Some((img.width(), img.height()));
            let small = img.thumbnail(THUMB_WIDTH, THUMB_WIDTH * 4);
            let mut out = Cursor::new(Vec::new());
            small
                .to_rgb8()
                .write_to(&mut out, image::ImageFormat::Jpeg)
                .map_err(|e| format!("缩略图生成失败：{e}"))?;
            let t = out.into_inner();
            let th = store.put(&t).map_err(|e| format!("写入缩略图：{e}"))?;
            thumb = Some(th);
        }
        let hash = store.put(&bytes).map_err(|e| format!("写入文件：{e}"))?;
        Ok::<_, String>((hash, dims, thumb))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(AppError::Invalid)?;
    let now = Utc::now();
    let dir = format!("/media/{}/{:02}", now.year(), now.month());
    let path = format!("{dir}/{}.{ext}", &hash[..16]);
    let thumb_path = thumb
        .as_ref()
        .map(|t| format!("{dir}/{}-thumb.jpg", &t[..16]));
    // The same file uploaded twice to a site is one entry.
    if let Some(existing) = media::Entity::find()
        .filter(media::Column::SiteId.eq(site.id))
        .filter(media::Column::Sha256.eq(&hash))
        .one(&state.db)
        .await?
    {
        let u = Uploaded {
            id: existing.id,
            path: existing.path,
            thumb_path: existing.thumb_path,
            name: existing.name,
        };
        return Ok((u, false));
    }
    let row = media::ActiveModel {
        site_id: Set(site.id),
        name: Set(display_name(name)),
        path: Set(path.clone()),
        sha256: Set(hash),
        content_type: Set(kind.content_type.to_string()),
        size: Set(size),
        width: Set(dims.map(|d| d.0 as i32)),
        height: Set(dims.map(|d| d.1 as i32)),
        thumb_path: Set(thumb_path.clone()),
        thumb_sha256: Set(thumb),
        uploaded_by: Set(Some(actor.id())),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&state.db)
    .await?;
    tracing::info!(site = site.id, media = row.id, user = %actor.user.username, "media uploaded");
    state
        .audit(
            &crate::audit::Who::actor(actor),
            crate::audit::Entry::new(
                crate::audit::Event::MediaUpload,
                format!("media:{}", row.id),
            )
            .details(
                serde_json::json!({ "site_id": site.id, "name": row.name, "sha256": row.sha256 }),
            ),
        )
        .await?;
    let u = Uploaded {
        id: row.id,
        path,
        thumb_path,
        name: row.name,
    };
    Ok((u, true))
}

pub async fn list(
    state: &AppState,
    actor: &Actor,
    site_id: i32,
    page: u64,
) -> AppResult<(Vec<media::Model>, u64)> {
    let site = super::content::site(state, actor, site_id).await?;
    let p = media::Entity::find()
        .filter(media::Column::SiteId.eq(site.id))
        .order_by_desc(media::Column::Id)
        .paginate(&state.db, 40);
    let total = p.num_items().await?;
    Ok((p.fetch_page(page.saturating_sub(1)).await?, total))
}

/// Deletes a file from the library unless an article's current or published revision uses it.
pub async fn delete(state: &AppState, actor: &Actor, id: i32) -> AppResult<()> {
    let m = media::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.can_view_site(m.site_id) {
        return Err(AppError::NotFound);
    }
    if !actor.can_manage_site(m.site_id) {
        return Err(AppError::Forbidden);
    }
    let used = article_revision::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(article_revision::Column::Body.contains(&m.path))
                .add(article_revision::Column::Cover.eq(&m.path)),
        )
        .count(&state.db)
        .await?;
    if used > 0 {
        return Err(AppError::Invalid(format!(
            "该文件被 {used} 个稿件版本引用，不能删除。"
        )));
    }
    let site_id = m.site_id;
    media::Entity::delete_by_id(m.id).exec(&state.db).await?;
    state
        .audit(
            &crate::audit::Who::actor(actor),
            crate::audit::Entry::new(crate::audit::Event::MediaDelete, format!("media:{}", m.id))
                .details(serde_json::json!({ "site_id": site_id, "name": m.name })),
        )
        .await?;
    crate::publish::publish_site(state, site_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Vec<u8> {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn uploads_are_checked_by_content_and_extension() {
        assert!(check("照片.PNG", &png()).is_ok());
        assert!(check("report.pdf", b"%PDF-1.7\n...").is_ok());
        // Extension and content disagree.
        assert!(check("photo.jpg", &png()).unwrap_err().contains("不符"));
        assert!(check("report.pdf", b"<html>").unwrap_err().contains("不符"));
        // Scripts and executables are never accepted, whatever they contain.
        for bad in [
            "shell.php",
            "a.jsp",
            "page.html",
            "logo.svg",
            "x.exe",
            "run.sh",
            "noext",
        ] {
            assert!(check(bad, &png()).is_err(), "{bad}");
        }
        // A double extension is judged by the last one, and the content must match it.
        assert!(check("shell.php.png", &png()).is_ok());
        assert!(check("shell.png.php", &png()).is_err());
        // An image carrying PHP is refused.
        let mut polyglot = png();
        polyglot.extend_from_slice(b"<?php system($_GET['c']); ?>");
        assert!(check("x.png", &polyglot).unwrap_err().contains("脚本"));
        assert!(check("empty.png", b"").is_err());
        let big = vec![0u8; MAX_IMAGE + 1];
        assert!(check("big.png", &big).unwrap_err().contains("上限"));
    }

    #[test]
    fn display_names_lose_paths_and_control_characters() {
        assert_eq!(display_name("C:\\Users\\x\\年报.pdf"), "年报.pdf");
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("a\u{0}b\n.pdf"), "ab.pdf");
    }
}
