//! The demo site group created on first start: one 主管单位, two units, three sites with
//! columns and articles, and the three platform administrators (三员) with one-time passwords.

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, TransactionTrait,
};

use crate::auth;
use crate::db::entities::{
    app_user, article, article_revision, organization, site, site_column, site_hostname,
};
use crate::service::authz::PlatformRole;

/// One seeded site.
struct DemoSite {
    org: usize,
    name: &'static str,
    code: &'static str,
    host: &'static str,
    /// (slug, name, column type, description)
    columns: &'static [(&'static str, &'static str, &'static str, &'static str)],
    /// (column slug, title, source)
    articles: &'static [(&'static str, &'static str, &'static str)],
}

const ORGS: &[(&str, &str, Option<usize>)] = &[
    ("示范市人民政府", "主管单位", None),
    ("示范市教育局", "单位", Some(0)),
    ("示范市卫生健康委员会", "单位", Some(0)),
];

const SITES: &[DemoSite] = &[
    DemoSite {
        org: 0,
        name: "示范市人民政府门户网站",
        code: "portal",
        host: "www.demo.localhost",
        columns: &[
            ("zwyw", "政务要闻", "工作动态", "示范市人民政府政务要闻"),
            ("tzgg", "通知公告", "工作动态", "示范市人民政府通知公告"),
            (
                "zcwj",
                "政策文件",
                "政策文件",
                "示范市人民政府及办公室发布的政策文件",
            ),
            ("zcjd", "政策解读", "政策解读", "重要政策文件的解读"),
        ],
        articles: &[
            (
                "zwyw",
                "市政府召开常务会议研究部署冬季安全生产工作",
                "市政府办公室",
            ),
            (
                "zwyw",
                "示范市网站集约化建设工作推进会召开",
                "市政务服务数据管理局",
            ),
            ("zwyw", "市长带队调研重点项目建设情况", "市政府办公室"),
            ("zwyw", "示范市举行政府开放日活动", "市政府办公室"),
            ("tzgg", "关于开展政府网站年度自查工作的通知", "市政府办公室"),
            (
                "tzgg",
                "关于调整部分政务服务事项办理时间的公告",
                "市政务服务中心",
            ),
            (
                "zcwj",
                "示范市人民政府关于进一步优化营商环境的若干意见",
                "市政府办公室",
            ),
            ("zcwj", "示范市政府信息公开工作实施办法", "市政府办公室"),
            (
                "zcjd",
                "一图读懂《关于进一步优化营商环境的若干意见》",
                "市发展和改革委员会",
            ),
            (
                "zcjd",
                "《政府信息公开工作实施办法》政策问答",
                "市政府办公室",
            ),
        ],
    },
    DemoSite {
        org: 1,
        name: "示范市教育局",
        code: "edu",
        host: "edu.demo.localhost",
        columns: &[
            ("jydt", "教育动态", "工作动态", "示范市教育系统工作动态"),
            ("tzgg", "通知公告", "工作动态", "示范市教育局通知公告"),
            ("zcwj", "政策文件", "政策文件", "教育领域政策文件"),
        ],
        articles: &[
            ("jydt", "全市中小学开展校园安全大检查", "市教育局"),
            ("jydt", "示范市召开义务教育优质均衡发展推进会", "市教育局"),
            ("jydt", "市教育局举办教师信息技术应用能力培训", "市教育局"),
            ("jydt", "全市职业院校技能大赛圆满落幕", "市教育局"),
            (
                "tzgg",
                "关于做好2027年春季学期开学工作的通知",
                "市教育局办公室",
            ),
            (
                "tzgg",
                "关于公布义务教育阶段学校招生范围的公告",
                "市教育局基础教育科",
            ),
            (
                "tzgg",
                "关于开展学生资助政策宣传月活动的通知",
                "市学生资助管理中心",
            ),
            ("zcwj", "示范市中小学课后服务管理办法", "市教育局"),
            ("zcwj", "示范市民办学校年度检查实施细则", "市教育局"),
            ("zcwj", "关于加强中小学生心理健康教育的实施意见", "市教育局"),
        ],
    },
    DemoSite {
        org: 2,
        name: "示范市卫生健康委员会",
        code: "health",
        host: "health.demo.localhost",
        columns: &[
            ("wjdt", "卫健动态", "工作动态", "示范市卫生健康工作动态"),
            (
                "tzgg",
                "通知公告",
                "工作动态",
                "示范市卫生健康委员会通知公告",
            ),
            ("bszn", "办事指南", "办事服务", "卫生健康领域办事指南"),
        ],
        articles: &[
            (
                "wjdt",
                "市卫健委部署冬春季传染病防控工作",
                "市卫生健康委员会",
            ),
            (
                "wjdt",
                "示范市家庭医生签约服务覆盖率稳步提升",
                "市卫生健康委员会",
            ),
            (
                "wjdt",
                "全市二级以上医院实现检查结果互认",
                "市卫生健康委员会",
            ),
            (
                "wjdt",
                "市卫健委开展“健康进社区”义诊活动",
                "市卫生健康委员会",
            ),
            (
                "tzgg",
                "关于开展2026年度医师定期考核工作的通知",
                "市卫生健康委员会医政科",
            ),
            (
                "tzgg",
                "关于公布全市预防接种门诊名单的公告",
                "市疾病预防控制中心",
            ),
            (
                "tzgg",
                "关于征集基层卫生健康服务意见建议的公告",
                "市卫生健康委员会办公室",
            ),
            ("bszn", "医疗机构执业登记办事指南", "市政务服务中心"),
            ("bszn", "出生医学证明办理指南", "市政务服务中心"),
            ("bszn", "护士执业注册办事指南", "市政务服务中心"),
        ],
    },
];

