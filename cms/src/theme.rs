//! Public site themes: minijinja templates that turn content into the pages the gateway serves.
//!
//! Two themes are compiled into the binary (`themes/default/`, a red government style, and
//! `themes/civic/`, a blue one), so a fresh install publishes without any files beside it.
//! Platform administrators install further themes on disk, one directory each under
//! `<data dir>/themes/<name>/` (the five templates plus `static/`); units choose among the
//! installed themes but can never edit templates through the web. Templates only ever see plain
//! data (strings, lists); the environment has no loader, no file system and no network access.

use std::collections::BTreeMap;
use std::path::Path;

use minijinja::Environment;

/// The templates every theme provides.
pub const TEMPLATES: &[&str] = &[
    "base.html",
    "index.html",
    "column.html",
    "article.html",
    "404.html",
];

/// The search results page, optional in a theme (the default theme's is used otherwise).
pub const SEARCH_TEMPLATE: &str = "search.html";

/// The gateway's error pages dressed in the theme, optional in a theme (the default theme's,
/// extending the theme's own `base.html`, is used otherwise). Published as
/// [`ERROR_PAGE_PATH`] with placeholders the gateway fills in.
pub const ERROR_TEMPLATE: &str = "error.html";
const DEFAULT_ERROR_TEMPLATE: &str = include_str!("../../themes/default/error.html");

/// Where a site's error-page template is published (the gateway refuses it as a page).
pub const ERROR_PAGE_PATH: &str = "/_sg/error.html";

/// A loaded theme, ready to render.
pub struct Theme {
    env: Environment<'static>,
    statics: Vec<StaticFile>,
    /// Every template's name: the five of [`TEMPLATES`] and variants a column may choose
    /// (`column-….html` for lists, `article-….html` for articles).
    names: Vec<String>,
    /// Shown in the site settings.
    pub label: String,
}

/// A file the theme publishes as is (stylesheets, scripts, images, fonts).
pub struct StaticFile {
    pub path: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Content types a theme's static files may have, by extension. Anything else in `static/` is
/// refused when the theme loads.
fn static_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => return None,
    })
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_formatter(html_formatter);
    env
}

macro_rules! builtin {
    ($dir:literal, $label:literal, [$($static:literal),*], [$($extra:literal),*]) => {{
        let mut env = environment();
        #[allow(unused_mut)]
        let mut names: Vec<String> = TEMPLATES.iter().map(|s| s.to_string()).collect();
        $(
            env.add_template($extra, include_str!(concat!("../../themes/", $dir, "/", $extra)))?;
            names.push($extra.to_string());
        )*
        env.add_template("base.html", include_str!(concat!("../../themes/", $dir, "/base.html")))?;
        env.add_template(ERROR_TEMPLATE, DEFAULT_ERROR_TEMPLATE)?;
        names.push(ERROR_TEMPLATE.to_string());
        env.add_template("index.html", include_str!(concat!("../../themes/", $dir, "/index.html")))?;
        env.add_template("column.html", include_str!(concat!("../../themes/", $dir, "/column.html")))?;
        env.add_template("article.html", include_str!(concat!("../../themes/", $dir, "/article.html")))?;
        env.add_template("404.html", include_str!(concat!("../../themes/", $dir, "/404.html")))?;
        let statics = vec![$(StaticFile {
            path: concat!("/static/", $static).to_string(),
            content_type: static_type($static).unwrap_or("application/octet-stream"),
            bytes: include_bytes!(concat!("../../themes/", $dir, "/static/", $static)).to_vec(),
        }),*];
        Ok::<Theme, minijinja::Error>(Theme { env, statics, names, label: $label.to_string() })
    }};
}

impl Theme {
    /// The built-in default theme.
    pub fn default_theme() -> Result<Theme, minijinja::Error> {
        builtin!(
            "default",
            "默认（红色政务）",
            ["style.css", "a11y.js", "psb.svg"],
            ["column-gkml.html", "search.html"]
        )
    }

