//! The gateway's own branded pages (unknown host, integrity failure, upstream failure), so that a
//! visitor never sees a bare pingora default page.

/// A page the gateway answers with on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPage {
    /// The Host header names no site of the group.
    UnknownHost,
    /// The site has no page at this path.
    NotFound,
    /// A published file failed its integrity check, or is missing.
    IntegrityFailure,
    /// The upstream of a proxied site could not be reached.
    BadGateway,
    /// The method is not allowed on published pages.
    MethodNotAllowed,
    /// The WAF blocked the request (the page shows the incident ID to quote).
    Blocked,
    /// The request body is larger than the gateway inspects.
    TooLarge,
    /// The client sent more requests than the site's rate limit allows.
    TooManyRequests,
    /// The site is in maintenance (emergency switch).
    Maintenance,
    /// The site is read-only (emergency switch) and the request would change something.
    ReadOnly,
    /// The site has been taken offline (emergency switch).
    Offline,
    /// The client's address is not allowed on this site.
    Forbidden,
    /// The request headers are larger than the site allows.
    HeadersTooLarge,
    /// The site has been closed for good (the closure notice).
    Closed,
    /// The request could not be understood (a malformed body, for instance).
    BadRequest,
    /// The upstream of a proxied site did not answer in time.
    GatewayTimeout,
}

const TEMPLATE: &str = include_str!("pages/error.html");

impl ErrorPage {
    pub fn status(self) -> u16 {
        match self {
            ErrorPage::UnknownHost | ErrorPage::NotFound => 404,
            ErrorPage::IntegrityFailure => 503,
            ErrorPage::BadGateway => 502,
            ErrorPage::MethodNotAllowed => 405,
            ErrorPage::Blocked => 403,
            ErrorPage::TooLarge => 413,
            ErrorPage::TooManyRequests => 429,
            ErrorPage::Maintenance => 503,
            ErrorPage::ReadOnly => 405,
            ErrorPage::Offline => 404,
            ErrorPage::Forbidden => 403,
            ErrorPage::HeadersTooLarge => 431,
            ErrorPage::Closed => 410,
            ErrorPage::BadRequest => 400,
            ErrorPage::GatewayTimeout => 504,
        }
    }

    fn texts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ErrorPage::UnknownHost => (
                "网站不存在",
                "您访问的网站不在本网站群中，请核对网址。",
                "This site is not part of the site group. Please check the address.",
            ),
            ErrorPage::NotFound => (
                "页面不存在",
                "您访问的页面不存在或已被删除。",
                "The page you requested does not exist.",
            ),
            ErrorPage::IntegrityFailure => (
                "页面暂时无法访问",
                "该页面未通过完整性校验，已停止提供服务，管理员已收到告警。",
                "This page failed its integrity check and is withheld; the administrators have been alerted.",
            ),
            ErrorPage::BadGateway => (
                "网站暂时无法访问",
                "网站服务器暂时没有响应，请稍后再试。",
                "The site's server is not responding. Please try again later.",
            ),
            ErrorPage::MethodNotAllowed => (
                "不支持的请求方法",
                "此页面只支持 GET 和 HEAD 请求。",
                "Only GET and HEAD are allowed here.",
            ),
            ErrorPage::Blocked => (
                "访问已被拦截",
                "您的请求含有可能危害网站安全的内容，已被网站群安全防护系统拦截。如您认为这是误拦截，请将下方的事件编号提供给网站管理员。",
                "Your request was blocked by the site group's web application firewall. If you believe this is a mistake, give the incident ID below to the site's administrators.",
            ),
            ErrorPage::Maintenance => (
                "网站维护中",
                "网站正在维护，请稍后再访问。给您带来不便，敬请谅解。",
                "The site is under maintenance. Please come back later.",
            ),
            ErrorPage::ReadOnly => (
                "网站暂停提交",
                "网站当前处于只读状态，暂不接受提交，请稍后再试。",
                "The site is read-only for now and accepts no submissions. Please try again later.",
            ),
            ErrorPage::HeadersTooLarge => (
                "请求头过大",
                "您的请求头（例如 Cookie）过大，请清除本站 Cookie 后重试。",
                "Your request headers (cookies, for instance) are too large. Clear this site's cookies and try again.",
            ),
            ErrorPage::Forbidden => (
                "禁止访问",
                "您所在的网络不允许访问此网站。",
                "Your network is not allowed to reach this site.",
            ),
            ErrorPage::Closed => (
                "网站已关停",
                "根据网站集约化工作安排，本网站已关停，相关内容请访问主管单位门户网站。",
                "This site has been closed. Please visit the portal of its supervising body.",
            ),
            ErrorPage::Offline => (
                "网站已暂停访问",
                "该网站已暂停访问。",
                "This site has been taken offline.",
            ),
            ErrorPage::TooManyRequests => (
                "访问过于频繁",
                "您在短时间内发出的请求过多，请稍后再试。",
                "Too many requests from your address. Please wait a moment and try again.",
            ),
            ErrorPage::BadRequest => (
                "请求无法处理",
                "您的浏览器发送的请求格式有误，请刷新页面后重试。",
                "Your browser sent a request this site could not understand. Please reload and try again.",
            ),
            ErrorPage::GatewayTimeout => (
                "网站响应超时",
                "网站服务器没有在规定时间内响应，请稍后再试。",
                "The site's server did not answer in time. Please try again later.",
            ),
            ErrorPage::TooLarge => (
                "请求内容过大",
                "您提交的内容超过了安全检查允许的大小，请缩小后重试。",
                "The data you sent is larger than the security check accepts. Please send less.",
            ),
        }
    }

    /// The HTML body. `request_id` is generated by the gateway (hex), so it needs no escaping.
    pub fn render(self, request_id: &str) -> String {
        self.render_with(request_id, None)
    }

    /// As [`Self::render`], with the Chinese message replaced (an operator's maintenance notice;
    /// HTML-escaped here).
    pub fn render_with(self, request_id: &str, message: Option<&str>) -> String {
        self.render_in(TEMPLATE, request_id, message)
    }

    /// As [`Self::render_with`], in a site's own template (its theme's error page, with the
    /// same placeholders).
    pub fn render_in(self, template: &str, request_id: &str, message: Option<&str>) -> String {
        let (title, default_message, english) = self.texts();
        let escaped = message.map(escape);
        let message = escaped.as_deref().unwrap_or(default_message);
        template
            .replace("{{status}}", &self.status().to_string())
            .replace("{{title}}", title)
            .replace("{{message}}", message)
            .replace("{{english}}", english)
            .replace(
                "{{id_label}}",
                if self == ErrorPage::Blocked {
                    "事件编号 Incident ID"
                } else {
                    "请求编号 Request ID"
                },
            )
            .replace("{{request_id}}", request_id)
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_filled_in() {
        for page in [
            ErrorPage::UnknownHost,
            ErrorPage::NotFound,
            ErrorPage::IntegrityFailure,
            ErrorPage::BadGateway,
            ErrorPage::MethodNotAllowed,
            ErrorPage::BadRequest,
            ErrorPage::GatewayTimeout,
            ErrorPage::TooManyRequests,
            ErrorPage::Maintenance,
        ] {
            let html = page.render("abc123");
            assert!(!html.contains("{{"), "unfilled placeholder in {page:?}");
            assert!(html.contains("abc123"));
            assert!(html.contains(&page.status().to_string()));
        }
        assert!(ErrorPage::UnknownHost.render("x").contains("网站不存在"));
    }
}
