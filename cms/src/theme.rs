//! Public site themes: minijinja templates that turn content into the pages the gateway serves.
//!
//! The `default` theme (`themes/default/` in the repository) is compiled into the binary so a
//! fresh install publishes without any files beside it. Templates only ever see plain data
//! (strings, lists); they cannot reach the database or the file system.

use minijinja::Environment;

/// A loaded theme, ready to render.
pub struct Theme {
    env: Environment<'static>,
    statics: Vec<StaticFile>,
}

/// A file the theme publishes as is (stylesheets, images).
pub struct StaticFile {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

impl Theme {
    /// The built-in default theme.
    pub fn default_theme() -> Result<Theme, minijinja::Error> {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_formatter(html_formatter);
        for (name, source) in [
            ("base.html", include_str!("../../themes/default/base.html")),
            (
                "index.html",
                include_str!("../../themes/default/index.html"),
            ),
            (
                "column.html",
                include_str!("../../themes/default/column.html"),
            ),
            (
                "article.html",
                include_str!("../../themes/default/article.html"),
            ),
            ("404.html", include_str!("../../themes/default/404.html")),
        ] {
            env.add_template(name, source)?;
        }
        Ok(Theme {
            env,
            statics: vec![StaticFile {
                path: "/static/style.css",
                content_type: "text/css; charset=utf-8",
                bytes: include_bytes!("../../themes/default/static/style.css"),
            }],
        })
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
                    site,
                    column => context! { name => "工作动态", url => "/gzdt/", column_type => "工作动态" },
                    article => context! {
                        title => "<script>标题</script>", pub_date => "2026-11-25 09:00",
                        source => "办公室", author => "", body => "<p>正文</p>",
                        subtitle => "", summary => "摘要", index_no => "000001/2026-00001",
                        issuer => "示范市人民政府办公室", doc_no => "示政办发〔2026〕1号",
                        written_date => "2026-11-20", topic => "综合政务",
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
    }
}