fn body_for(title: &str, org: &str) -> String {
    format!(
        "<p>为深入贯彻落实上级有关部署要求，{org}围绕“{title}”相关工作，认真研究、周密安排，\
         明确了责任分工和时间节点。</p>\
         <p>会议指出，要坚持以人民为中心的发展思想，把各项工作落细落实，切实提升群众的获得感、\
         幸福感、安全感。各有关单位要加强协调配合，形成工作合力，确保各项任务按期完成。</p>\
         <p>下一步，{org}将持续跟踪工作进展，及时总结经验做法，并通过本网站向社会公开有关情况，\
         欢迎社会各界监督。</p>"
    )
}

/// What seeding created, for the start-up banner.
/// The platform administrators a first start creates (三员), one per role: (username, role).
pub const BOOTSTRAP_ADMINS: &[(&str, PlatformRole)] = &[
    ("admin", PlatformRole::SysAdmin),
    ("secadmin", PlatformRole::SecAdmin),
    ("auditor", PlatformRole::Auditor),
];

pub struct Seeded {
    /// (role label, username, one-time password)
    pub admins: Vec<(&'static str, String, String)>,
    pub site_ids: Vec<i32>,
}

/// True when the database has no user yet (first start).
pub async fn is_empty(db: &DatabaseConnection) -> Result<bool, sea_orm::DbErr> {
    Ok(app_user::Entity::find().count(db).await? == 0)
}

/// Creates the demo group and the platform administrators in one transaction. The caller publishes
/// the sites afterwards.
pub async fn seed(db: &DatabaseConnection) -> anyhow::Result<Seeded> {
    let txn = db.begin().await?;
    let now = Utc::now();
    let mut org_ids = Vec::new();
    for (name, kind, parent) in ORGS {
        let org = organization::ActiveModel {
            parent_id: Set(parent.and_then(|p| org_ids.get(p).copied())),
            name: Set((*name).to_string()),
            kind: Set((*kind).to_string()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        org_ids.push(org.id);
    }
    let mut site_ids = Vec::new();
    for demo in SITES {
        let org_id = org_ids[demo.org];
        let s = site::ActiveModel {
            org_id: Set(org_id),
            name: Set(demo.name.to_string()),
            code: Set(demo.code.to_string()),
            theme: Set("default".into()),
            status: Set("运行".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        site_ids.push(s.id);
        site_hostname::ActiveModel {
            site_id: Set(s.id),
            hostname: Set(demo.host.to_string()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        let mut column_ids = std::collections::HashMap::new();
        for (i, (slug, name, column_type, description)) in demo.columns.iter().enumerate() {
            let c = site_column::ActiveModel {
                site_id: Set(s.id),
                parent_id: Set(None),
                name: Set((*name).to_string()),
                slug: Set((*slug).to_string()),
                column_type: Set((*column_type).to_string()),
                description: Set((*description).to_string()),
                sort_order: Set(i as i32),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            column_ids.insert(*slug, c.id);
        }
        let org_name = ORGS[demo.org].0;
        for (i, (slug, title, source)) in demo.articles.iter().enumerate() {
            let Some(&column_id) = column_ids.get(slug) else {
                anyhow::bail!("demo article {title} names unknown column {slug}");
            };
            // Spread publish times over the last weeks, newest first in the list.
            let when = now - Duration::hours(20 * i as i64 + 2);
            let a = article::ActiveModel {
                site_id: Set(s.id),
                column_id: Set(column_id),
                status: Set("published".into()),
                current_revision_id: Set(None),
                published_revision_id: Set(None),
                published_at: Set(Some(when)),
                created_by: Set(None),
                created_at: Set(when),
                updated_at: Set(when),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            let rev = article_revision::ActiveModel {
                article_id: Set(a.id),
                title: Set((*title).to_string()),
                author: Set(String::new()),
                source: Set((*source).to_string()),
                summary: Set(String::new()),
                body: Set(body_for(title, org_name)),
                created_by: Set(None),
                created_at: Set(when),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
            let mut a: article::ActiveModel = a.into();
            a.current_revision_id = Set(Some(rev.id));
            a.published_revision_id = Set(Some(rev.id));
            a.update(&txn).await?;
        }
    }
    // 三员分立: one account per platform role, each with its own one-time password.
    let mut admins = Vec::new();
    for &(username, role) in BOOTSTRAP_ADMINS {
        let password = auth::generate_password();
        app_user::ActiveModel {
            username: Set(username.into()),
            display_name: Set(role.label().into()),
            password_hash: Set(auth::hash_password(&password)?),
            platform_role: Set(role.as_str().into()),
            org_id: Set(None),
            must_change_password: Set(true),
            disabled: Set(false),
            created_at: Set(now),
            totp_enabled: Set(false),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        admins.push((role.label(), username.to_string(), password));
    }
    // The platform's small illustrative 错敏词 list; the administrators add their own.
    crate::monitor::words::add_starter(&txn).await?;
    txn.commit().await?;
    Ok(Seeded { admins, site_ids })
}