    /// The built-in second theme.
    pub fn civic_theme() -> Result<Theme, minijinja::Error> {
        let mut theme = builtin!(
            "civic",
            "简约（蓝色）",
            ["style.css", "a11y.js", "psb.svg"],
            []
        )?;
        // The search page's markup is the default theme's; here it extends this theme's
        // base.html, so it wears this theme's look.
        theme.env.add_template(
            SEARCH_TEMPLATE,
            include_str!("../../themes/default/search.html"),
        )?;
        theme.names.push(SEARCH_TEMPLATE.to_string());
        Ok(theme)
    }

    /// Loads a theme from a directory: the five templates and `static/`. Errors name the file
    /// and the reason.
    pub fn from_dir(dir: &Path) -> Result<Theme, String> {
        let mut env = environment();
        let mut names: Vec<String> = TEMPLATES.iter().map(|s| s.to_string()).collect();
        // Column variants: any column-….html / article-….html beside the five.
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let variant = (name.starts_with("column-") || name.starts_with("article-"))
                && name.ends_with(".html")
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
            // The search page is optional: a theme without one gets the default theme's.
            if variant || name == SEARCH_TEMPLATE {
                names.push(name);
            }
        }
        if dir.join(ERROR_TEMPLATE).is_file() {
            names.push(ERROR_TEMPLATE.to_string());
        } else {
            env.add_template(ERROR_TEMPLATE, DEFAULT_ERROR_TEMPLATE)
                .map_err(|e| format!("{ERROR_TEMPLATE}: {e}"))?;
        }
        for name in &names {
            let path = dir.join(name);
            let source =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            env.add_template_owned(name.clone(), source)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let mut statics = Vec::new();
        let static_dir = dir.join("static");
        if static_dir.is_dir() {
            let entries = std::fs::read_dir(&static_dir)
                .map_err(|e| format!("{}: {e}", static_dir.display()))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", static_dir.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                if !path.is_file() {
                    continue;
                }
                let content_type = static_type(&name).ok_or_else(|| {
                    format!("{}: file type not allowed in a theme", path.display())
                })?;
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                statics.push(StaticFile {
                    path: format!("/static/{name}"),
                    content_type,
                    bytes,
                });
            }
        }
        let label = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Every template must render with the data publishing gives it.
        let theme = Theme {
            env,
            statics,
            names,
            label,
        };
        theme
            .check()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(theme)
    }

    /// Renders every template with sample data, so that a theme that would fail at publish
    /// time fails when it is installed instead.
    pub fn check(&self) -> Result<(), minijinja::Error> {
        let sample = sample_context();
        for name in &self.names {
            self.render(name, sample.clone())?;
        }
        Ok(())
    }

    /// Whether the theme has a template of this name.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The variants a column may choose: `kind` is `column` or `article`.
    pub fn variants(&self, kind: &str) -> Vec<String> {
        let prefix = format!("{kind}-");
        self.names
            .iter()
            .filter(|n| n.starts_with(&prefix))
            .cloned()
            .collect()
    }

    pub fn render(
        &self,
        template: &str,
        ctx: minijinja::Value,
    ) -> Result<String, minijinja::Error> {
        self.env.get_template(template)?.render(ctx)
    }

    pub fn statics(&self) -> &[StaticFile] {
        &self.statics
    }
}

/// Data shaped like what publishing passes to templates.
pub fn sample_context() -> minijinja::Value {
    use minijinja::context;
    let column = context! {
        name => "工作动态", url => "/gzdt/", column_type => "工作动态", description => "",
        keywords => "",
    };
    context! {
        group => context! { mourning => false },
        site => context! {
            name => "示范网站", domain => "www.example.gov.cn", id_code => "", icp => "", psb => "",
            contact => "", party_gov_mark => false, org_name => "示范单位",
            columns => vec![column.clone()],
        },
        column => column.clone(),
        blocks => vec![context! { column => column.clone(), articles => Vec::<minijinja::Value>::new() }],
        articles => Vec::<minijinja::Value>::new(),
        pager => context! { page => 1, pages => 1, prev => (), next => () },
        search => context! {
            q => "政府信息公开", scope => "site", has_site => true, advanced => true,
            sites => vec![context! { id => 1, name => "示范网站", selected => true }],
            columns => vec![context! { id => 1, name => "工作动态", selected => false }],
            from => "2026-01-01", to => "", doc_no => "", issuer => "", sort => "",
            notices => vec!["关键词过长，只按前 100 个字搜索。"], error => (), asked => true,
            total => 1, took_ms => 3,
            hits => vec![context! {
                url => "/gzdt/1.html", title_html => "关于<em>政府信息公开</em>的通知",
                snippet_html => "…做好<em>政府信息公开</em>工作…", site_name => "示范网站",
                column_name => "工作动态", doc_no => "示政发〔2026〕1号", issuer => "示范单位",
                date => "2026-01-01",
            }],
            pager => context! { pages => 2, prev => (), next => "/search/?q=x&page=2",
                numbers => vec![context! { n => 1, url => "/search/?q=x&page=1", current => true }] },
            suggestions => vec![context! { url => "/search/?q=x", label => "x", hits => 2 }],
        },
        article => context! {
            title => "标题", subtitle => "", summary => "", index_no => "", issuer => "",
            doc_no => "", written_date => "", topic => "", author => "", source => "示范单位",
            attachments => Vec::<minijinja::Value>::new(),
            pub_date => "2026-01-01 09:00", body => "<p>正文</p>",
        },
    }
}

/// The installed themes by name: the built-ins, then those on disk (which may replace a
/// built-in of the same name). A theme on disk that does not load is reported and left out.
pub struct Themes(BTreeMap<String, Theme>);

impl Themes {
    pub fn load(dir: Option<&Path>) -> Result<Themes, minijinja::Error> {
        let mut map = BTreeMap::new();
        map.insert("default".to_string(), Theme::default_theme()?);
        map.insert("civic".to_string(), Theme::civic_theme()?);
        if let Some(dir) = dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let valid_name = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !path.is_dir() || !valid_name {
                    continue;
                }
                match Theme::from_dir(&path) {
                    Ok(theme) => {
                        tracing::info!(theme = %name, "theme installed from disk");
                        map.insert(name, theme);
                    }
                    Err(e) => tracing::error!("theme {name} not installed: {e}"),
                }
            }
        }
        Ok(Themes(map))
    }

    pub fn get(&self, name: &str) -> Option<&Theme> {
        self.0.get(name)
    }

    /// (name, label) of every installed theme.
    pub fn list(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .map(|(n, t)| (n.clone(), t.label.clone()))
            .collect()
    }
}

/// minijinja's formatter, except that HTML escaping leaves `/` alone (minijinja writes
/// `&#x2f;`, which is valid but makes every URL in a page unreadable). Escapes `& < > " '`.
pub fn html_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    if state.auto_escape() != minijinja::AutoEscape::Html || value.is_safe() || value.is_none() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut last = 0;
    for (i, c) in text.char_indices() {
        let replacement = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[last..i])
            .map_err(minijinja::Error::from)?;
        out.write_str(replacement).map_err(minijinja::Error::from)?;
        last = i + 1;
    }
    out.write_str(&text[last..]).map_err(minijinja::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    #[test]
    fn article_page_escapes_text_and_keeps_sanitised_body() {
        let theme = Theme::default_theme().unwrap();
        let site = context! {
            name => "示范市人民政府", domain => "www.demo.localhost", id_code => "1234000001",
            icp => "示ICP备00000001号", psb => "", contact => "", party_gov_mark => false,
            org_name => "示范市人民政府", columns => Vec::<minijinja::Value>::new(),
        };
        let html = theme
            .render(
                "article.html",
                context! {
                    group => context! { mourning => false },
                    site,
                    column => context! { name => "工作动态", url => "/gzdt/", column_type => "工作动态" },
                    article => context! {
                        title => "<script>标题</script>", pub_date => "2026-11-25 09:00",
                        source => "办公室", author => "", body => "<p>正文</p>",
                        subtitle => "", summary => "摘要", index_no => "000001/2026-00001",
                        issuer => "示范市人民政府办公室", doc_no => "示政办发〔2026〕1号",
                        written_date => "2026-11-20", topic => "综合政务",
                        attachments => vec![context! { url => "/media/2026/11/ab.pdf", name => "实施方案.pdf" }],
                    },
                },
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;标题&lt;/script&gt;"), "{html}");
        assert!(html.contains(r#"<a href="/gzdt/">工作动态</a>"#), "{html}");
        assert!(html.contains("<p>正文</p>"));
        assert!(html.contains(r#"<meta name="PubDate" content="2026-11-25 09:00">"#));
        assert!(html.contains(r#"<meta name="SiteName" content="示范市人民政府">"#));
        // 信息公开 metadata and the footer identity come from the data.
        assert!(html.contains("示政办发〔2026〕1号") && html.contains("000001/2026-00001"));
        assert!(html.contains("示ICP备00000001号") && html.contains("1234000001"));
        assert!(html.contains(r#"<meta name="description" content="摘要">"#));
        assert!(html.contains(r#"<a href="/media/2026/11/ab.pdf">实施方案.pdf</a>"#));
    }

    #[test]
    fn both_built_in_themes_render_every_template_and_mourning_greys_the_page() {
        let themes = Themes::load(None).unwrap();
        assert_eq!(
            themes
                .list()
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["civic", "default"]
        );
        for (name, _) in themes.list() {
            let theme = themes.get(&name).unwrap();
            theme.check().unwrap();
            assert!(
                theme
                    .statics()
                    .iter()
                    .any(|f| f.path == "/static/style.css")
            );
            let ctx = context! { group => context! { mourning => true }, ..sample_context() };
            let html = theme.render("index.html", ctx).unwrap();
            assert!(html.contains(r#"class="mourning""#), "{name}");
            assert!(
                html.contains("elder-toggle"),
                "{name} has the 长者模式 switch"
            );
        }
    }

    #[test]
    fn themes_on_disk_are_installed_or_refused_with_the_file_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("plain");
        std::fs::create_dir_all(good.join("static")).unwrap();
        for name in TEMPLATES {
            let body = if *name == "base.html" {
                "<html lang=\"zh-CN\"><title>{{ site.name }}</title>{% block main %}{% endblock %}</html>"
            } else {
                "{% extends \"base.html\" %}{% block main %}ok{% endblock %}"
            };
            std::fs::write(good.join(name), body).unwrap();
        }
        std::fs::write(good.join("static/site.css"), "body{}").unwrap();
        // A broken one: a template referring to data publishing does not give.
        let bad = dir.path().join("broken");
        std::fs::create_dir_all(&bad).unwrap();
        for name in TEMPLATES {
            std::fs::write(bad.join(name), "{{ site.no_such_field.x }}").unwrap();
        }
        // A theme with an executable in static/ is refused too.
        let exe = dir.path().join("exe");
        std::fs::create_dir_all(exe.join("static")).unwrap();
        for name in TEMPLATES {
            std::fs::copy(good.join(name), exe.join(name)).unwrap();
        }
        std::fs::write(exe.join("static/shell.php"), "<?php").unwrap();

        let err = Theme::from_dir(&bad).err().unwrap();
        assert!(err.contains("broken"), "{err}");
        let err = Theme::from_dir(&exe).err().unwrap();
        assert!(
            err.contains("shell.php") && err.contains("not allowed"),
            "{err}"
        );
        let themes = Themes::load(Some(dir.path())).unwrap();
        let names: Vec<String> = themes.list().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["civic", "default", "plain"]);
        let plain = themes.get("plain").unwrap();
        assert_eq!(plain.statics()[0].path, "/static/site.css");
    }
}
